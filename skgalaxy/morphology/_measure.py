"""The statistics of many images: the sky, the segments, a galaxy at a time."""

import numpy as np
from scipy import ndimage
from sklearn.utils.parallel import Parallel, delayed

from ._galaxy import Galaxy
from ._segmentation import border_pixels, border_width, detect, subtract_sky

#: Images measured at a time: memory holds a few copies of a chunk.
_CHUNK = 256
#: The statistics of every image, in the order of ``transform``'s columns,
#: each with the value it takes where it is undefined (e.g. no flux above
#: the sky).
STATISTICS = {
    "asymmetry": 0.0,
    "outer_asymmetry": 0.0,
    "shape_asymmetry": 0.0,
    "concentration": 0.0,
    "smoothness": 0.0,
    "gini": 0.0,
    "m20": 0.0,
    "gini_m20_merger": 0.0,
    "gini_m20_bulge": 0.0,
    "multimode": 0.0,
    "intensity": 0.0,
    "deviation": 0.0,
    "ellipticity": 0.0,
    "log_half_light_radius": np.log10(0.5),
    "second_peak": 0.0,
}
#: The two peaks of ``second_peak`` lie at least this many pixels apart.
_PEAK_SEPARATION = 3


def measure_morphology(images, threshold=2.0, n_jobs=None):
    """The statistics of validated NHWC images (see :class:`MorphologyTransformer`).

    Measured a chunk at a time, so memory holds a few copies of a chunk,
    not of the data; ``n_jobs`` processes measure chunks side by side
    (joblib's meaning: None is 1, -1 every core).
    """
    n_channels = images.shape[3]
    if len(images) == 0:
        return np.empty((0, len(STATISTICS) + n_channels - 1))
    chunks = (images[start : start + _CHUNK] for start in range(0, len(images), _CHUNK))
    if len(images) <= _CHUNK:
        n_jobs = None  # one chunk: a worker process would only add its start-up
    rows = Parallel(n_jobs=n_jobs)(delayed(_measure)(c, threshold) for c in chunks)
    return np.concatenate(rows)


def _measure(images, threshold):
    """The statistics of a chunk of NHWC images, one row each."""
    images = images.astype(np.float64)
    border = border_width(*images.shape[1:3])
    flux, noise = subtract_sky(images.mean(axis=3), border)
    segments = np.empty(flux.shape, dtype=bool)
    rows = []
    with np.errstate(all="ignore"):
        for i in range(len(images)):
            segments[i], others = detect(flux[i], threshold * noise[i])
            rows.append(galaxy_statistics(Galaxy(flux[i], segments[i], others)))
    statistics = np.array(rows)
    defaults = np.array(list(STATISTICS.values()))
    statistics = np.where(np.isfinite(statistics), statistics, defaults)
    return np.c_[statistics, _colours(images, segments, border)]


def galaxy_statistics(galaxy):
    """The values of :data:`STATISTICS` for one :class:`Galaxy`, NaN where
    undefined."""
    gini, m20 = galaxy.gini, galaxy.m20
    return [
        galaxy.asymmetry,
        galaxy.outer_asymmetry,
        galaxy.shape_asymmetry,
        galaxy.concentration,
        galaxy.smoothness,
        gini,
        m20,
        # Rodriguez-Gomez et al. 2019 (after Lotz et al. 2008 and Snyder et al. 2015).
        0.139 * m20 + 0.990 * gini - 0.327,
        -0.693 * m20 + 4.95 * gini - 3.96,
        galaxy.multimode,
        galaxy.intensity,
        galaxy.deviation,
        galaxy.ellipticity,
        np.log10(galaxy.half_light_radius),
        _second_peak(galaxy.image, galaxy.segment),
    ]


def _second_peak(image, segment):
    """Height of the highest local peak of the 3x3-smoothed segment, a few
    pixels or more from its brightest pixel, over the brightest (the plateau
    of one nucleus has several local maxima side by side)."""
    smooth = ndimage.uniform_filter(image, 3)
    inside = np.where(segment, smooth, -np.inf)
    row, col = np.unravel_index(np.argmax(inside), image.shape)
    yy, xx = np.indices(image.shape)
    far = np.hypot(yy - row, xx - col) >= _PEAK_SEPARATION
    peaks = (smooth == ndimage.maximum_filter(smooth, size=5)) & segment & far
    top = smooth[row, col]
    if top <= 0 or not peaks.any():
        return 0.0
    return float(np.clip(smooth[peaks].max() / top, 0.0, 1.0))


def _colours(images, segment, border):
    """``-2.5 log10`` of the segment's flux ratio of adjacent channels."""
    level = np.median(border_pixels(images, border), axis=1)
    above = images - level[:, None, None, :]
    flux = (above * segment[..., None]).sum(axis=(1, 2))
    floor = 1e-6 * (np.abs(above).max(axis=(1, 2, 3)) + 1.0)
    flux = np.maximum(flux, floor[:, None])
    return -2.5 * np.log10(flux[:, :-1] / flux[:, 1:])
