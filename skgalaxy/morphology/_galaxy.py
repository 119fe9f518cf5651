"""The non-parametric statistics of one galaxy, defined as statmorph defines them.

Each quantity is computed once, when first needed, like statmorph's lazy
properties (Rodriguez-Gomez et al. 2019): the centres, the Petrosian radii
and the segments for Gini-M20, MID and the shape asymmetry build on one
another. Values that statmorph reports as undefined (-99) are NaN here.
"""

from functools import cached_property

import numpy as np
from scipy import ndimage

from . import _mid
from ._apertures import (
    ANNULUS_WIDTH,
    Annulus,
    RadialProfile,
    annulus_weights,
    elliptical_radius,
    petrosian_radius,
    radius_holding,
)
from ._rotation import Symmetry, sky_asymmetry
from ._segmentation import SKY_BOX, bad_pixels, sky_box, stamp_slice

#: Extent of the CAS apertures, in Petrosian radii (statmorph's
#: ``petro_extent_cas``), and the inner radius and boxcar of the smoothness
#: (``petro_fraction_cas``).
_CAS_EXTENT = 1.5
_CAS_FRACTION = 0.25
#: Smoothing of the Gini segment, in elliptical Petrosian radii.
_GINI_SMOOTHING = 0.2
#: The sky annulus of the shape-asymmetry segment spans this to twice this,
#: in elliptical Petrosian radii (``petro_extent_flux``).
_FLUX_EXTENT = 2.0
#: The curve of growth is sampled finely within this many pixels of the centre.
_CORE = 3.0
#: Variance of a pixel-wide top hat: the floor of a source's second moments.
_PIXEL_VARIANCE = 1.0 / 12.0


