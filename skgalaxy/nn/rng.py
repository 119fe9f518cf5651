"""Per-thread random generators for training noise (shuffling, augmentation, dropout).

torch's global generator is shared by every thread, so two models trained at
the same time in two threads would draw from one stream and neither would be
reproducible. Inside :func:`seeded`, the random operations of this package
draw from generators that belong to the calling thread alone; outside it they
fall back to torch's global generator.
"""

import contextlib
import threading

import torch
from torch import nn

__all__ = ["Dropout", "generator", "rand", "randint", "randn", "seeded"]

_local = threading.local()


class _Generators:
    """One ``torch.Generator`` per device, each seeded with ``seed`` when first used."""

    def __init__(self, seed):
        self.seed = int(seed)
        self.by_device = {}

    def get(self, device):
        device = torch.device(device)
        key = (device.type, device.index)
        if key not in self.by_device:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self.by_device[key] = gen
        return self.by_device[key]


@contextlib.contextmanager
def seeded(seed):
    """Make this thread's random operations of skgalaxy modules draw from ``seed``.

    Nested scopes replace the outer one until they end. Other threads, and
    torch's global generator, are not affected.
    """
    previous = getattr(_local, "generators", None)
    _local.generators = _Generators(seed)
    try:
        yield
    finally:
        _local.generators = previous


def generator(device="cpu"):
    """The calling thread's generator for ``device``, or None outside :func:`seeded`."""
    generators = getattr(_local, "generators", None)
    return None if generators is None else generators.get(device)


def rand(shape, like):
    """Uniform [0, 1) numbers of ``shape`` on the device and dtype of ``like``."""
    return torch.rand(
        shape, generator=generator(like.device), device=like.device, dtype=like.dtype
    )


def randn(shape, like):
    """Standard normal numbers of ``shape`` on the device and dtype of ``like``."""
    return torch.randn(
        shape, generator=generator(like.device), device=like.device, dtype=like.dtype
    )


def randint(high, shape, device):
    """Integers in ``[0, high)`` of ``shape`` on ``device``."""
    return torch.randint(high, shape, generator=generator(device), device=device)


class Dropout(nn.Module):
    """Inverted dropout drawing its masks from :func:`generator` (see the module).

    Parameters
    ----------
    p : float
        Probability of zeroing a value in training mode.
    """

    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = rand(x.shape, x) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self):
        return f"p={self.p}"
