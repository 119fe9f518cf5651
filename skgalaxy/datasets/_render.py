"""Vectorised light profiles for the synthetic galaxy renderer (private).

Every function works on a batch of ``k`` objects at once: parameters are arrays
of shape ``(k,)`` and images come back as ``(k, S, S)`` arrays on the pixel grid
of a :class:`Canvas`.
"""

import numpy as np

# RGB colours (i, r, g bands shown as R, G, B) of the stellar populations.
RED = np.array([1.0, 0.70, 0.42])
YELLOW = np.array([1.0, 0.85, 0.65])
BLUE = np.array([0.62, 0.78, 1.0])
WHITE = np.array([1.0, 1.0, 0.95])


def _col(values):
    """Per-object parameters as a (k, 1, 1) column; scalars stay scalars."""
    values = np.asarray(values, dtype=float)
    return values if values.ndim == 0 else values[:, None, None]


class Canvas:
    """The pixel grid of square ``size`` x ``size`` images, centred on 0."""

    def __init__(self, size):
        self.size = size
        coords = np.arange(size) - (size - 1) / 2
        self.y, self.x = np.meshgrid(coords, coords, indexing="ij")
        self.scale = size / 64  # lengths below are quoted for 64-pixel images

    def frame(self, cx, cy, angle):
        """Pixel coordinates rotated by ``angle`` about the centres ``(cx, cy)``."""
        dx = self.x - _col(cx)
        dy = self.y - _col(cy)
        cos, sin = np.cos(_col(angle)), np.sin(_col(angle))
        return dx * cos + dy * sin, -dx * sin + dy * cos


def normalise(images):
    """Scale each image of a batch to unit total flux."""
    total = images.sum(axis=(1, 2), keepdims=True)
    return images / np.where(total > 0, total, 1.0)


def sersic(u, v, r_eff, n, q):
    """Sérsic profile in a frame ``(u, v)`` with axis ratio ``q`` (unit total)."""
    radius = np.sqrt(u**2 + (v / _col(q)) ** 2) + 1e-3
    n = _col(n)
    b_n = 2.0 * n - 1.0 / 3.0 + 0.009876 / n
    return normalise(np.exp(-b_n * ((radius / _col(r_eff)) ** (1.0 / n) - 1.0)))


def spiral_arms(u, v, q, n_arms, pitch, phase, r_start, sharpness):
    """Logarithmic spiral arm pattern in [0, 1] for discs seen at axis ratio ``q``.

    ``pitch`` in radians; its sign sets the handedness. ``r_start`` is where the
    arms begin (the bar's end for barred spirals).
    """
    u_disc, v_disc = u, v / _col(q)
    radius = np.sqrt(u_disc**2 + v_disc**2) + 1e-3
    theta = np.arctan2(v_disc, u_disc)
    winding = np.log(radius / _col(r_start)) / np.tan(_col(pitch))
    wave = 0.5 * (1 + np.cos(_col(n_arms) * (theta - winding - _col(phase))))
    onset = 1.0 / (1.0 + np.exp(-(radius - _col(r_start)) * 1.5))
    return wave ** _col(sharpness) * onset


def gaussian_blobs(canvas, cx, cy, sigma):
    """Sum of round Gaussian blobs; ``cx``, ``cy``, ``sigma`` of shape (k, m)."""
    dx = canvas.x[None, None] - cx[..., None, None]
    dy = canvas.y[None, None] - cy[..., None, None]
    blobs = np.exp(-(dx**2 + dy**2) / (2 * sigma[..., None, None] ** 2))
    return normalise(blobs.sum(axis=1))


def line(canvas, angle, offset, width, cx=None, cy=None, length=None):
    """A straight streak of Gaussian ``width`` (optionally fading past ``length``)."""
    cx = np.zeros_like(angle) if cx is None else cx
    cy = np.zeros_like(angle) if cy is None else cy
    along, across = canvas.frame(cx, cy, angle)
    profile = np.exp(-((across - _col(offset)) ** 2) / (2 * _col(width) ** 2))
    if length is not None:
        profile = profile * np.exp(-np.abs(along) / _col(length))
    return profile


def ring(u, v, q, radius, width):
    """An elliptical ring of Gaussian cross-section (unnormalised)."""
    r = np.sqrt(u**2 + (v / _col(q)) ** 2)
    return np.exp(-((r - _col(radius)) ** 2) / (2 * _col(width) ** 2))


def tint(images, colour, rng):
    """Colour a batch of monochrome images, with jitter: (k, S, S) -> (k, 3, S, S)."""
    jitter = np.exp(rng.normal(0.0, 0.08, size=(len(images), 3)))
    return images[:, None] * (colour * jitter)[:, :, None, None]


def psf_blur(images, sigma):
    """Convolve (k, 3, S, S) images with round Gaussian PSFs of width ``sigma``.

    The kernel is sampled on the pixel grid (wrapping around, as the FFT
    does) and normalised to unit sum: a Gaussian sampled in frequency
    instead is cut at the Nyquist frequency when ``sigma`` is below a pixel,
    which rings, putting dark (negative) fringes beside sharp features.
    """
    size = images.shape[-1]
    offset = np.minimum(np.arange(size), size - np.arange(size)).astype(float)
    r2 = offset[:, None] ** 2 + offset[None, :] ** 2
    kernel = np.exp(-r2[None] / (2 * _col(sigma) ** 2))
    kernel /= kernel.sum(axis=(1, 2), keepdims=True)
    spectrum = np.fft.rfft2(images, axes=(-2, -1)) * np.fft.rfft2(kernel)[:, None]
    blurred = np.fft.irfft2(spectrum, s=(size, size), axes=(-2, -1))
    # Rounding in the FFT leaves values of about 1e-12 of the peak below zero.
    return np.clip(blurred, 0, None) if images.min() >= 0 else blurred
