"""Rotational asymmetry: an image against itself turned by 180 degrees."""

import math

import numpy as np
from scipy import optimize

#: Returned where no asymmetry is defined, so that a minimiser moves away.
_OUT_OF_RANGE = 100.0


class Symmetry:
    """An image and its mask, compared with themselves turned about any centre.

    Turning is bilinear between pixels and zero beyond the edge, as
    ``skimage.transform.rotate(image, 180, center=centre)`` computes it.

    Parameters
    ----------
    image : ndarray of shape (height, width)
        Flux, zero on masked pixels.
    mask : ndarray of bool, shape (height, width)
        Pixels that count in no asymmetry.
    """

    def __init__(self, image, mask):
        self.shape = image.shape
        height, width = self.shape
        self._masked = bool(mask.any())
        layers = [image, mask.astype(np.float64)] if self._masked else [image]
        # padded[:, p, q] is the unturned pixel (2 height - p, 2 width - q).
        self._padded = np.pad(
            np.stack(layers)[:, ::-1, ::-1],
            ((0, 0), (height + 1, height + 1), (width + 1, width + 1)),
        )
        self._image, self._mask = image, mask

    def _box(self, centre, reach):
        """The rows and columns within ``reach`` of ``centre``, in the image."""
        (x, y), (height, width) = centre, self.shape
        rows = slice(
            max(0, math.floor(y - reach)), min(height, math.floor(y + reach) + 1)
        )
        cols = slice(
            max(0, math.floor(x - reach)), min(width, math.floor(x + reach) + 1)
        )
        return rows, cols

    def turned(self, centre, box=None):
        """The image, and the mask if there is one, turned by 180° about
        ``centre = (x, y)`` over ``box`` (all of it by default), stacked."""
        rows, cols = box or (slice(0, self.shape[0]), slice(0, self.shape[1]))
        n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
        source_y, source_x = 2 * centre[1], 2 * centre[0]
        row, col = math.floor(source_y), math.floor(source_x)
        fy, fx = source_y - row, source_x - col
        # Bilinear: each turned pixel's source lies between the window's
        # pixels one row and one column apart.
        top = 2 * self.shape[0] - row - 1 + rows.start
        left = 2 * self.shape[1] - col - 1 + cols.start
        window = self._padded[:, top : top + n_rows + 1, left : left + n_cols + 1]
        between_rows = (1 - fy) * window[:, 1:] + fy * window[:, :-1]
        return (1 - fx) * between_rows[:, :, 1:] + fx * between_rows[:, :, :-1]

    def asymmetry(self, centre, aperture, sky=0.0):
        """``(sum |I - I_180| - area * sky) / sum |I|`` over ``aperture``
        (an :class:`~._apertures.Annulus`) about ``centre``.

        Pixels masked in the image or in its turned copy count in neither;
        ``sky`` is the sky's own asymmetry per pixel (Lotz et al. 2004, eq. 10).
        """
        height, width = self.shape
        if not (0 <= centre[0] < width and 0 <= centre[1] < height):
            return _OUT_OF_RANGE
        box = self._box(centre, aperture.outer + 0.5)
        turned = self.turned(centre, box)
        share = aperture.weights(turned.shape[1:], centre, (box[0].start, box[1].start))
        if self._masked:
            share *= (turned[1] < 0.5) & ~self._mask[box]
        original = self._image[box]
        total = (share * np.abs(original)).sum()
        if total == 0:
            return _OUT_OF_RANGE
        residual = (share * np.abs(turned[0] - original)).sum()
        return (residual - share.sum() * sky) / total

    def most_symmetric_centre(self, start, aperture, sky):
        """The centre that minimises :meth:`asymmetry`, searched from
        ``start`` by Nelder-Mead as statmorph does (its first simplex spans
        5 % of ``start``)."""
        return optimize.fmin(
            lambda centre: self.asymmetry(centre, aperture, sky),
            np.asarray(start, dtype=np.float64),
            xtol=1e-2,
            disp=False,
        )


def sky_asymmetry(box):
    """The sky box's asymmetry per pixel."""
    return np.abs(box[::-1, ::-1] - box).sum() / box.size
