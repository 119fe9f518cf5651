"""Private machinery every torch-backed estimator shares.

Seeding, device choice, building and training skorch nets, and gradient-free
batched inference. Estimators call these; none re-implements them.
"""

import contextlib
import functools
import math
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping
from torch.overrides import TorchFunctionMode
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    WeightedRandomSampler,
)

from .nn import rng

__all__ = [
    "EarlyStopping",
    "FiniteLoss",
    "OversampledIndices",
    "PADDED_BATCH",
    "TORCH_PARAMETER_CONSTRAINTS",
    "TorchEstimatorMixin",
    "TrainingNet",
    "TrainingProgress",
    "batch_loader",
    "check_filters",
    "cosine_schedule",
    "draw_seed",
    "keep_state_on_error",
    "make_net",
    "resolve_device",
    "torch_seed",
]


def resolve_device(device):
    """Turn the ``device`` parameter into a concrete torch device string.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise; ``"cpu"``,
    ``"cuda"`` and ``"cuda:N"`` are taken as they are, and CUDA must then exist.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {type(device).__name__}.")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but CUDA is not available on this "
                "machine; use device='auto' or 'cpu'."
            )
        return device
    raise ValueError(
        f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}."
    )


def draw_seed(random_state):
    """Draw one integer seed for torch from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


#: Module construction draws its initial weights from torch's one global
#: generator; the lock keeps two threads' seeded constructions apart.
_GLOBAL_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def torch_seed(seed, device="cpu"):
    """Run a block with torch's global generator seeded, restoring it after.

    For what draws from the global generator only (module construction): the
    caller's random state is the same after the block as before it, and such
    blocks in other threads wait their turn. Training noise draws from
    per-thread generators instead (:func:`skgalaxy.nn.rng.seeded`).
    """
    devices = []
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class OversampledIndices(Sampler):
    """Each epoch, every row once plus random copies of the rows of the rarer
    classes, so that every class counts as many rows as the largest; shuffled.

    Parameters
    ----------
    classes : ndarray of int of shape (n_rows,)
        Class index of each row.
    generator : torch.Generator
        Draws the copies and the order.
    """

    def __init__(self, classes, generator):
        self.rows = [
            torch.from_numpy(np.flatnonzero(classes == c)) for c in np.unique(classes)
        ]
        self.largest = max((len(r) for r in self.rows), default=0)
        self.generator = generator

    def __len__(self):
        return self.largest * len(self.rows)

    def __iter__(self):
        copies = [
            rows[
                torch.randint(
                    len(rows), (self.largest - len(rows),), generator=self.generator
                )
            ]
            for rows in self.rows
        ]
        index = torch.cat([*self.rows, *copies])
        yield from index[torch.randperm(len(index), generator=self.generator)].tolist()


