"""The image-array contract shared by every estimator (private).

Public image layout is NHWC ``(n_samples, height, width, channels)``. Flat 2-D
input ``(n_samples, height * width * channels)`` is accepted too, so that
pipelines, pandas and scikit-learn's common checks work; its image shape comes
from the estimator's ``image_shape`` parameter or from :func:`infer_image_shape`.
Conversion to float32 NCHW tensors happens only at the torch boundary, batch
by batch (:class:`ImageBatches`), so memory is bounded by the batch, never by
the number of images.

**One rule for values**, the same for every torch estimator: uint8 images are
divided by 255 (to [0, 1]); images of any other dtype are taken as they are
(cast to float32). Images that come back (reconstructions, samples) return to
the dtype family of the training images: uint8 in, uint8 out.
"""

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "ImageBatches",
    "ImageInputMixin",
    "images_to_tensor",
    "infer_image_shape",
    "input_ndim",
    "is_lazy_images",
    "restore_layout",
    "tensor_to_images",
    "validate_images",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def infer_image_shape(n_features):
    """Guess the ``(height, width, channels)`` of flat images with ``n_features``.

    The documented rule for 2-D input without ``image_shape``:

    * ``n_features == 3 * s**2`` gives square RGB images ``(s, s, 3)``;
    * otherwise ``n_features == s**2`` gives square single-band images ``(s, s, 1)``;
    * otherwise every feature is a channel of a 1x1 image, ``(1, 1, n_features)``.
    """
    side = math.isqrt(n_features // 3)
    if n_features % 3 == 0 and 3 * side * side == n_features:
        return (side, side, 3)
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (side, side, 1)
    return (1, 1, n_features)


def _check_image_shape(image_shape, n_features):
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in shape
    ):
        raise ValueError(
            "image_shape must be a tuple of three positive integers "
            f"(height, width, channels), got {image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {math.prod(shape)} values per image, but X "
            f"has {n_features} features."
        )
    return tuple(int(v) for v in shape)


def is_lazy_images(X):
    """Whether ``X`` is a lazily read 4-D image source, not an in-memory array.

    Such a source (e.g. :class:`skgalaxy.datasets.H5Images` or a dask array)
    has ``shape``, ``dtype`` and indexing by slices and by index arrays in any
    order, and is read only where it is indexed. (A raw ``h5py`` dataset
    needs sorted indices: wrap it in ``H5Images``.)
    """
    return (
        not isinstance(X, (np.ndarray, torch.Tensor))
        and hasattr(X, "__getitem__")
        and hasattr(X, "dtype")
        and len(getattr(X, "shape", ())) == 4
        and not hasattr(X, "iloc")
    )


def check_float32_range(images, where="Input images"):
    """Refuse values that float32, the dtype the networks compute in, cannot hold."""
    if images.dtype.kind == "f" and images.dtype.itemsize > 4 and images.size:
        if images.max() > _FLOAT32_MAX or images.min() < -_FLOAT32_MAX:
            raise ValueError(
                f"{where} hold values beyond float32's range (|x| > "
                f"{_FLOAT32_MAX:.3g}); scale them first, e.g. with ArcsinhScaler."
            )


def validate_images(estimator, X, *, reset, image_shape=None, min_samples=1):
    """Validate image input and return it as a float NHWC array.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator the data is validated for. With ``reset=True`` the
        attributes ``n_features_in_``, ``image_shape_`` (height, width,
        channels) and ``input_ndim_`` (2 or 4) are set on it; otherwise the
        data is checked against them.
    X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
        Images, uint8 or float. Never modified.
    reset : bool
        Whether this is a call of ``fit``.
    image_shape : tuple of int or None
        The ``image_shape`` parameter of the estimator, used for 2-D input.
    min_samples : int, default=1
        Fewest images accepted (networks with BatchNorm train on 2 or more).

    Returns
    -------
    images : ndarray of shape (n_samples, H, W, C)
        In the input's own dtype (uint8 stays uint8: the conversion to float
        happens batch by batch in :class:`ImageBatches`); a view or a copy,
        never to be written to.
    """
    ndim = _ndim(X)
    if ndim == 4:
        _refuse_channels_first(X.shape[1:], "X has images of shape")
    if ndim == 4 and image_shape is not None:
        _check_image_shape(image_shape, math.prod(X.shape[1:]))
        if tuple(image_shape) != tuple(X.shape[1:]):
            raise ValueError(
                f"image_shape={tuple(image_shape)} contradicts the shape of the "
                f"4-D images, {tuple(X.shape[1:])}; leave image_shape=None for "
                "4-D input."
            )
    if ndim == 4:
        X = check_array(
            X,
            allow_nd=True,
            dtype="numeric",
            ensure_all_finite=True,
            ensure_min_samples=min_samples,
        )
        shape = X.shape[1:]
        if not reset:
            _check_fitted_shape(estimator, shape)
        flat = validate_data(
            estimator,
            X.reshape(len(X), -1),
            reset=reset,
            dtype="numeric",
            ensure_all_finite=False,  # checked just above
        )
    elif ndim in (0, 1, 2):
        flat = validate_data(
            estimator, X, reset=reset, dtype="numeric", ensure_min_samples=min_samples
        )
        if reset:
            if image_shape is None:
                shape = infer_image_shape(flat.shape[1])
            else:
                shape = _check_image_shape(image_shape, flat.shape[1])
                _refuse_channels_first(shape, "image_shape is")
        else:
            shape = estimator.image_shape_
    else:
        raise ValueError(
            "Expected images as a 4-D array (n_samples, height, width, channels) "
            f"or a 2-D array (n_samples, n_features); got a {ndim}-D array. "
            "Add a channel axis to single-band images with X[..., np.newaxis]."
        )
    check_float32_range(flat)
    if reset:
        estimator.image_shape_ = tuple(int(v) for v in shape)
        estimator.input_ndim_ = 4 if ndim == 4 else 2
    return flat.reshape((len(flat), *estimator.image_shape_))


