"""Private machinery every torch-backed estimator shares.

Seeding, device choice, building skorch nets with a batched data iterator, and
gradient-free batched inference. Estimators call these; none re-implements them.
"""

import contextlib
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from skorch.callbacks import LRScheduler
from torch.utils.data import Subset

from ._images import (
    as_float_images,
    images_to_tensor,
    is_lazy_images,
    restore_layout,
    tensor_to_images,
    validate_images,
)

__all__ = [
    "BatchIterator",
    "LazyImageTensor",
    "ScaledImagesMixin",
    "TorchEstimatorMixin",
    "cosine_schedule",
    "draw_seed",
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


@contextlib.contextmanager
def torch_seed(seed, device="cpu"):
    """Run a block with torch seeded by ``seed``, restoring the caller's RNG after.

    The global CPU generator (and the CUDA generator of ``device``) is forked,
    so the caller's random state is the same after the block as before it.
    """
    devices = []
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class LazyImageTensor:
    """NCHW float32 tensors read on demand from a lazily read NHWC image source.

    Indexing with a slice or with indices (shuffled, in training) reads only
    those rows of ``source`` (e.g. :class:`skgalaxy.datasets.H5Images`, which
    accepts indices in any order), converts them and
    divides them by ``scale``, so training and inference walk data larger than
    memory batch by batch.
    """

    def __init__(self, source, scale=1.0):
        self.source = source
        self.scale = scale

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            index = np.asarray(index, dtype=np.int64).reshape(-1)
        images = as_float_images(np.asarray(self.source[index]))
        if not np.isfinite(images).all():
            raise ValueError("Input images contain NaN or infinity.")
        return images_to_tensor(images) / self.scale


def _dataset_tensors(dataset):
    """The X and y tensors behind a skorch ``Dataset`` or a ``Subset`` of one."""
    indices = None
    if isinstance(dataset, Subset):
        dataset, indices = dataset.dataset, torch.as_tensor(dataset.indices)
    X = dataset.X
    if not isinstance(X, LazyImageTensor):
        X = torch.as_tensor(X)
    y = None if dataset.y is None else torch.as_tensor(dataset.y)
    if indices is not None:
        X = X[indices]
        y = None if y is None else y[indices]
    return X, y


class BatchIterator:
    """Mini-batches sliced from whole tensors, for skorch's ``iterator_train``.

    skorch's default ``DataLoader`` fetches every sample with ``__getitem__`` and
    collates them again; slicing the tensors keeps data handling out of the
    training time. Shuffling uses torch's global generator, which the estimators
    seed.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset
        Holds ``X`` (and ``y``, possibly None) as arrays or tensors.
    batch_size : int, default=64
    shuffle : bool, default=False
    drop_last : bool, default=False
    """

    def __init__(self, dataset, batch_size=64, shuffle=False, drop_last=False):
        self.X, self.y = _dataset_tensors(dataset)
        self.batch_size = len(self.X) if batch_size == -1 else batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.X) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            idx = (
                slice(start, start + self.batch_size)
                if order is None
                else order[start : start + self.batch_size]
            )
            Xb = self.X[idx]
            # skorch expects a (X, y) pair; unsupervised nets get a placeholder.
            yb = torch.zeros(len(Xb)) if self.y is None else self.y[idx]
            yield Xb, yb


def make_net(net_class, module, *, device, verbose, batch_size, **params):
    """Build an uninitialised skorch net from a module *class*.

    Parameters
    ----------
    net_class : type
        ``skorch.NeuralNet`` or a subclass.
    module : type
        A ``torch.nn.Module`` class; its arguments come in ``params`` as
        ``module__<name>``. A class, never an instance, so nothing trained
        leaks between clones.
    device : str
        A resolved device (see :func:`resolve_device`).
    verbose : int
    batch_size : int
    **params
        Any other skorch parameter (criterion, optimizer, callbacks, ...).
    """
    if not isinstance(module, type):
        raise TypeError("make_net takes a module class, not an instance.")
    defaults = {
        "iterator_train": BatchIterator,
        "iterator_train__shuffle": True,
        "iterator_valid": BatchIterator,
        "train_split": None,
    }
    return net_class(
        module,
        device=device,
        verbose=int(verbose),
        batch_size=batch_size,
        **{**defaults, **params},
    )


