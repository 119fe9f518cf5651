"""Multimode, intensity and deviation (Freeman et al. 2013; Peth et al. 2016)."""

import functools

import numpy as np
from scipy import ndimage, optimize

from ._apertures import ETA
from ._segmentation import CONNECTIVITY

#: Step of the coarse search over flux quantiles for the multimode.
_QUANTILE_STEP = 0.02
#: Boxcar that regularises the MID segment's outline, in pixels.
_SEGMENT_BOXCAR = 3
#: Smoothing before the intensity's watershed, in pixels.
_SMOOTHING = 1.0


def quantile(sorted_values, q):
    """The value at quantile ``q`` of an ascending array (the lower one)."""
    return sorted_values[int(q * (len(sorted_values) - 1))]


def _component(mask, pixel):
    """The 8-connected component of ``mask`` that holds ``pixel``."""
    labels, _ = ndimage.label(mask, structure=CONNECTIVITY)
    return labels == labels[pixel]


def mid_segment(flux, segment_values, brightest):
    """The MID segment: the pixels above the flux level where newly added
    pixels reach ``ETA`` times the mean of those already in, connected to the
    brightest pixel (Freeman et al. 2013, section 4.3).

    ``flux`` is non-negative and zero outside the galaxy's segment;
    ``segment_values`` its sorted values there. None when undefined.
    """

    def main_clump(q):
        return _component(flux >= quantile(segment_values, q), brightest)

    def excess(q):
        mean = flux[main_clump(q)].mean()
        return (1.0 if mean == 0 else quantile(segment_values, q) / mean) - ETA

    if len(segment_values) == 0 or excess(0.0) > 0:
        return None
    q = optimize.brentq(excess, 0.0, 1.0, xtol=1.0 / len(segment_values))
    smooth = ndimage.uniform_filter(main_clump(q).astype(np.float64), _SEGMENT_BOXCAR)
    segment = smooth > 0.5
    segment[brightest] = True
    return _component(segment, brightest)


def _clump_areas(flux, level):
    """Areas of the 8-connected clumps at or above ``level``, largest first."""
    labels, _ = ndimage.label(flux >= level, structure=CONNECTIVITY)
    return np.sort(np.bincount(labels.ravel())[1:])[::-1]


def _n_peaks(flux):
    """An upper bound on the number of positive regional maxima: a level's
    clumps each hold one, so below two the multimode is 0 at every level."""
    peaks = (flux > 0) & (flux == ndimage.maximum_filter(flux, size=3))
    return ndimage.label(peaks, structure=CONNECTIVITY)[1]


def multimode(flux, values):
    """``A2 / A1`` of the two largest clumps at the flux level that maximises
    ``A2**2 / A1`` (Freeman et al. 2013; Peth et al. 2016): near 1 for two
    nuclei of one size, 0 for one."""
    positive = flux > 0
    if not positive.any() or len(values) == 0 or _n_peaks(flux) < 2:
        return 0.0
    # Every level is at least 0 and at 0 all pixels form one clump, so the
    # clumps of any level lie in the box of the positive pixels.
    rows, cols = ndimage.find_objects(positive.astype(np.int8))[0]
    flux = flux[rows, cols]
    areas_at = functools.cache(lambda level: _clump_areas(flux, level))

    def score(q):
        areas = areas_at(quantile(values, q))
        return areas[1] ** 2 / areas[0] if len(areas) > 1 else -1.0

    step = _QUANTILE_STEP
    while True:
        grid = np.arange(0.0, 1.0, step)
        scores = np.array([score(q) for q in grid])
        if scores.max() > 0:
            break
        if step < 1e-3:
            return 0.0
        step /= 2
    best = grid[np.argmax(scores)]
    fine = np.clip(best + np.linspace(-step, step, 21), 0.0, 1.0)
    best = fine[np.argmax([score(q) for q in fine])]
    areas = areas_at(quantile(values, best))
    return areas[1] / areas[0]


def _basins(smooth):
    """Each positive pixel's local maximum, reached by steepest ascent over
    its 8 neighbours (a watershed of ``-smooth`` from every peak)."""
    height, width = smooth.shape
    inside = smooth > 0
    # Ranks break ties, so every ascent ends at one pixel.
    rank = np.empty(smooth.size, dtype=np.int64)
    rank[np.argsort(smooth, axis=None, kind="stable")] = np.arange(smooth.size)
    rank = np.where(inside.ravel(), rank, -1).reshape(height, width)
    padded = np.pad(rank, 1, constant_values=-1)
    index = np.arange(smooth.size).reshape(height, width)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    neighbours = np.stack(
        [padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in shifts]
    )
    step = np.argmax(neighbours, axis=0)
    offsets = np.array([dy * width + dx for dy, dx in shifts])
    target = (index + offsets[step]).ravel()
    # Pixels outside stay put: their ascent would wander among the -1 ranks.
    target[~inside.ravel()] = index.ravel()[~inside.ravel()]
    while True:
        jumped = target[target]
        if np.array_equal(jumped, target):
            break
        target = jumped
    return np.where(inside.ravel(), target, -1).reshape(height, width)


def intensity_and_deviation(flux, segment):
    """Intensity: the flux of the second-brightest watershed region over the
    brightest's; deviation: the distance from the flux centroid to the
    brightest region's peak, in units of ``sqrt(area / pi)`` of the MID
    segment (Peth et al. 2016)."""
    smooth = ndimage.gaussian_filter(flux, _SMOOTHING)
    basins = _basins(smooth).ravel()
    owned = basins >= 0
    sums = np.bincount(
        basins[owned], weights=smooth.ravel()[owned], minlength=flux.size
    )
    peaks = np.flatnonzero(sums)
    if len(peaks) == 0:
        return 0.0, np.nan
    order = peaks[np.argsort(sums[peaks])[::-1]]
    intensity = sums[order[1]] / sums[order[0]] if len(order) > 1 else 0.0
    total = flux.sum()
    if total <= 0:
        return intensity, np.nan
    yy, xx = np.indices(flux.shape)
    yc, xc = (flux * yy).sum() / total, (flux * xx).sum() / total
    peak_y, peak_x = divmod(order[0], flux.shape[1])
    distance = np.hypot(peak_x - xc, peak_y - yc)
    return intensity, np.sqrt(np.pi / segment.sum()) * distance
