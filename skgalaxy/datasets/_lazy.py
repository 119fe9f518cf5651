"""Image arrays read lazily from HDF5 files, for data larger than memory."""

from numbers import Integral

import h5py
import numpy as np


class H5Images:
    """An image dataset of an HDF5 file, read only where it is indexed.

    Behaves like a read-only NHWC array: ``shape``, ``dtype``, ``ndim``,
    ``len`` and indexing with an integer, a slice or an array of indices
    (any order, repeats allowed) return numpy arrays read from the file.
    ``np.asarray`` reads everything. The file is opened per access, so the
    object pickles (joblib, dask) as just its path and key.
    :class:`~skgalaxy.representation.FlowVAETransformer` and
    :class:`~skgalaxy.anomaly.CAEAnomalyDetector` train on it batch by batch
    without reading the whole file.

    Parameters
    ----------
    path : str or path-like
        An HDF5 file, e.g. Galaxy10_DECals.h5.
    key : str, default="images"
        The dataset of shape (n_samples, height, width, channels).

    Attributes
    ----------
    shape : tuple of int
        ``(n_samples, height, width, channels)``.
    dtype : numpy.dtype
        The stored dtype (uint8 for Galaxy10).

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> from skgalaxy.datasets import H5Images, iter_batches
    >>> path = os.path.join(tempfile.mkdtemp(), "images.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["images"] = np.arange(10 * 4 * 4 * 3, dtype=np.uint8).reshape(10, 4, 4, 3)
    >>> images = H5Images(path)
    >>> images.shape, images[[7, 2]].shape
    ((10, 4, 4, 3), (2, 4, 4, 3))
    >>> [len(batch) for batch in iter_batches(images, 4)]
    [4, 4, 2]
    """

    def __init__(self, path, key="images"):
        self.path = path
        self.key = key
        with h5py.File(path, "r") as f:
            if key not in f or not isinstance(f[key], h5py.Dataset):
                raise ValueError(f"{path} has no dataset {key!r}.")
            self.shape = tuple(f[key].shape)
            self.dtype = f[key].dtype

    @property
    def ndim(self):
        """Number of dimensions (4)."""
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        with h5py.File(self.path, "r") as f:
            data = f[self.key]
            if isinstance(index, (Integral, slice)):
                return data[index]
            index = np.asarray(index)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = np.where(index < 0, index + len(self), index)
            # h5py reads increasing unique indices only.
            unique, inverse = np.unique(index, return_inverse=True)
            return data[unique][inverse.ravel()]

    def __array__(self, dtype=None, copy=None):
        array = self[:]
        return array if dtype is None else array.astype(dtype)

    def __repr__(self):
        return f"H5Images({str(self.path)!r}, key={self.key!r}, shape={self.shape})"


def iter_batches(images, batch_size=1024):
    """Yield consecutive batches of an array-like (e.g. :class:`H5Images`).

    Parameters
    ----------
    images : array-like supporting ``len`` and slicing
        The images (or any array).
    batch_size : int, default=1024
        Rows per batch; the last batch may be shorter.

    Yields
    ------
    batch : ndarray
        ``images[start:start + batch_size]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.datasets import iter_batches
    >>> [b.tolist() for b in iter_batches(np.arange(5), 2)]
    [[0, 1], [2, 3], [4]]
    """
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    for start in range(0, len(images), batch_size):
        yield np.asarray(images[start : start + batch_size])
