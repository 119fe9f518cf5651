"""Non-parametric morphology of galaxy images: what astronomers measure by hand."""

from numbers import Real

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._images import validate_images

__all__ = ["MorphologyTransformer"]

#: Images measured at a time: memory stays a few dozen of their copies.
_CHUNK = 256
#: The statistics of every image, in the order of ``transform``'s columns.
_STATISTICS = (
    "asymmetry",
    "outer_asymmetry",
    "shape_asymmetry",
    "concentration",
    "gini",
    "m20",
    "smoothness",
    "second_peak",
    "ellipticity",
    "log_half_light_radius",
)
#: Rolls of the 180° rotated image tried for the asymmetry centre: the centre
#: moves by half a roll, so +-4 pixels of roll search +-2 pixels around the
#: middle of the cutout.
_ROLLS = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)]
_TINY = 1e-12


class MorphologyTransformer(TransformerMixin, BaseEstimator):
    """Asymmetry, concentration, Gini, M20 and colours of each galaxy image.

    The non-parametric morphology that astronomers use to find mergers and
    disturbed galaxies (Conselice 2003; Lotz, Primack & Madau 2004; Pawlik et
    al. 2016), measured on every image without training: a few interpretable
    numbers per galaxy that a linear model, an outlier detector or
    :class:`~skgalaxy.AHUNTDetector` can use as they are, or beside learnt
    embeddings.

    Each image is averaged over its channels; the background level and noise
    are the median and scaled median absolute deviation of the border pixels.
    The galaxy's segment is the connected region above ``threshold`` times the
    noise (after a 3x3 box smoothing) that holds the brightest pixel near the
    middle of the cutout (cutouts are centred on their galaxy). Then, on the
    background-subtracted flux inside the segment:

    - ``asymmetry``: ``sum|I - I_180| / (2 sum|I|)`` for the rotation centre
      within 2 pixels of the middle that minimises it (0 symmetric, 1 not at
      all); ``outer_asymmetry`` the same outside the half-light radius, where
      tidal features lie; ``shape_asymmetry`` the same of the segment's mask;
    - ``concentration``: ``5 log10(r80 / r20)`` of the radii about that centre
      holding 20 % and 80 % of the flux; ``log_half_light_radius``: log10 of
      the radius holding half of it, in pixels;
    - ``gini``: inequality of the pixel fluxes (0 all equal, 1 one pixel holds
      all); ``m20``: log10 of the second moment of the brightest pixels that
      hold 20 % of the flux, relative to the total second moment;
    - ``smoothness``: flux above the 3x3-smoothed image, relative to the total
      (clumpiness); ``second_peak``: height of the second-highest local peak
      over the highest (0 for one nucleus, near 1 for two equal ones);
      ``ellipticity``: ``1 - b/a`` of the flux's second moments;
    - with several channels, ``colour_i_j``: ``-2.5 log10`` of the ratio of
      the segment's flux in channel ``i`` to that in the next channel ``j``.

    The measures are those of linear flux; a stretched image (e.g. by
    :class:`~skgalaxy.ArcsinhScaler`) gives other values, so this transformer
    goes on the images as observed. Every value is finite: an image without a
    source above the threshold is measured on its brightest pixel.

    Read more in the :doc:`User Guide </user_guide/embed>`.

    Parameters
    ----------
    threshold : float, default=2.0
        Segmentation threshold, in units of the background noise.
    image_shape : tuple of int (height, width, channels) or None, default=None
        Shape of the images when ``X`` is given flat; see
        :class:`~skgalaxy.ArcsinhScaler`.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame passed to ``fit``, if it had string names.

    See Also
    --------
    skgalaxy.ContrastiveTransformer : Learnt embeddings of galaxy images.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy import MorphologyTransformer
    >>> yy, xx = np.mgrid[:32, :32]
    >>> disc = np.exp(-np.hypot(yy - 15.5, xx - 15.5) / 3)
    >>> pair = disc + np.exp(-np.hypot(yy - 15.5, xx - 24) / 2)
    >>> X = np.stack([disc, pair])[..., np.newaxis] * 100
    >>> morphology = MorphologyTransformer().fit(X)
    >>> features = morphology.transform(X)
    >>> names = list(morphology.get_feature_names_out())
    >>> asymmetry = features[:, names.index("asymmetry")]
    >>> bool(asymmetry[0] < 0.05 < asymmetry[1])
    True
    """

    _parameter_constraints = {
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "image_shape": [tuple, list, None],
    }

    def __init__(self, *, threshold=2.0, image_shape=None):
        self.threshold = threshold
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and remember their shape; nothing is learnt.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images (uint8 or float), linear flux.
        y : None
            Ignored.

        Returns
        -------
        self : MorphologyTransformer
            The fitted transformer.
        """
        validate_images(self, X, reset=True, image_shape=self.image_shape)
        return self

    def transform(self, X):
        """Measure the morphology of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            One row per image, the columns of :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        return measure_morphology(validate_images(self, X, reset=False), self.threshold)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the measured statistics.

        Parameters
        ----------
        input_features : None
            Ignored: the statistics do not depend on the input's names.

        Returns
        -------
        feature_names_out : ndarray of str
            The statistics, then a colour per pair of adjacent channels.
        """
        check_is_fitted(self)
        n_channels = self.image_shape_[2]
        colours = [f"colour_{i}_{i + 1}" for i in range(n_channels - 1)]
        return np.asarray([*_STATISTICS, *colours], dtype=object)


def measure_morphology(images, threshold=2.0):
    """The statistics of validated NHWC images (see :class:`MorphologyTransformer`).

    Measured a chunk at a time, so memory holds a few dozen copies of a
    chunk, not of the data.
    """
    return np.concatenate(
        [
            _measure(images[start : start + _CHUNK], threshold)
            for start in range(0, len(images), _CHUNK)
        ]
    )


def _measure(images, threshold):
    """The statistics of a chunk of NHWC images, one row each."""
    images = images.astype(np.float64)
    height, width = images.shape[1:3]
    border = max(1, min(4, min(height, width) // 8))
    flux, noise = _subtract_background(images.mean(axis=3), border)
    smooth = ndimage.uniform_filter(flux, size=(1, 3, 3))
    segment = _main_segment(smooth, threshold * noise)
    inside = np.where(segment, flux, 0.0)
    asymmetry, rolls = _asymmetry(inside)
    radius = _radii(
        np.c_[(height - 1 + rolls[:, 0]) / 2, (width - 1 + rolls[:, 1]) / 2],
        height,
        width,
    )
    positive = np.maximum(inside, 0.0)
    centroids = _centroids(positive)
    r20, r50, r80 = (_radius_holding(positive, radius, q) for q in (0.2, 0.5, 0.8))
    outer = np.where(radius > r50[:, None, None], inside, 0.0)
    mask = segment.astype(np.float64)
    statistics = np.c_[
        asymmetry,
        _rotation_difference(outer, rolls),
        _rotation_difference(mask, rolls),
        5 * np.log10(r80 / r20),
        _gini(inside, segment),
        _m20(positive, centroids),
        np.maximum(inside - np.where(segment, smooth, 0.0), 0).sum(axis=(1, 2))
        / (np.abs(inside).sum(axis=(1, 2)) + _TINY),
        _second_peak(smooth, segment),
        _ellipticity(positive, centroids),
        np.log10(r50),
    ]
    return np.c_[statistics, _colours(images, segment, border)]


def _border_pixels(array, width):
    """The pixels within ``width`` of the edge, per image: (n, n_pixels, ...)."""
    n = len(array)
    rest = array.shape[3:]
    return np.concatenate(
        [
            array[:, :width].reshape(n, -1, *rest),
            array[:, -width:].reshape(n, -1, *rest),
            array[:, :, :width].reshape(n, -1, *rest),
            array[:, :, -width:].reshape(n, -1, *rest),
        ],
        axis=1,
    )


def _subtract_background(luminance, border):
    """Flux above the border's median, and the noise (scaled MAD, floored)."""
    pixels = _border_pixels(luminance, border)
    level = np.median(pixels, axis=1)
    noise = 1.4826 * np.median(np.abs(pixels - level[:, None]), axis=1)
    flux = luminance - level[:, None, None]
    # A noiseless background would make every faint pixel part of the galaxy.
    floor = 1e-3 * np.abs(flux).max(axis=(1, 2)) + _TINY
    return flux, np.maximum(noise, floor)


