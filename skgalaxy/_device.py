"""Device choice and seeding of torch for the estimators."""

import contextlib
import threading

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["draw_seed", "resolve_device", "torch_seed"]


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
