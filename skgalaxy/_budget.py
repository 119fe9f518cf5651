"""A memory budget for building modules whose sizes come from a file."""

import math

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["AllocationBudget"]


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