def _main_segment(smooth, cut):
    """Mask of the connected region above ``cut`` holding the central peak."""
    n, height, width = smooth.shape
    above = smooth > cut[:, None, None]
    segment = np.zeros_like(above)
    half = min(height, width) // 8
    # The box is symmetric about the middle, so every turn of an image finds
    # the same peak.
    top, left = (height - 1) // 2 - half, (width - 1) // 2 - half
    rows, cols = slice(top, height - top), slice(left, width - left)
    for i in range(n):
        labels, _ = ndimage.label(above[i])
        central = labels[rows, cols]
        label = central.flat[np.argmax(smooth[i, rows, cols])]
        if label:
            segment[i] = labels == label
        else:  # nothing above the cut: the brightest pixel alone
            segment[i].flat[np.argmax(smooth[i])] = True
    return segment


def _rotated(array, roll):
    """``array`` turned by 180° about its middle shifted by ``roll / 2``."""
    return np.roll(array[:, ::-1, ::-1], roll, axis=(1, 2))


def _asymmetry(inside):
    """Smallest rotational asymmetry over the centres tried, and its roll."""
    total = 2 * np.abs(inside).sum(axis=(1, 2)) + _TINY
    best = np.full(len(inside), np.inf)
    best_roll = np.zeros((len(inside), 2), dtype=int)
    for roll in _ROLLS:
        value = np.abs(inside - _rotated(inside, roll)).sum(axis=(1, 2)) / total
        better = value < best
        best[better] = value[better]
        best_roll[better] = roll
    return best, best_roll


