"""The hunt folder: its lock, the pool's fingerprint and the model checkpoints.

A hunt folder holds ``session.sqlite`` (every label, see
:mod:`skgalaxy.active._store`), ``session.lock`` (held while a session has it
open) and the latest ``checkpoint-<round>.skgalaxy``, a safe model file whose
SHA-256 the store records.
"""

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock, one server per folder is up to the user
    fcntl = None

import numpy as np

from .._utils import sha256_file, write_atomically

__all__ = [
    "STORE",
    "check_same_pool",
    "lock_directory",
    "pool_fingerprint",
    "read_checkpoint",
    "remove_old_checkpoints",
    "saved_hunt_in",
    "write_checkpoint",
]

STORE = "session.sqlite"
_LOCK = "session.lock"
#: The pickled checkpoint of hunts saved by earlier versions of skgalaxy:
#: loaded only with ``allow_pickle=True``.
_PICKLED = "model.joblib"


def pool_fingerprint(X, chunk=1024):
    """Length, sample shape, dtype and a hash of every sample of the pool."""
    digest = hashlib.blake2b(digest_size=16)
    for start in range(0, len(X), chunk):
        digest.update(np.ascontiguousarray(np.asarray(X[start : start + chunk])))
    return {
        "n_samples": len(X),
        "shape": list(X.shape[1:]) if hasattr(X, "shape") else list(np.shape(X[0])),
        "dtype": str(np.asarray(X[:1]).dtype),
        "hash": digest.hexdigest(),
    }


def _legacy_fingerprint(X):
    """The fingerprint of hunts saved before the whole pool was hashed."""
    n = len(X)
    ends = np.concatenate([np.asarray(X[: min(n, 8)]), np.asarray(X[max(0, n - 8) :])])
    digest = hashlib.blake2b(np.ascontiguousarray(ends).tobytes(), digest_size=16)
    shape = list(getattr(X, "shape", np.shape(ends))[1:])
    return {"n_samples": n, "shape": shape, "hash": digest.hexdigest()}


def check_same_pool(found, X, directory):
    """Refuse a pool other than the one whose fingerprint ``found`` the hunt saved."""
    current = (pool_fingerprint if "dtype" in found else _legacy_fingerprint)(X)
    if found != current:
        raise ValueError(
            f"The pool differs from the one the hunt in {directory} was "
            f"started on (saved {found}, given {current})."
        )


def lock_directory(directory):
    """Create ``directory`` and hold its lock file; refuse a folder in use."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / _LOCK, "a")  # held until close()
        store = directory / STORE
        if store.exists() and not os.access(store, os.W_OK):
            raise PermissionError(f"{store} is read-only")
    except OSError as exc:
        raise ValueError(
            f"The hunt folder {directory} cannot be written to ({exc}); a hunt "
            "saves every label as it is given, so it needs a writable folder."
        ) from exc
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ValueError(
                f"The hunt in {directory} is open elsewhere (another skgalaxy "
                "hunt server or session); close that one first."
            ) from None
    return handle


def saved_hunt_in(directory):
    """Whether ``directory`` holds a hunt to resume (see ``HuntSession.saved_in``)."""
    store = Path(directory) / STORE
    if not store.is_file():
        return False
    try:  # a start interrupted before the hunt existed leaves no fingerprint
        with contextlib.closing(
            sqlite3.connect(store.resolve().as_uri() + "?mode=ro", uri=True)
        ) as connection:
            query = "SELECT 1 FROM meta WHERE key = 'fingerprint'"
            return connection.execute(query).fetchone() is not None
    except sqlite3.DatabaseError:
        return True  # opening it says what is wrong with it


def write_checkpoint(directory, detector, round_, history, allow_pickle):
    """Write the model atomically to a new file; return its record for the store.

    Each round's model goes to a new file, recorded in the store only once
    it is complete (by the caller), so a crash at any moment leaves the last
    recorded checkpoint whole. Older checkpoints are removed once written.
    """
    from ..io import save_model

    name = f"checkpoint-{round_}.skgalaxy"
    try:
        write_atomically(directory / name, lambda tmp: save_model(detector, tmp))
        record = {"file": name, "format": "skgalaxy"}
    except TypeError as exc:
        if not allow_pickle:
            raise TypeError(
                f"{exc} A hunt folder holds safe model files only; pass "
                "allow_pickle=True to checkpoint this detector as a pickle."
            ) from exc
        import joblib

        name = f"checkpoint-{round_}.joblib"
        write_atomically(directory / name, lambda tmp: joblib.dump(detector, tmp))
        record = {"file": name, "format": "joblib"}
    record.update(round=round_, history=history, sha256=sha256_file(directory / name))
    return record


def remove_old_checkpoints(directory, record):
    """Delete every checkpoint of ``directory`` but the one ``record`` names."""
    for old in directory.glob("checkpoint-*"):
        if old.name != record["file"]:
            old.unlink(missing_ok=True)


def read_checkpoint(directory, record, allow_pickle):
    """The ``(detector, round, history)`` the store's ``record`` points to.

    Refuses a missing or edited file, and a pickle unless ``allow_pickle``.
    """
    if record is None and (directory / _PICKLED).is_file():
        record = {"file": _PICKLED, "format": "joblib"}  # skgalaxy 0.1
    path = None if record is None else directory / record["file"]
    if path is None or not path.is_file():
        raise ValueError(
            f"{directory} holds the labels of a hunt but not its model "
            f"({'no checkpoint' if path is None else path.name + ' is missing'}). "
            "Its labels are in session.sqlite; start a new hunt in another "
            "folder with them as y."
        )
    if "sha256" in record and sha256_file(path) != record["sha256"]:
        raise ValueError(f"{path} was changed since the hunt wrote it.")
    if record["format"] != "joblib":
        from ..io import load_model

        return load_model(path), record["round"], record["history"]
    return _read_pickled(path, record, allow_pickle)


def _read_pickled(path, record, allow_pickle):
    if not allow_pickle:
        raise ValueError(
            f"{path} is a pickled model: loading it can run any code. Resume "
            "with allow_pickle=True (skgalaxy hunt --allow-pickle) only if "
            "you trust whoever made this folder."
        )
    import joblib

    state = joblib.load(path)
    if "round" not in record:  # skgalaxy 0.1 pickled the round too
        record = state
        state = state["detector"]
    return state, record["round"], record["history"]