def batch_loader(dataset, batch_size=64, shuffle=False, drop_last=False, balance=False):
    """skorch's ``DataLoader`` fetching whole batches (through a ``BatchSampler``).

    Each batch is one ``dataset[indices]`` call, so tensors and
    :class:`~skgalaxy._images.ImageBatches` are sliced once per batch rather
    than once per image. Shuffling draws from the calling thread's seeded
    generator (:func:`skgalaxy.nn.rng.generator`). ``balance`` evens out the
    classes of the dataset's ``y``, in shuffled epochs: ``"draw"`` draws
    ``len(dataset)`` samples with replacement, every class with the same
    probability; ``"oversample"`` takes every sample once and copies of the
    rarer classes' samples up to the size of the largest
    (:class:`OversampledIndices`); False keeps the data as it is.
    """
    if balance not in (False, "draw", "oversample"):
        raise ValueError(
            f"balance must be False, 'draw' or 'oversample', got {balance!r}."
        )
    # The DataLoader draws a seed of its own from its generator too.
    generator = rng.generator("cpu")
    if balance:
        _, classes, counts = np.unique(
            np.asarray(dataset.y), return_inverse=True, return_counts=True
        )
    if balance == "draw":
        sampler = WeightedRandomSampler(
            torch.as_tensor(1.0 / counts[classes], dtype=torch.float64),
            len(dataset),
            generator=generator,
        )
    elif balance == "oversample":
        sampler = OversampledIndices(classes, generator)
    elif shuffle:
        sampler = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    batch_size = len(dataset) if batch_size == -1 else batch_size
    return DataLoader(
        dataset,
        sampler=BatchSampler(sampler, batch_size, drop_last),
        batch_size=None,
        generator=generator,
    )


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
    """A tqdm bar over every training batch of every epoch, with the time left.

    Its postfix shows the epoch and the last epoch's training loss.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        batches = -(-len(X) // net.batch_size) if net.batch_size > 0 else 1
        self.bar_ = tqdm(total=net.max_epochs * batches, unit="batch", desc="training")

    def on_batch_end(self, net, training=False, **kwargs):
        if training and getattr(self, "bar_", None) is not None:
            self.bar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.set_postfix(
                epoch=len(net.history), loss=f"{net.history[-1, 'train_loss']:.4g}"
            )

    def on_train_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
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


def _factory_size(func, args, kwargs):
    """The number of elements a torch factory call asks for."""
    if func in (torch.eye,):
        n = args[0] if args else kwargs["n"]
        return n * (args[1] if len(args) > 1 else kwargs.get("m", n))
    if func is torch.randperm:
        return args[0] if args else kwargs["n"]
    if func is torch.randint:
        size = kwargs.get("size", args[-1] if args else ())
    elif func is torch.full:
        size = kwargs.get("size", args[0] if args else ())
    else:
        size = kwargs.get("size", args[0] if len(args) == 1 else args)
    size = (size,) if isinstance(size, int) else tuple(size)
    return math.prod(int(v) for v in size)


class AllocationBudget(TorchFunctionMode):
    """Refuse torch factory calls (``empty``, ``zeros``, ``rand``, ...) past a budget.

    Counts the bytes each call asks for *before* it allocates, and raises
    ``ValueError`` once their sum exceeds ``max_bytes``: building a module
    whose sizes come from an untrusted file is bounded in memory and time.
    """

    FACTORIES = frozenset(
        {
            torch.empty,
            torch.zeros,
            torch.ones,
            torch.full,
            torch.rand,
            torch.randn,
            torch.randint,
            torch.randperm,
            torch.eye,
        }
    )

    def __init__(self, max_bytes):
        super().__init__()
        self.left = int(max_bytes)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.FACTORIES:
            dtype = kwargs.get("dtype") or (
                torch.int64 if func in (torch.randint, torch.randperm) else None
            )
            itemsize = torch.empty((), dtype=dtype).element_size()
            self.left -= _factory_size(func, args, kwargs) * itemsize
            if self.left < 0:
                raise ValueError(
                    "the network its parameters describe is larger than its "
                    "stored weights allow"
                )
        return func(*args, **kwargs)


#: Parameter constraints every torch estimator shares.
TORCH_PARAMETER_CONSTRAINTS = {
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "image_shape": [tuple, list, None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


#: Batch size of padded inference (see ``TorchEstimatorMixin._infer``).
PADDED_BATCH = 128


class TorchEstimatorMixin:
    """Shared behaviour of the skorch-backed estimators.

    Expects the parameters of ``TORCH_PARAMETER_CONSTRAINTS`` and, once fitted,
    keeps the skorch net in ``net_``, its module always in eval mode: training
    happens inside ``fit`` (or ``teach``) only, so inference never changes
    the model and may run in several threads at once.
    """

    def _fit_device(self):
        return resolve_device(self.device)

    def _net_spec(self):
        """``(net_class, module_class, skorch params)`` of this estimator's net.

        Built from parameters and fitted attributes alone, so that a saved
        model's net can be rebuilt (see :mod:`skgalaxy.io`) before its
        weights are loaded.
        """
        raise NotImplementedError

    def _make_net(self, device, **extra):
        """An uninitialised net from :meth:`_net_spec`, ``extra`` on top."""
        net_class, module, params = self._net_spec()
        return make_net(
            net_class,
            module,
            device=device,
            verbose=self.verbose,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            lr=self.lr,
            **{**params, **extra},
        )

    def _fit_net(self, X, y=None, *, seed=None, prepare=None, **extra):
        """Build ``net_`` from :meth:`_net_spec` and train it, seeded.

        ``extra`` adds training-only skorch parameters (a validation split,
        say). Weights are initialised from ``seed`` (under
        :func:`torch_seed`); shuffling, augmentation and dropout draw from
        this thread's generator seeded with ``seed``, so the same seed gives
        the same model whatever runs in other threads. The last partial batch
        is dropped when there is more than one batch, so BatchNorm never sees
        a batch of one. ``prepare(net)``, if given, runs on the initialised
        net before training (to load pretrained weights, say). Sets ``net_``
        and ``n_iter_``.
        """
        device = self._fit_device()
        seed = draw_seed(self.random_state) if seed is None else seed
        extra.setdefault("iterator_train__drop_last", len(X) > self.batch_size)
        net = self._make_net(device, **extra)
        with torch_seed(seed, device):
            net.initialize()
        if prepare is not None:
            prepare(net)
        self._train_net(net, X, y, seed=seed)
        self.net_ = net
        return self

    def _module_layout(self, max_bytes):
        """The state of the module :meth:`_net_spec` describes, built in a budget.

        Returns ``({name: (shape, dtype)} of its state dict, bytes of all its
        parameters and buffers)``. The module is built on the CPU under
        :class:`AllocationBudget`, so a saved model whose parameters describe
        a network larger than ``max_bytes`` is refused before that memory is
        asked for.
        """
        _, module, params = self._net_spec()
        prefix = "module__"
        kwargs = {
            k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)
        }
        with AllocationBudget(max_bytes):
            built = module(**kwargs)
        tensors = [*built.parameters(), *built.buffers()]
        layout = {
            name: (tuple(value.shape), value.dtype)
            for name, value in built.state_dict().items()
        }
        return layout, sum(t.numel() * t.element_size() for t in tensors)

    def _restore_net(self, module_state):
        """Rebuild ``net_`` on the CPU around a saved module state dict."""
        net = self._make_net("cpu")
        with torch_seed(0):
            net.initialize()
        net.module_.load_state_dict(module_state)
        net.module_.eval()
        self.net_ = net

    def _train_net(self, net, X, y=None, *, seed, epochs=None):
        """Train ``net`` (further) for ``epochs`` (default ``max_epochs``), seeded.

        Leaves its module in eval mode and sets ``n_iter_``.
        """
        with rng.seeded(seed):
            if epochs is None:
                net.partial_fit(X, y)
            else:
                net.fit_loop(X, y, epochs=epochs)
        net.module_.eval()
        self.n_iter_ = len(net.history)

    def _infer(self, forward, X, batch_size=256, pad=False):
        """Apply ``forward`` to NCHW batches of ``X`` without gradients.

        ``X`` is an :class:`~skgalaxy._images.ImageBatches` or a tensor; it is
        converted and moved to the device one batch at a time, so memory is
        bounded by the batch. The module is not touched (it stays in eval
        mode), so concurrent calls are safe. With ``pad``, the last batch is
        padded with zeros to ``batch_size``: kernels pick their algorithm by
        batch size, so only equal batch sizes give bit-identical outputs for
        an image whatever else is in ``X``. Returns the CPU tensor (or tuple
        of tensors) of outputs.
        """
        device = self.net_.device
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(X), batch_size):
                batch = X[start : start + batch_size]
                n = len(batch)
                if pad and n < batch_size:
                    filler = batch.new_zeros((batch_size - n, *batch.shape[1:]))
                    batch = torch.cat([batch, filler])
                out = forward(batch.to(device))
                outputs.append(
                    tuple(o[:n].cpu() for o in out)
                    if isinstance(out, tuple)
                    else out[:n].cpu()
                )
        if outputs and isinstance(outputs[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*outputs))
        return torch.cat(outputs)
