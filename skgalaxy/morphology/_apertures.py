"""Fluxes inside circles and ellipses on a pixel grid, and the radii built on them.

A pixel counts towards an aperture by the fraction of it inside: a linear
ramp one pixel wide across the aperture's edge, which matches the exact
overlap to a few per cent at radii of a few pixels and beyond. Pixels near
the centre are split into a finer grid, so that radii of a pixel or two (the
inner radius of the concentration) are measured as precisely.
"""

from typing import NamedTuple

import numpy as np

#: Width of the annulus of the Petrosian ratio, in pixels (Lotz et al. 2004).
ANNULUS_WIDTH = 1.0
#: The Petrosian ratio that defines the Petrosian radius.
ETA = 0.2
#: Points of the coarse search that brackets a radius before root finding.
_N_BRACKET = 100


def elliptical_radius(shape, centre, elongation=1.0, theta=0.0, origin=(0, 0)):
    """Semi-major axis of the ellipse about ``centre`` through each pixel.

    ``centre`` is ``(x, y)`` (column, row); ``elongation`` is ``a / b`` and
    ``theta`` the angle of the major axis from the x axis, counter-clockwise.
    ``origin`` is the ``(row, column)`` of the first pixel of ``shape``.
    """
    dy = (
        np.arange(origin[0], origin[0] + shape[0], dtype=np.float64)[:, None]
        - centre[1]
    )
    dx = (
        np.arange(origin[1], origin[1] + shape[1], dtype=np.float64)[None, :]
        - centre[0]
    )
    if elongation == 1.0:
        return np.sqrt(dx * dx + dy * dy)
    cos, sin = np.cos(theta), np.sin(theta)
    along, across = dx * cos + dy * sin, (dy * cos - dx * sin) * elongation
    return np.sqrt(along * along + across * across)


def aperture_weights(radius, a):
    """Fraction of each pixel inside the ellipse of semi-major axis ``a``."""
    if a <= 0:
        return np.zeros_like(radius)
    return np.clip(a - radius + 0.5, 0.0, 1.0)


def annulus_weights(radius, a_in, a_out):
    """Fraction of each pixel between semi-major axes ``a_in`` and ``a_out``."""
    return aperture_weights(radius, a_out) - aperture_weights(radius, a_in)


class Annulus(NamedTuple):
    """The pixels between two concentric ellipses; ``inner=0``: a full ellipse."""

    outer: float
    inner: float = 0.0
    elongation: float = 1.0
    theta: float = 0.0

    def weights(self, shape, centre, origin=(0, 0)):
        """Each pixel's share of the annulus about ``centre`` (see
        :func:`elliptical_radius`)."""
        radius = elliptical_radius(shape, centre, self.elongation, self.theta, origin)
        share = np.clip(self.outer + 0.5 - radius, 0.0, 1.0)
        if self.inner > 0:
            share -= np.clip(self.inner + 0.5 - radius, 0.0, 1.0)
        return share


class _RampSums:
    """Sums of per-pixel values weighted by their ramp inside radius ``a``,
    for many ``a`` at once: pixels sorted by radius and cumulative sums."""

    def __init__(self, radius, half_width, values):
        order = np.argsort(radius)
        self.radius = radius[order]
        self.half_width = half_width
        self.sums = [np.r_[0.0, np.cumsum(v[order])] for v in values]
        self.moments = [np.r_[0.0, np.cumsum(v[order] * self.radius)] for v in values]

    def __call__(self, a, which):
        h = self.half_width
        inner = np.searchsorted(self.radius, a - h)
        outer = np.searchsorted(self.radius, a + h)
        sums, moments = self.sums[which], self.moments[which]
        edge = (a + h) * (sums[outer] - sums[inner]) - (moments[outer] - moments[inner])
        return sums[inner] + edge / (2 * h)


