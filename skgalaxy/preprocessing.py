"""Preprocessing of galaxy images."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._images import input_ndim, restore_layout, validate_images
from ._sky import border_mask

__all__ = ["ArcsinhScaler"]

#: Robust standard deviations of the sky per softening with softening="auto".
SKY_SIGMAS = 1.0

#: Images converted at a time: the float work never holds more than the
#: output and one chunk.
_CHUNK = 1024


def _work_dtype(images):
    """Float input keeps its dtype; any other is computed in float32."""
    return images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)


def _apply_chunked(images, function):
    """``function`` of each chunk of ``images``, in float, into one output array."""
    dtype = _work_dtype(images)
    out = np.empty(images.shape, dtype=dtype)
    with np.errstate(over="ignore"):
        for start in range(0, len(images), _CHUNK):
            chunk = images[start : start + _CHUNK].astype(dtype, copy=False)
            out[start : start + _CHUNK] = function(chunk)
    if not np.isfinite(out).all():
        raise ValueError(
            "ArcsinhScaler overflows on these images (values far beyond those "
            "seen in fit?): the result would not be finite."
        )
    return out


class ArcsinhScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Arcsinh stretch followed by per-channel maximum normalisation.

    The astronomers' recipe for survey cutouts: ``arcsinh(X / softening)``
    compresses the dynamic range of bright cores while keeping faint outskirts
    linear, then each channel is divided by the largest absolute value it takes
    on the training data, so non-negative training images lie in [0, 1] per
    channel. The transform is exactly invertible.

    Read more in the :doc:`User Guide </user_guide/data>`.

    Parameters
    ----------
    softening : float or "auto", default=20.0
        Flux (in input units) below which the stretch is linear. "auto":
        per band, ``SKY_SIGMAS`` times the robust standard deviation of the
        sky (1.4826 times the median absolute deviation of the pixels of the
        images' borders), after Lupton et al. 2004: the stretch is linear
        within the noise and logarithmic above it, whatever the units (for
        flux-calibrated FITS cutouts). The default suits 8-bit images.

        .. versionchanged:: 0.2
           "auto" was added.
    per_channel : bool, default=True
        Normalise each channel by its own maximum; if False, use one maximum
        over all channels (keeps colour ratios).
    image_shape : tuple of int (height, width, channels) or None, default=None
        Shape of the images when ``X`` is given flat as ``(n_samples,
        height * width * channels)``. If None, it is read from 4-D input or
        inferred from the number of features (``3 * s**2`` features are
        ``(s, s, 3)`` images, ``s**2`` are ``(s, s, 1)``, anything else one
        channel per feature).

    Attributes
    ----------
    softening_ : ndarray of shape (n_channels,)
        The softening of each channel.
    scale_ : ndarray of shape (n_channels,)
        The divisor of each channel after the stretch.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame passed to ``fit``, if it had string names.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.preprocessing import ArcsinhScaler
    >>> X = np.random.default_rng(0).uniform(0, 255, size=(10, 8, 8, 3))
    >>> scaler = ArcsinhScaler().fit(X)
    >>> Xt = scaler.transform(X)
    >>> Xt.shape, bool(Xt.max() <= 1.0)
    ((10, 8, 8, 3), True)
    >>> bool(np.allclose(scaler.inverse_transform(Xt), X))
    True
    """

    _parameter_constraints = {
        "softening": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "per_channel": ["boolean"],
        "image_shape": [tuple, list, None],
    }

    def __init__(self, softening=20.0, per_channel=True, image_shape=None):
        self.softening = softening
        self.per_channel = per_channel
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the per-channel maximum of the stretched training images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Training images (uint8 or float).
        y : None
            Ignored.

        Returns
        -------
        self : ArcsinhScaler
            The fitted scaler.
        """
        images = validate_images(self, X, reset=True, image_shape=self.image_shape)
        # arcsinh is odd and increasing: the stretched peak is that of the
        # peak, computed in the dtype transform works in.
        dtype = _work_dtype(images)
        largest = np.maximum(
            images.max(axis=(0, 1, 2)).astype(dtype),
            -images.min(axis=(0, 1, 2)).astype(dtype),
        )
        if self.softening == "auto":
            softening = SKY_SIGMAS * sky_sigma(images)
        else:
            softening = np.full(images.shape[-1], float(self.softening))
            _warn_if_linear(images, largest, self.softening)
        self.softening_ = softening
        with np.errstate(over="ignore", divide="ignore"):
            peak = np.arcsinh(largest / softening.astype(dtype))
        if not np.isfinite(peak).all():
            raise ValueError(
                f"softening={self.softening!r} is too small for these images: "
                "X / softening overflows. Use a softening near the noise level of "
                "the images (the default is 20)."
            )
        if not self.per_channel:
            peak = np.full_like(peak, peak.max())
        self.scale_ = np.where(peak > 0, peak, 1.0).astype(np.float64)
        return self

    def transform(self, X):
        """Stretch and normalise images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        X_scaled : ndarray of the same shape as ``X``
            The stretched images: float32 for integer input, otherwise the
            dtype of ``X``.
        """
        check_is_fitted(self)
        images = validate_images(self, X, reset=False)

        def stretch(chunk):
            softening = self._softening().astype(chunk.dtype)
            return np.arcsinh(chunk / softening) / self.scale_.astype(chunk.dtype)

        return restore_layout(_apply_chunked(images, stretch), input_ndim(X))

    def inverse_transform(self, X):
        """Undo :meth:`transform` exactly (up to floating point).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Scaled images.

        Returns
        -------
        X_original : ndarray of the same shape as ``X``
            The images before :meth:`transform`.
        """
        check_is_fitted(self)
        images = validate_images(self, X, reset=False)

        def unstretch(chunk):
            softening = self._softening().astype(chunk.dtype)
            return np.sinh(chunk * self.scale_.astype(chunk.dtype)) * softening

        return restore_layout(_apply_chunked(images, unstretch), input_ndim(X))

    def _softening(self):
        # Models saved before softening_ existed hold a number only.
        if hasattr(self, "softening_"):
            return np.asarray(self.softening_, dtype=np.float64)
        return np.full(len(self.scale_), float(self.softening))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def sky_sigma(images):
    """Per band, the robust standard deviation of the pixels of the borders.

    1.4826 times their median absolute deviation (the standard deviation of
    Gaussian noise): the sky's noise where the galaxy is centred. A band
    whose border is constant falls back to all its pixels, then to 1e-3 of
    its largest absolute value, then to 1.
    """
    border = border_mask(*images.shape[1:3])
    sigmas = []
    for band in range(images.shape[-1]):
        plane = images[..., band]
        sigma = 0.0
        for values in (plane[:, border], plane):
            values = values.astype(np.float64).ravel()
            sigma = 1.4826 * np.median(np.abs(values - np.median(values)))
            if sigma > 0:
                break
        if not sigma > 0:
            sigma = 1e-3 * float(np.abs(plane).max()) or 1.0
        sigmas.append(sigma)
    return np.array(sigmas)


def _warn_if_linear(images, largest, softening):
    """Warn when float images lie so far below ``softening`` that it is linear."""
    if images.dtype.kind != "f" or not largest.max() < 1e-2 * softening:
        return
    warnings.warn(
        f"The images' values (at most {largest.max():.3g}) lie far below "
        f"softening={softening!r}: the stretch is linear on them. For flux, use "
        "softening='auto' (a multiple of each band's sky noise).",
        UserWarning,
        stacklevel=4,
    )
