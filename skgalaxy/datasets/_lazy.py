"""Image arrays read lazily from HDF5 files and cutout files, for data larger
than memory."""

from numbers import Integral
from pathlib import Path

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


class CutoutFiles:
    """Cutout files read only where they are indexed, a thread pool decoding them.

    Behaves like a read-only NHWC array (``shape``, ``dtype``, ``len``,
    indexing with an integer, a slice or an array of indices), as
    :class:`H5Images` does for an HDF5 file: estimators that train lazily
    read one batch of files at a time, and
    :func:`~skgalaxy.scoring.score_survey` scores a survey of files chunk by
    chunk. Pickles as its list of paths. Usually made by
    ``load_cutouts(..., lazy=True)``.

    Parameters
    ----------
    objects : sequence of path or of sequence of paths
        Each object's file, or its files, one per band.
    hdu : int or str, default=0
        The FITS extension holding the image.
    size : int, default=None
        Centre-crop and resize every cutout to this side; None: the files
        must share the first one's shape.
    missing : {"error", "fill"}, default="error"
        NaN or masked pixels, as in :func:`load_cutouts`.
    n_threads : int, default=4
        Files decoded at once.

    Attributes
    ----------
    shape : tuple of int
        ``(n_objects, height, width, bands)``, from the first object.
    dtype : numpy.dtype
        uint8 for 8-bit pictures, else float32.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skgalaxy.datasets import CutoutFiles
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> paths = [folder / f"{i}.npy" for i in range(5)]
    >>> for i, path in enumerate(paths):
    ...     np.save(path, np.full((8, 8, 2), i, np.float32))
    >>> images = CutoutFiles(paths)
    >>> images.shape, images[[4, 1]][:, 0, 0, 0].tolist()
    ((5, 8, 8, 2), [4.0, 1.0])
    """

    def __init__(self, objects, *, hdu=0, size=None, missing="error", n_threads=4):
        self.objects = [
            [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]
            for paths in objects
        ]
        if not self.objects:
            raise ValueError("CutoutFiles needs at least one file.")
        if missing not in ("error", "fill"):
            raise ValueError(f"missing must be 'error' or 'fill', got {missing!r}.")
        self.hdu, self.size, self.missing = hdu, size, missing
        self.n_threads = int(n_threads)
        first = self._read([0])
        self.shape = (len(self.objects), *first.shape[1:])
        self.dtype = first.dtype

    @property
    def ndim(self):
        """Number of dimensions (4)."""
        return 4

    def __len__(self):
        return len(self.objects)

    def _read(self, rows):
        from concurrent.futures import ThreadPoolExecutor

        from ._cutouts import fill_missing, read_object, same_shape

        chosen = [self.objects[i] for i in rows]
        with ThreadPoolExecutor(max(1, min(self.n_threads, len(chosen)))) as pool:
            images = [
                im for im, _ in pool.map(lambda p: read_object(p, self.hdu), chosen)
            ]
        files = [paths[0] for paths in chosen]
        if hasattr(self, "shape"):  # every later read must look like the first
            expected = self.shape[1:] if self.size is None else self.shape[-1:]
            for file, image in zip(files, images):
                got = image.shape if self.size is None else image.shape[-1:]
                if got != expected or image.dtype != self.dtype:
                    raise ValueError(
                        f"{file}: shape {image.shape} and dtype {image.dtype} differ "
                        f"from the first cutout's {self.shape[1:]} {self.dtype}."
                    )
        stacked, _ = fill_missing(
            same_shape(images, files, self.size), files, self.missing
        )
        return stacked

    def __getitem__(self, index):
        if isinstance(index, Integral):
            return self._read([range(len(self))[index]])[0]
        if isinstance(index, slice):
            rows = list(range(len(self)))[index]
        else:
            rows = np.asarray(index).ravel().astype(np.int64).tolist()
            n = len(self)
            if any(not -n <= r < n for r in rows):
                raise IndexError(f"index out of range for {n} cutouts")
            rows = [r % n for r in rows]
        if not rows:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)
        return self._read(rows)

    def __array__(self, dtype=None, copy=None):
        array = self[:]
        return array if dtype is None else array.astype(dtype)