class RadialProfile:
    """Flux and unmasked area inside concentric ellipses about one centre.

    Parameters
    ----------
    image : ndarray of shape (ny, nx)
        Flux, zero on masked pixels.
    valid : ndarray of bool, shape (ny, nx)
        Pixels that count towards an aperture's area.
    centre : (float, float)
        ``(x, y)`` of the centre.
    elongation, theta : float
        Shape of the ellipses (1 and 0: circles).
    core : float
        Pixels closer than this to the centre are split ``subsample`` times
        per side.
    """

    def __init__(
        self, image, valid, centre, elongation=1.0, theta=0.0, core=0.0, subsample=8
    ):
        radius = elliptical_radius(image.shape, centre, elongation, theta)
        near = radius < core
        far = ~near
        self._groups = [
            _RampSums(radius[far], 0.5, (image[far], valid[far].astype(np.float64)))
        ]
        if near.any():
            rows, cols = np.nonzero(near)
            offsets = (np.arange(subsample) + 0.5) / subsample - 0.5
            sub_y = (rows[:, None, None] + offsets[None, :, None]).repeat(subsample, 2)
            sub_x = (cols[:, None, None] + offsets[None, None, :]).repeat(subsample, 1)
            dx, dy = sub_x - centre[0], sub_y - centre[1]
            cos, sin = np.cos(theta), np.sin(theta)
            sub_radius = np.hypot(
                dx * cos + dy * sin, (dy * cos - dx * sin) * elongation
            )
            share = 1.0 / subsample**2
            values = (
                np.broadcast_to(image[near][:, None, None] * share, sub_radius.shape),
                np.broadcast_to(valid[near][:, None, None] * share, sub_radius.shape),
            )
            self._groups.append(
                _RampSums(
                    sub_radius.ravel(), 0.5 / subsample, [v.ravel() for v in values]
                )
            )

    def _sum(self, a, which):
        a = np.asarray(a, dtype=np.float64)
        total = sum(group(a, which) for group in self._groups)
        return np.where(a > 0, total, 0.0)

    def flux(self, a):
        """Flux inside semi-major axis ``a`` (scalar or array)."""
        return self._sum(a, 0)

    def area(self, a):
        """Unmasked area inside semi-major axis ``a``, in pixels."""
        return self._sum(a, 1)


def _bracketed_root(function, grid, values):
    """Where ``function`` first turns non-positive on ``grid`` (``values`` are
    its values there): the crossing found again on a grid as fine inside
    that step, then interpolated linearly."""
    first = np.flatnonzero(values <= 0)[0]
    fine = np.linspace(grid[first - 1], grid[first], _N_BRACKET)
    fine_values = function(fine)
    fine_values[[0, -1]] = values[first - 1], values[first]
    i = np.flatnonzero(fine_values <= 0)[0]
    before, after = fine_values[i - 1], fine_values[i]
    return fine[i - 1] + (fine[i] - fine[i - 1]) * before / (before - after)


def petrosian_radius(profile, a_max):
    """Semi-major axis where the annulus' mean surface brightness falls to
    ``ETA`` times the mean inside it (Petrosian 1976; Lotz et al. 2004)."""

    def ratio(a):
        a_in, a_out = a - ANNULUS_WIDTH / 2, a + ANNULUS_WIDTH / 2
        annulus_area = profile.area(a_out) - profile.area(a_in)
        annulus_mean = np.abs(
            _safe_divide(profile.flux(a_out) - profile.flux(a_in), annulus_area)
        )
        inner_mean = np.abs(_safe_divide(profile.flux(a), profile.area(a)))
        ratio = np.where(
            inner_mean == 0,
            (annulus_mean != 0).astype(np.float64),
            _safe_divide(annulus_mean, inner_mean),
        )
        return ratio - ETA

    grid = np.linspace(ANNULUS_WIDTH, a_max, _N_BRACKET)
    values = ratio(grid)
    if values[0] <= 0:
        return grid[0]
    if (values > 0).all():
        return a_max
    return _bracketed_root(ratio, grid, values)


def radius_holding(profile, a_total, fraction):
    """Semi-major axis holding ``fraction`` of the flux inside ``a_total``."""
    total = abs(float(profile.flux(a_total)))
    if total == 0:
        return a_total

    def excess(a):
        return np.abs(profile.flux(a)) / total - fraction

    grid = np.linspace(0.0, a_total, _N_BRACKET)
    values = -excess(grid)
    values[0] = fraction
    if (values > 0).all():
        return a_total
    return _bracketed_root(lambda a: -excess(a), grid, values)


def _safe_divide(numerator, denominator):
    """``numerator / denominator``, 0 where the denominator is 0."""
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)