def cosine_schedule(max_epochs):
    """A skorch callback annealing the learning rate to 0 over ``max_epochs``."""
    return LRScheduler(
        policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs
    )


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


class TorchEstimatorMixin:
    """Shared behaviour of the skorch-backed estimators.

    Expects the parameters of ``TORCH_PARAMETER_CONSTRAINTS`` and, once fitted,
    keeps the skorch net in ``net_``.
    """

    def _fit_device(self):
        return resolve_device(self.device)

    def _fit_net(self, net_class, module, X, y=None, *, seed=None, **params):
        """Build ``net_`` from the module class and train it on tensors, seeded.

        The estimator's ``device``, ``verbose``, ``batch_size``, ``max_epochs``
        and ``lr`` fill in the net; ``params`` add the rest. The last partial
        batch is dropped when there is more than one batch, so BatchNorm never
        sees a batch of one. Sets ``net_`` and ``n_iter_``.
        """
        device = self._fit_device()
        seed = draw_seed(self.random_state) if seed is None else seed
        params.setdefault("iterator_train__drop_last", len(X) > self.batch_size)
        with torch_seed(seed, device):
            self.net_ = make_net(
                net_class,
                module,
                device=device,
                verbose=self.verbose,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                lr=self.lr,
                **params,
            )
            self.net_.fit(X, y)
        self.n_iter_ = len(self.net_.history)
        return self

    def _infer(self, forward, X, batch_size=256, pad=False):
        """Apply ``forward`` to NCHW tensor ``X`` batch by batch without gradients.

        The module is put in eval mode for the call and its mode restored after.
        With ``pad``, the last batch is padded with zeros to ``batch_size``:
        convolution kernels pick their algorithm by batch size, so only equal
        batch sizes give bit-identical outputs for an image whatever else is
        in ``X``. Returns the CPU tensor (or tuple of tensors) of outputs.
        """
        module = self.net_.module_
        device = self.net_.device
        was_training = module.training
        module.eval()
        outputs = []
        try:
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
        finally:
            module.train(was_training)
        if outputs and isinstance(outputs[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*outputs))
        return torch.cat(outputs)


class ScaledImagesMixin:
    """Image input and output for networks that reproduce their input.

    uint8 images are divided by 255 on the way in and come back as uint8 on
    the way out; float images pass unchanged, so outputs (reconstructions,
    samples) are in the layout, shape and dtype family of the training data.
    """

    def _scaled_tensor(self, X, reset, min_samples=1):
        """Validate ``X`` and return the NCHW float32 tensor the network sees.

        A lazily read source (see :func:`is_lazy_images`) is checked on its
        first rows and returned as a :class:`LazyImageTensor`.
        """
        lazy = is_lazy_images(X)
        if lazy and len(X) < min_samples:
            raise ValueError(
                f"Found array with {len(X)} sample(s) while a minimum of "
                f"{min_samples} is required."
            )
        images = validate_images(
            self,
            np.asarray(X[:64]) if lazy else X,
            reset=reset,
            image_shape=self.image_shape,
            min_samples=1 if lazy else min_samples,
        )
        if reset:
            is_uint8 = getattr(X, "dtype", None) == np.uint8
            self.input_scale_ = 255.0 if is_uint8 else 1.0
            self.input_dtype_ = np.dtype(np.uint8 if is_uint8 else np.float32)
        if lazy:
            return LazyImageTensor(X, self.input_scale_)
        return images_to_tensor(images) / self.input_scale_

    def _to_images(self, decoded):
        """Decoded NCHW tensors -> images in the fitted layout and dtype family."""
        images = tensor_to_images(decoded) * self.input_scale_
        if self.input_dtype_ == np.uint8:
            images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
        return restore_layout(images, self.input_ndim_)
