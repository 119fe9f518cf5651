"""Building and training skorch nets: callbacks, the net class, the factory."""

import functools
import time
from numbers import Integral

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping

from ._loaders import batch_loader

__all__ = [
    "EarlyStopping",
    "FiniteLoss",
    "TrainingNet",
    "TrainingProgress",
    "check_filters",
    "cosine_schedule",
    "keep_state_on_error",
    "make_net",
]


class FiniteLoss(Callback):
    """Stop training with a clear error as soon as the loss is NaN or infinite."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None or bool(torch.isfinite(loss).all()):
            return
        raise FloatingPointError(
            f"The training loss became {loss.item()} in epoch {len(net.history)}. "
            f"Likely causes: a learning rate too high for the data (lr={net.lr}), "
            "or extreme input values: scale the images first (e.g. with "
            "ArcsinhScaler) or lower lr."
        )


class TrainingProgress(Callback):
    """Progress over every training batch of every epoch, with the time left.

    On a terminal, a tqdm bar whose postfix shows the epoch and the last
    epoch's training loss; elsewhere (a log file, a notebook's captured
    output) a plain line at each quarter of the work, so that logs hold a few
    lines instead of a stream of carriage returns. The total follows the
    batches an epoch really has (a validation split takes some), and the
    progress ends at 100 % when early stopping ends training.
    """

    #: Fractions of the work at which a log line is written.
    LOG_AT = (0.25, 0.5, 0.75)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        import sys

        from tqdm.auto import tqdm

        batches = -(-len(X) // net.batch_size) if net.batch_size > 0 else 1
        self.epochs_ = net.max_epochs
        self.done_, self.logged_, self.start_ = 0, 0, time.monotonic()
        self.total_ = self.epochs_ * batches
        interactive = getattr(sys.stderr, "isatty", lambda: False)()
        self.bar_ = (
            tqdm(total=self.total_, unit="batch", desc="training")
            if interactive
            else None
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if not training or not hasattr(self, "done_"):
            return
        self.done_ += 1
        if self.bar_ is not None:
            self.bar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        if not hasattr(self, "done_"):
            return
        epoch = len(net.history)
        if epoch == 1:  # the first epoch tells how many batches one has
            self.total_ = self.done_ * self.epochs_
            if self.bar_ is not None:
                self.bar_.total = self.total_
        loss = f"{net.history[-1, 'train_loss']:.4g}"
        if self.bar_ is not None:
            self.bar_.set_postfix(epoch=epoch, loss=loss)
            return
        while (
            self.logged_ < len(self.LOG_AT)
            and self.done_ >= self.LOG_AT[self.logged_] * self.total_
        ):
            self.logged_ += 1
            self._log(f"epoch {epoch}, loss {loss}")

    def _log(self, what):
        import sys

        elapsed = time.monotonic() - self.start_
        fraction = self.done_ / max(self.total_, 1)
        left = elapsed * (1 - fraction) / max(fraction, 1e-9)
        print(
            f"training: {100 * fraction:3.0f}% ({self.done_}/{self.total_} batches), "
            f"{what}, {elapsed:.0f} s, {left:.0f} s left",
            file=sys.stderr,
            flush=True,
        )

    def on_train_end(self, net, **kwargs):
        if not hasattr(self, "done_"):
            return
        self.total_ = self.done_  # early stopping ends the work here
        if self.bar_ is not None:
            self.bar_.total = self.total_
            self.bar_.refresh()
            self.bar_.close()
        else:
            self._log(f"{len(net.history)} epochs")
        del self.done_
        self.bar_ = None


class _StopTraining(KeyboardInterrupt):
    """A callback's request to end training (not the user's Ctrl-C)."""


class EarlyStopping(_SkorchEarlyStopping):
    """skorch's ``EarlyStopping``, stopping in a way :class:`TrainingNet` tells
    apart from the user's interrupt."""

    def on_epoch_end(self, net, **kwargs):
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt as exc:
            raise _StopTraining from exc


class TrainingNet(NeuralNet):
    """skorch ``NeuralNet`` that lets the user's ``KeyboardInterrupt`` through.

    skorch ends training quietly on Ctrl-C and returns the half-trained net;
    an estimator must instead stay as it was before ``fit``
    (:func:`keep_state_on_error`), so here the interrupt propagates. Early
    stopping (:class:`EarlyStopping`) still ends training normally.
    """

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, **fit_params)
        except _StopTraining:
            pass
        self.notify("on_train_end", X=X, y=y)
        return self


def keep_state_on_error(method):
    """Decorate a fitting method: on any exception the estimator stays as before.

    KeyboardInterrupt included: an interrupted ``fit`` leaves the estimator
    unfitted or with its previous fit, never half-fitted. A method that
    trains a fitted net further must work on a copy of it.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def check_filters(filters, name="filters"):
    """Validate a sequence of conv channel counts; return it as a tuple of int."""
    values = tuple(filters)
    if not values or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, got "
            f"{filters!r}."
        )
    return tuple(int(v) for v in values)


def make_net(net_class, module, *, device, verbose, batch_size, **params):
    """Build an uninitialised skorch net from a module *class*.

    Parameters
    ----------
    net_class : type
        :class:`TrainingNet` or a subclass.
    module : type
        A ``torch.nn.Module`` class; its arguments come in ``params`` as
        ``module__<name>``. A class, never an instance, so nothing trained
        leaks between clones.
    device : str
        A resolved device (see :func:`resolve_device`).
    verbose : int
        0: silent; 1: a :class:`TrainingProgress` bar; 2 or more: skorch's
        per-epoch table as well.
    batch_size : int
    **params
        Any other skorch parameter (criterion, optimizer, callbacks, ...).
        A :class:`FiniteLoss` callback is always added.
    """
    if not isinstance(module, type):
        raise TypeError("make_net takes a module class, not an instance.")
    defaults = {
        "iterator_train": batch_loader,
        "iterator_train__shuffle": True,
        "iterator_valid": batch_loader,
        "train_split": None,
    }
    params = {**defaults, **params}
    callbacks = [*params.get("callbacks", []), ("finite_loss", FiniteLoss())]
    if int(verbose) == 1:
        callbacks.append(("progress", TrainingProgress()))
    params["callbacks"] = callbacks
    # verbose=1: the progress bar alone; 2 or more: skorch's epoch table too.
    return net_class(
        module,
        device=device,
        verbose=max(int(verbose) - 1, 0),
        batch_size=batch_size,
        **params,
    )


def cosine_schedule(max_epochs):
    """A skorch callback annealing the learning rate to 0 over ``max_epochs``."""
    return LRScheduler(
        policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs
    )