def _refuse_channels_first(shape, what):
    """Refuse ``(channels, H, W)`` images: a few planes of large square-ish ones.

    Band cubes from FITS files come channels-first; taken as NHWC they would
    be images a few pixels tall with dozens of channels, a silent wrong
    answer.
    """
    first, height, width = (int(v) for v in shape)
    if first <= 16 and height > 2 * first and width > 2 * first:
        raise ValueError(
            f"{what} {tuple(shape)}: that looks channels-first ({first} bands of "
            f"{height}x{width} pixels), but skgalaxy takes images as (n_samples, "
            "height, width, channels). Move the band axis last: "
            "np.moveaxis(X, 1, -1)."
        )


def _ndim(X):
    shape = getattr(X, "shape", None)
    return len(shape) if shape is not None else np.asarray(X).ndim


def input_ndim(X):
    """The layout of user input: 4 for NHWC images, 2 for anything flat."""
    return 4 if _ndim(X) == 4 else 2


def _check_fitted_shape(estimator, shape):
    fitted = estimator.image_shape_
    name = type(estimator).__name__
    if tuple(shape) == tuple(fitted):
        return
    if shape[-1] != fitted[-1]:
        raise ValueError(
            f"X has images with {shape[-1]} channels, but {name} was fitted on "
            f"images with {fitted[-1]} channels (image shape {tuple(fitted)})."
        )
    raise ValueError(
        f"X has images of shape {tuple(shape)}, but {name} was fitted on images "
        f"of shape {tuple(fitted)}."
    )


def restore_layout(images, ndim):
    """Return NHWC ``images`` in the layout of the user's input: 4-D or flat 2-D."""
    return images if ndim == 4 else images.reshape(len(images), -1)


def images_to_tensor(images, scale=1.0):
    """NHWC numpy images -> contiguous float32 NCHW tensor, divided by ``scale``."""
    nchw = np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)), dtype=np.float32)
    tensor = torch.from_numpy(nchw)
    return tensor if scale == 1.0 else tensor.div_(scale)


def tensor_to_images(tensor):
    """Convert an NCHW torch tensor to NHWC float32 numpy images on the CPU."""
    return tensor.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


class _Rows:
    """The rows ``index`` of an image source, read only when indexed."""

    def __init__(self, images, index):
        self.images = images
        self.index = index

    @property
    def shape(self):
        return (len(self.index), *self.images.shape[1:])

    def __len__(self):
        return len(self.index)

    def __getitem__(self, index):
        return self.images[self.index[index]]


class ImageBatches:
    """NCHW float32 tensors made on demand from NHWC images, batch by batch.

    Indexing with a slice, or with indices in any order (shuffled training),
    reads and converts only those images, so neither training nor inference
    ever holds a float copy of the whole data set. ``images`` may be an
    in-memory array (already validated) or a lazily read source such as
    :class:`skgalaxy.datasets.H5Images` or a dask array, whose batches are
    checked for non-finite values as they are read.

    Parameters
    ----------
    images : array-like of shape (n_samples, H, W, C)
    scale : float, default=1.0
        Divisor of the values (255 for uint8 images, see the module).
    check : bool, default=False
        Check every batch for NaN, infinity and values beyond float32.
    """

    def __init__(self, images, scale=1.0, check=False):
        self.images = images
        self.scale = scale
        self.check = check

    def __len__(self):
        return len(self.images)

    @property
    def shape(self):
        n, height, width, channels = self.images.shape
        return (n, channels, height, width)

    def subset(self, index):
        """The samples ``index`` (increasing), read lazily, batch by batch."""
        rows = _Rows(self.images, np.asarray(index, dtype=np.int64))
        return ImageBatches(rows, self.scale, self.check)

    def __getitem__(self, index):
        if isinstance(index, tuple) and index[1:] == (Ellipsis,):
            index = index[0]  # X[rows, ...], as scikit-learn's indexing asks
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        if not isinstance(index, slice):
            index = np.asarray(index, dtype=np.int64).reshape(-1)
        batch = np.asarray(self.images[index])
        if self.check:
            if batch.dtype.kind == "f" and not np.isfinite(batch).all():
                raise ValueError("Input images contain NaN or infinity.")
            check_float32_range(batch)
        return images_to_tensor(batch, self.scale)


class ImageInputMixin:
    """The image input and output of every torch estimator (see the module's rule).

    ``_image_batches`` validates images and returns them as
    :class:`ImageBatches`; in ``fit`` it also records ``input_scale_`` and
    ``input_dtype_``. ``_to_images`` turns decoded tensors back into images
    in the fitted layout and dtype family.
    """

    def _image_batches(self, X, reset, min_samples=1):
        """Validate ``X`` and return the :class:`ImageBatches` the network sees.

        A lazily read source (see :func:`is_lazy_images`) is checked on its
        first rows here and on every batch when it is read.
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
            is_uint8 = (X.dtype if lazy else images.dtype) == np.uint8
            self.input_scale_ = 255.0 if is_uint8 else 1.0
            self.input_dtype_ = np.dtype(np.uint8 if is_uint8 else np.float32)
        return ImageBatches(X if lazy else images, self.input_scale_, check=lazy)

    def _to_images(self, decoded):
        """Decoded NCHW tensors -> images in the fitted layout and dtype family."""
        images = tensor_to_images(decoded) * self.input_scale_
        if self.input_dtype_ == np.uint8:
            images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
        return restore_layout(images, self.input_ndim_)
