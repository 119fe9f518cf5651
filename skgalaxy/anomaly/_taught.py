"""What a hunting detector was taught: its labels and its samples' fingerprints.

The detector keeps no data; a 64-bit hash of each sample it trained on tells
the samples labelled since apart, the ones a query must not propose again,
and a ``teach`` that would forget some.
"""

import hashlib
import warnings

import numpy as np
from sklearn.utils import column_or_1d

from .._images import ImageBatches
from .._labels import is_unlabelled
from .._utils import check_sample_indices
from ._hunt_scores import SCORE_BATCH

__all__ = ["exclusion_mask", "fingerprints", "labels_of", "warn_if_forgetting"]


def labels_of(y, n_samples, allow_unlabelled):
    """Labels as an object array and the mask of labelled samples."""
    labels = np.asarray(column_or_1d(y, dtype=object), dtype=object)
    if len(labels) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(labels)} labels.")
    labelled = np.array([not is_unlabelled(v) for v in labels], dtype=bool)
    if not allow_unlabelled and not labelled.all():
        raise ValueError(
            "teach needs a label for every sample; None/NaN mark unlabelled "
            "samples only in fit."
        )
    return labels, labelled


def fingerprints(X_t):
    """A 64-bit hash of each prepared sample: which samples were trained on."""
    rows = X_t.images if isinstance(X_t, ImageBatches) else X_t.numpy()
    hashes = []
    for start in range(0, len(rows), SCORE_BATCH):  # lazy sources are read in blocks
        for row in np.ascontiguousarray(rows[start : start + SCORE_BATCH]):
            digest = hashlib.blake2b(row.tobytes(), digest_size=8).digest()
            hashes.append(int.from_bytes(digest, "little"))
    return np.array(hashes, dtype=np.uint64)


def warn_if_forgetting(trained, given):
    """Warn when samples of the last training are missing from ``given``."""
    missing = int((~np.isin(trained, given)).sum())
    if missing:
        warnings.warn(
            f"teach got {len(given)} labelled samples, without {missing} of the "
            f"{len(trained)} it was last trained on: it trains on these alone and "
            "forgets the others. Pass every label of the hunt so far (HuntSession "
            "does).",
            UserWarning,
            stacklevel=4,  # the caller of teach (through its decorator)
        )


def exclusion_mask(exclude, n_samples):
    """A boolean mask from ``exclude`` (indices or a mask of length n_samples)."""
    mask = np.zeros(n_samples, dtype=bool)
    if exclude is None:
        return mask
    exclude = np.asarray(exclude)
    if exclude.dtype == bool:
        if exclude.shape != (n_samples,):
            raise ValueError(
                f"exclude as a mask needs {n_samples} values, got {exclude.shape}."
            )
        return exclude.copy()
    check_sample_indices(exclude, n_samples, "exclude (unless a boolean mask)")
    mask[exclude.astype(np.int64)] = True
    return mask
