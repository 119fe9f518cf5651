"""The image-array contract shared by every estimator (private).

Public image layout is NHWC ``(n_samples, height, width, channels)``. Flat 2-D
input ``(n_samples, height * width * channels)`` is accepted too, so that
pipelines, pandas and scikit-learn's common checks work; its image shape comes
from the estimator's ``image_shape`` parameter or from :func:`infer_image_shape`.
Conversion to float32 NCHW tensors happens only at the torch boundary
(:func:`images_to_tensor`).
"""

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "infer_image_shape",
    "validate_images",
    "images_to_tensor",
    "tensor_to_images",
    "restore_layout",
    "input_ndim",
]


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


def as_float_images(X):
    """Keep float32/float64; every other numeric dtype becomes float32."""
    if X.dtype in (np.float32, np.float64):
        return X
    return X.astype(np.float32)


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
        float32 or float64 (float input keeps its dtype, other input becomes
        float32); a view or a copy, never to be written to.
    """
    ndim = _ndim(X)
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
            estimator, X.reshape(len(X), -1), reset=reset, dtype="numeric"
        )
    elif ndim in (0, 1, 2):
        flat = validate_data(
            estimator, X, reset=reset, dtype="numeric", ensure_min_samples=min_samples
        )
        if reset:
            shape = (
                infer_image_shape(flat.shape[1])
                if image_shape is None
                else _check_image_shape(image_shape, flat.shape[1])
            )
        else:
            shape = estimator.image_shape_
    else:
        raise ValueError(
            "Expected images as a 4-D array (n_samples, height, width, channels) "
            f"or a 2-D array (n_samples, n_features); got a {ndim}-D array. "
            "Add a channel axis to single-band images with X[..., np.newaxis]."
        )
    if reset:
        estimator.image_shape_ = tuple(int(v) for v in shape)
        estimator.input_ndim_ = 4 if ndim == 4 else 2
    return as_float_images(flat).reshape((len(flat), *estimator.image_shape_))


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


def images_to_tensor(images):
    """Convert NHWC numpy images to a contiguous float32 NCHW torch tensor."""
    nchw = np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)), dtype=np.float32)
    return torch.from_numpy(nchw)


def tensor_to_images(tensor):
    """Convert an NCHW torch tensor to NHWC float32 numpy images on the CPU."""
    return tensor.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