class Galaxy:
    """One galaxy: its sky-subtracted flux and segmentation.

    Parameters
    ----------
    flux : ndarray of shape (height, width)
        Sky-subtracted flux.
    segment, others : ndarray of bool
        The galaxy's pixels and those of other sources (masked).
    """

    def __init__(self, flux, segment, others):
        stamp = stamp_slice(segment)
        self.segment = segment[stamp]
        self.occupied = self.segment | others[stamp]
        self.mask = others[stamp] | bad_pixels(flux[stamp])
        self.image = np.where(self.mask, 0.0, flux[stamp])
        self.shape = self.image.shape

    # -- pixels of the segment -------------------------------------------

    @cached_property
    def _source(self):
        """The flux of the galaxy's unmasked segment, zero elsewhere."""
        return np.where(self.segment & ~self.mask, self.image, 0.0)

    @cached_property
    def _source_positive(self):
        return np.maximum(self._source, 0.0)

    @cached_property
    def brightest(self):
        """(row, column) of the segment's brightest pixel."""
        return np.unravel_index(np.argmax(self._source), self.shape)

    @cached_property
    def centroid(self):
        """Flux-weighted ``(x, y)`` of the segment."""
        centre = _centroid(self._source)
        if centre is None or not (
            0 <= centre[0] < self.shape[1] and 0 <= centre[1] < self.shape[0]
        ):
            return np.array([self.shape[1] / 2, self.shape[0] / 2])
        return centre

    def _moments_about(self, centre):
        """The covariance of the segment's flux about ``centre``, kept away
        from singular as SExtractor does (its manual, eq. 43)."""
        yy, xx = np.indices(self.shape)
        dx, dy = xx - centre[0], yy - centre[1]
        total = self._source.sum()
        x2, y2, xy = ((self._source * a * b).sum() / total for a, b in
                      ((dx, dx), (dy, dy), (dx, dy)))  # fmt: skip
        while abs(x2 * y2 - xy**2) < _PIXEL_VARIANCE**2:
            x2 += _PIXEL_VARIANCE if x2 >= 0 else -_PIXEL_VARIANCE
            y2 += _PIXEL_VARIANCE if y2 >= 0 else -_PIXEL_VARIANCE
        return x2, y2, xy

    @cached_property
    def _shape(self):
        """``(ellipticity, elongation, orientation)`` about the asymmetry centre."""
        x2, y2, xy = self._moments_about(self.centre)
        eigenvalues = np.sort(np.abs(np.linalg.eigvalsh([[x2, xy], [xy, y2]])))
        major, minor = np.sqrt(eigenvalues[::-1])
        return 1 - minor / major, major / minor, 0.5 * np.arctan2(2 * xy, x2 - y2)

    @property
    def ellipticity(self):
        return self._shape[0]

    # -- the sky ---------------------------------------------------------

    @cached_property
    def _sky(self):
        box = sky_box(self.occupied)
        return None if box is None else self.image[box]

    @cached_property
    def _sky_asymmetry(self):
        return 0.0 if self._sky is None else sky_asymmetry(self._sky)

    # -- radii and the asymmetry centre ----------------------------------

    def _profile(self, centre, elongated=False, core=0.0):
        elongation, theta = self._shape[1:] if elongated else (1.0, 0.0)
        return RadialProfile(self.image, ~self.mask, centre, elongation, theta, core)

    @cached_property
    def _diagonal(self):
        return float(np.hypot(*self.shape))

    @cached_property
    def _petrosian_radius_at_centroid(self):
        return petrosian_radius(self._profile(self.centroid), self._diagonal)

    @cached_property
    def _symmetry(self):
        return Symmetry(self.image, self.mask)

    @cached_property
    def _cas_aperture(self):
        return Annulus(_CAS_EXTENT * self._petrosian_radius_at_centroid)

    @cached_property
    def centre(self):
        """``(x, y)`` about which the galaxy is most symmetric (statmorph's
        asymmetry centre): searched from the centroid, then from the
        brightest pixel if it drifts further than a quarter of the Petrosian
        radius; the centroid if that drifts too."""
        limit = _CAS_FRACTION * self._petrosian_radius_at_centroid
        search = self._symmetry.most_symmetric_centre
        aperture, sky = self._cas_aperture, self._sky_asymmetry
        centre = search(self.centroid, aperture, sky)
        if np.hypot(*(centre - self.centroid)) <= limit:
            return centre
        brightest = np.array(self.brightest[::-1], dtype=np.float64)
        centre = search(brightest, aperture, sky)
        return centre if np.hypot(*(centre - brightest)) <= limit else self.centroid

    @cached_property
    def _circular(self):
        return self._profile(self.centre, core=_CORE)

    @cached_property
    def _elliptical(self):
        return self._profile(self.centre, elongated=True)

    @cached_property
    def petrosian_radius(self):
        """Circular Petrosian radius about the asymmetry centre."""
        return petrosian_radius(self._circular, self._diagonal)

    @cached_property
    def petrosian_semi_major_axis(self):
        """Elliptical Petrosian semi-major axis about the asymmetry centre."""
        return petrosian_radius(self._elliptical, self._diagonal * self._shape[1])

    # -- CAS ---------------------------------------------------------------

    @cached_property
    def asymmetry(self):
        """Rotational asymmetry within 1.5 Petrosian radii, less the sky's."""
        return self._symmetry.asymmetry(
            self.centre, self._cas_aperture, self._sky_asymmetry
        )

    def radius_holding(self, fraction):
        """Radius holding ``fraction`` of the flux within 1.5 Petrosian radii."""
        return radius_holding(
            self._circular, _CAS_EXTENT * self.petrosian_radius, fraction
        )

    @cached_property
    def concentration(self):
        """``5 log10(r80 / r20)`` (Bershady et al. 2000; Conselice 2003)."""
        inner, outer = self.radius_holding(0.2), self.radius_holding(0.8)
        return 5 * np.log10(outer / inner) if inner > 0 and outer > 0 else np.nan

    @cached_property
    def smoothness(self):
        """Flux above its boxcar-smoothed image, over the flux, between a
        quarter and 1.5 Petrosian radii, less the sky's (Lotz et al. 2004)."""
        r_in = _CAS_FRACTION * self.petrosian_radius
        r_out = _CAS_EXTENT * self.petrosian_radius
        boxcar = int(r_in)
        residual = np.maximum(self.image - _boxcar_smoothed(self.image, boxcar), 0)
        weights = annulus_weights(
            elliptical_radius(self.shape, self.centre), r_in, r_out
        )
        flux = (weights * self.image).sum()
        if flux <= 0:
            return np.nan
        sky = 0.0
        if self._sky is not None:
            box = self._sky
            sky = np.maximum(box - _boxcar_smoothed(box, boxcar), 0).sum() / box.size
        area = np.pi * (r_out**2 - r_in**2)
        return ((weights * residual).sum() - area * sky) / flux

    # -- Gini-M20 -----------------------------------------------------------

    @cached_property
    def gini_segment(self):
        """Pixels brighter, after smoothing by a fifth of the elliptical
        Petrosian radius, than the mean at that radius (Lotz et al. 2004)."""
        semi_major = self.petrosian_semi_major_axis
        smooth = ndimage.gaussian_filter(
            self.image, _GINI_SMOOTHING * semi_major, mode="constant"
        )
        elongation, theta = self._shape[1:]
        radius = elliptical_radius(self.shape, self.centroid, elongation, theta)
        a_in, a_out = semi_major - ANNULUS_WIDTH / 2, semi_major + ANNULUS_WIDTH / 2
        area = np.pi * (a_out**2 - max(a_in, 0) ** 2) / elongation
        level = (annulus_weights(radius, a_in, a_out) * smooth).sum() / area
        above = smooth >= level
        if not above.any() or above.all():
            return above
        return _mid._component(above, np.unravel_index(np.argmax(smooth), self.shape))

    @cached_property
    def gini(self):
        """Inequality of the pixel fluxes in the Gini segment (Lotz et al. 2004)."""
        values = np.sort(np.abs(self.image[self.gini_segment]))
        n = len(values)
        if n <= 1 or values.sum() == 0:
            return np.nan
        rank = np.arange(1, n + 1)
        return ((2 * rank - n - 1) * values).sum() / ((n - 1) * values.sum())

    @cached_property
    def m20(self):
        """log10 of the second moment of the brightest pixels holding 20 % of
        the flux over the total one, in the Gini segment (Lotz et al. 2004)."""
        image = np.where(self.gini_segment, self.image, 0.0)
        centre = _centroid(image)
        if centre is None:
            return np.nan
        yy, xx = np.indices(self.shape)
        moment = image * ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2)
        values = np.sort(image, axis=None)
        held = np.cumsum(values) / values.sum()
        brightest = values[held >= 0.8]
        if len(brightest) == 0:
            return np.nan
        top, total = moment[image >= brightest[0]].sum(), moment.sum()
        return np.log10(top / total) if top > 0 and total > 0 else np.nan

    # -- MID ------------------------------------------------------------------

    @cached_property
    def _mid_inputs(self):
        values = np.sort(self._source_positive[self.segment & ~self.mask])
        segment = _mid.mid_segment(self._source_positive, values, self.brightest)
        if segment is None:
            segment = self.gini_segment
        flux = np.where(segment, self._source_positive, 0.0)
        return flux, segment, np.sort(flux[self.segment & ~self.mask])

    @cached_property
    def multimode(self):
        flux, _, values = self._mid_inputs
        return _mid.multimode(flux, values)

    @cached_property
    def _intensity_deviation(self):
        flux, segment, _ = self._mid_inputs
        return _mid.intensity_and_deviation(flux, segment)

    @property
    def intensity(self):
        return self._intensity_deviation[0]

    @property
    def deviation(self):
        return self._intensity_deviation[1]

    # -- shape and outer asymmetry -------------------------------------------

    @cached_property
    def shape_segment(self):
        """The binary detection mask of Pawlik et al. (2016): 3x3-smoothed
        pixels one sky deviation above the sky's mode, connected to the
        brightest smoothed pixel."""
        sky = self._sky_for_shape()
        if sky is None:
            return self.segment.copy()
        mean, median, std = _clipped_stats(sky)
        smooth = ndimage.uniform_filter(self.image, 3)
        above = smooth >= 2.5 * median - 1.5 * mean + std
        brightest = np.unravel_index(np.argmax(smooth), self.shape)
        above[brightest] = True
        return _mid._component(above, brightest)

    def _sky_for_shape(self):
        """Sky pixels 2 to 4 elliptical Petrosian radii from the centre, or
        the sky box where fewer than a full box lie there."""
        radius = elliptical_radius(self.shape, self.centre)
        r_in = _FLUX_EXTENT * self.petrosian_semi_major_axis
        ring = (radius >= r_in) & (radius < 2 * r_in) & ~self.mask
        if ring.sum() >= SKY_BOX**2:
            return self.image[ring]
        return None if self._sky is None else self._sky.ravel()

    @cached_property
    def _outer_radius(self):
        """Largest distance from the centre to the shape segment: circular
        and along the major axis."""
        elongation, theta = self._shape[1:]
        circular = elliptical_radius(self.shape, self.centre)[self.shape_segment].max()
        radius = elliptical_radius(self.shape, self.centre, elongation, theta)
        return circular, radius[self.shape_segment].max()

    @cached_property
    def shape_asymmetry(self):
        """Asymmetry of the shape segment's binary mask (Pawlik et al. 2016)."""
        radius = self._outer_radius[0]
        if not radius > 0:
            return np.nan
        symmetry = Symmetry(self.shape_segment.astype(np.float64), self.mask)
        return symmetry.asymmetry(self.centre, Annulus(radius))

    @cached_property
    def half_light_radius(self):
        """Radius holding half of the flux within the shape segment's extent."""
        radius = self._outer_radius[0]
        return radius_holding(self._circular, radius, 0.5) if radius > 0 else np.nan

    @cached_property
    def outer_asymmetry(self):
        """Asymmetry between the elliptical half-light and outer radii, less
        the sky's (Wen et al. 2014)."""
        outer = self._outer_radius[1]
        if not outer > 0:
            return np.nan
        inner = radius_holding(self._elliptical, outer, 0.5)
        aperture = Annulus(outer, inner, *self._shape[1:])
        return self._symmetry.asymmetry(self.centre, aperture, self._sky_asymmetry)


def _centroid(image):
    """Flux-weighted ``(x, y)``, or None without positive total flux."""
    total = image.sum()
    if total <= 0:
        return None
    yy, xx = np.indices(image.shape)
    return np.array([(image * xx).sum() / total, (image * yy).sum() / total])


def _clipped_stats(values, sigma=3.0):
    """Mean, median and standard deviation of ``values`` clipped at
    ``sigma`` deviations about their mode (``2.5 median - 1.5 mean``,
    Bertin & Arnouts 1996) until nothing more is clipped."""
    values = np.asarray(values, dtype=np.float64)
    while True:
        mean, median, std = values.mean(), np.median(values), values.std()
        keep = np.abs(values - (2.5 * median - 1.5 * mean)) <= sigma * std
        if keep.all() or not keep.any():
            return mean, median, std
        values = values[keep]


def _boxcar_smoothed(image, width):
    """The mean over a ``width``-pixel box about each pixel.

    Placed as ``scipy.ndimage.uniform_filter`` places it, as statmorph does:
    an even box reaches one pixel further up and left than down and right.
    """
    return image if width < 2 else ndimage.uniform_filter(image, size=width)
