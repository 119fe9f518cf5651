"""The sky, the galaxy's segment and its postage stamp, as statmorph sees them.

The segment and the pixels of other sources are what a user hands to
statmorph (Rodriguez-Gomez et al. 2019) as a segmentation map; the stamp, the
sky box and the bad pixels follow statmorph's own rules, so that every
statistic is measured on the same pixels.
"""

import numpy as np
from scipy import ndimage

#: 8-connected neighbours, as photutils and statmorph grow regions.
CONNECTIVITY = ndimage.generate_binary_structure(2, 2)
#: Fewest pixels a detected source holds (photutils' ``npixels``).
MIN_PIXELS = 5
#: The stamp spans this many times the segment's extent, and at least
#: ``_MIN_STAMP`` pixels (statmorph's ``cutout_extent``, ``min_cutout_size``).
_STAMP_EXTENT = 2.5
_MIN_STAMP = 48
#: Largest side of the sky box (statmorph's ``skybox_size``).
SKY_BOX = 32
#: A pixel further than this many local standard deviations from its
#: neighbours' mean is a bad pixel (statmorph's ``n_sigma_outlier``).
_OUTLIER_SIGMA = 10
_NEIGHBOURS = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64) / 8


def border_pixels(array, width):
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


def border_width(height, width):
    """Width of the border that samples the sky: an eighth of the side, 1 to 4."""
    return max(1, min(4, min(height, width) // 8))


def subtract_sky(luminance, border):
    """Flux above the border's median, and the noise (scaled MAD, floored)."""
    pixels = border_pixels(luminance, border)
    level = np.median(pixels, axis=1)
    noise = 1.4826 * np.median(np.abs(pixels - level[:, None]), axis=1)
    flux = luminance - level[:, None, None]
    # A noiseless sky would make every faint pixel part of the galaxy.
    floor = 1e-3 * np.abs(flux).max(axis=(1, 2)) + 1e-12
    return flux, np.maximum(noise, floor)


def detect(flux, cut):
    """Segmentation map of one image: the galaxy's segment and other sources.

    Sources are the 8-connected regions of at least ``MIN_PIXELS`` pixels
    whose 3x3-smoothed flux exceeds ``cut``. The galaxy's is the one holding
    the brightest smoothed pixel within the central quarter of the cutout
    (cutouts are centred on their galaxy); without one, the galaxy is that
    pixel alone.

    Returns
    -------
    segment, others : ndarray of bool
    """
    smooth = ndimage.uniform_filter(flux, size=3)
    labels, n_labels = ndimage.label(smooth > cut, structure=CONNECTIVITY)
    sizes = np.bincount(labels.ravel(), minlength=n_labels + 1)
    labels[sizes[labels] < MIN_PIXELS] = 0
    height, width = flux.shape
    half = min(height, width) // 8
    # The box is symmetric about the middle, so every turn of an image finds
    # the same source.
    top, left = (height - 1) // 2 - half, (width - 1) // 2 - half
    box = np.s_[top : height - top, left : width - left]
    row, col = np.unravel_index(np.argmax(smooth[box]), smooth[box].shape)
    label = labels[box][row, col]
    if label:
        segment = labels == label
    else:
        segment = np.zeros(flux.shape, dtype=bool)
        segment.flat[np.argmax(smooth)] = True
    return segment, (labels != 0) & ~segment


def stamp_slice(segment):
    """statmorph's postage stamp: the segment's box, enlarged about its middle."""
    rows, cols = ndimage.find_objects(segment.astype(np.int8))[0]
    dy, dx = rows.stop - rows.start, cols.stop - cols.start
    yc, xc = rows.start + dy // 2, cols.start + dx // 2
    half = max(int(max(dx, dy) * _STAMP_EXTENT / 2), _MIN_STAMP // 2)
    height, width = segment.shape
    return np.s_[max(0, yc - half) : min(height, yc + half),
                 max(0, xc - half) : min(width, xc + half)]  # fmt: skip


def bad_pixels(image):
    """Pixels far from the mean of their 8 neighbours (Lotz et al. 2004)."""
    mean = ndimage.correlate(image, _NEIGHBOURS, mode="nearest")
    square = ndimage.correlate(image**2, _NEIGHBOURS, mode="nearest")
    spread = np.sqrt(np.maximum(square - mean**2, 0.0))
    return np.abs(image - mean) > _OUTLIER_SIGMA * spread


def sky_box(occupied, size=SKY_BOX):
    """The first square (row by row) holding no source, halving its side
    until one fits; None when none of side 2 does."""
    height, width = occupied.shape
    integral = np.zeros((height + 1, width + 1))
    integral[1:, 1:] = occupied.cumsum(axis=0).cumsum(axis=1)
    while size >= 2:
        # statmorph's search stops one short of the last position.
        n_rows, n_cols = height - size, width - size
        if n_rows > 0 and n_cols > 0:
            counts = (
                integral[size : size + n_rows, size : size + n_cols]
                - integral[:n_rows, size : size + n_cols]
                - integral[size : size + n_rows, :n_cols]
                + integral[:n_rows, :n_cols]
            )
            free = np.argwhere(counts == 0)
            if len(free):
                row, col = free[0]
                return np.s_[row : row + size, col : col + size]
        size //= 2
    return None
