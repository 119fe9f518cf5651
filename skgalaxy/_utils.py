"""Machinery every part of skgalaxy shares: atomic writes, file digests, indices.

Private; imports nothing heavier than the standard library.
"""

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["check_sample_indices", "sha256_file", "write_atomically"]


def write_atomically(path, write):
    """Call ``write(tmp_path)``, then fsync and rename over ``path``: all or nothing.

    The temporary file sits hidden beside ``path`` (so the rename is atomic
    and readers of the folder skip it) and is
    removed if ``write`` raises; the folder is synced after the rename, so
    the new file survives a power cut once this returns.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def sha256_file(path):
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sample_indices(indices, n_samples, name="indices"):
    """Refuse an integer array ``indices`` that is not all in ``[0, n_samples)``."""
    if indices.size and (
        indices.dtype.kind not in "iu"
        or indices.min() < 0
        or indices.max() >= n_samples
    ):
        raise ValueError(
            f"{name} must hold integer indices in [0, {n_samples}), got "
            f"{indices.tolist()[:10]}."
        )