def _rotation_difference(array, rolls):
    """Rotational asymmetry of ``array`` about each image's own centre."""
    turned = np.empty_like(array)
    for roll in np.unique(rolls, axis=0):
        rows = np.all(rolls == roll, axis=1)
        turned[rows] = _rotated(array[rows], tuple(roll))
    total = 2 * np.abs(array).sum(axis=(1, 2)) + _TINY
    return np.abs(array - turned).sum(axis=(1, 2)) / total


def _offsets(centres, height, width):
    """Row and column offsets of every pixel from each image's centre."""
    yy, xx = np.mgrid[0:height, 0:width]
    return yy[None] - centres[:, 0, None, None], xx[None] - centres[:, 1, None, None]


def _radii(centres, height, width):
    """Distance of every pixel to each image's centre, at least half a pixel."""
    return np.maximum(np.hypot(*_offsets(centres, height, width)), 0.5)


def _radius_holding(flux, radius, fraction):
    """Smallest pixel radius whose disc holds ``fraction`` of each image's flux."""
    n = len(flux)
    flux, radius = flux.reshape(n, -1), radius.reshape(n, -1)
    order = np.argsort(radius, axis=1)
    held = np.cumsum(np.take_along_axis(flux, order, axis=1), axis=1)
    first = np.argmax(held >= fraction * held[:, -1:], axis=1)
    return np.take_along_axis(radius, order, axis=1)[np.arange(n), first]


def _gini(inside, segment):
    """Gini coefficient of the absolute fluxes of each segment's pixels."""
    n = len(inside)
    values = np.sort(np.abs(inside).reshape(n, -1), axis=1)  # zeros first
    count = segment.reshape(n, -1).sum(axis=1)
    # Rank within the segment (1-based): its pixels are the last ``count``.
    rank = np.arange(1, values.shape[1] + 1)[None] - (values.shape[1] - count)[:, None]
    weighted = ((2 * rank - count[:, None] - 1) * values).sum(axis=1)
    norm = values.sum(axis=1) * (count - 1)
    return np.where(count > 1, weighted / np.maximum(norm, _TINY), 0.0)


def _centroids(flux):
    """Flux-weighted (row, column) centre of each image."""
    height, width = flux.shape[1:]
    yy, xx = np.mgrid[0:height, 0:width]
    total = flux.sum(axis=(1, 2)) + _TINY
    return np.c_[
        (flux * yy).sum(axis=(1, 2)) / total, (flux * xx).sum(axis=(1, 2)) / total
    ]


def _m20(flux, centroids):
    """log10 of the brightest 20 %'s second moment over the total one."""
    n, height, width = flux.shape
    moment = flux * _radii(centroids, height, width) ** 2
    flat = flux.reshape(n, -1)
    brightest = -np.sort(-flat, axis=1)
    held = np.cumsum(brightest, axis=1)
    crossing = np.argmax(held >= 0.2 * held[:, -1:], axis=1)
    # Every pixel as bright as the one that crosses 20 % of the flux: ties
    # (uint8 images have many) do not depend on the order of the pixels.
    faintest = brightest[np.arange(n), crossing]
    keep = (flux >= faintest[:, None, None]) & (flux > 0)
    top = (moment * keep).sum(axis=(1, 2))
    return np.log10(np.maximum(top, _TINY) / np.maximum(moment.sum(axis=(1, 2)), _TINY))


def _second_peak(smooth, segment):
    """Height of the highest local peak in the segment, 3 pixels or more from
    the brightest pixel, over the brightest (the plateau of one nucleus has
    several local maxima side by side)."""
    n, height, width = smooth.shape
    inside = np.where(segment, smooth, -np.inf)
    first = np.argmax(inside.reshape(n, -1), axis=1)
    centres = np.c_[first // width, first % width].astype(np.float64)
    far = _radii(centres, height, width) >= 3
    peaks = (smooth == ndimage.maximum_filter(smooth, size=(1, 5, 5))) & segment
    second = np.where(peaks & far, smooth, 0.0).max(axis=(1, 2))
    top = smooth.reshape(n, -1)[np.arange(n), first]
    return np.clip(second / np.maximum(top, _TINY), 0.0, 1.0)


def _ellipticity(flux, centroids):
    """``1 - b/a`` of the flux's second moments about ``centroids``."""
    dy, dx = _offsets(centroids, *flux.shape[1:])
    total = flux.sum(axis=(1, 2)) + _TINY
    myy, mxx, mxy = (
        (flux * a * b).sum(axis=(1, 2)) / total
        for a, b in ((dy, dy), (dx, dx), (dx, dy))
    )
    mean, det = (myy + mxx) / 2, myy * mxx - mxy**2
    spread = np.sqrt(np.maximum(mean**2 - det, 0.0))
    major, minor = mean + spread, np.maximum(mean - spread, 0.0)
    return 1 - np.sqrt(minor / np.maximum(major, _TINY))


def _colours(images, segment, border):
    """``-2.5 log10`` of the segment's flux ratio of adjacent channels."""
    level = np.median(_border_pixels(images, border), axis=1)
    above = images - level[:, None, None, :]
    flux = (above * segment[..., None]).sum(axis=(1, 2))
    floor = 1e-6 * (np.abs(above).max(axis=(1, 2, 3)) + 1.0)
    flux = np.maximum(flux, floor[:, None])
    return -2.5 * np.log10(flux[:, :-1] / flux[:, 1:])
