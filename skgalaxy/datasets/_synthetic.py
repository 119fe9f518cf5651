"""``make_galaxies``: procedural galaxy cutouts, the embedded default data set."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from . import _render as R
from ._galaxy10 import GALAXY10_CLASSES

ANOMALY_TYPES = ("satellite_trail", "saturated_star", "lens")

_DISPLAY_SOFTENING = 8.0  # counts at which the display stretch turns logarithmic
_DISPLAY_PEAK = 4000.0  # counts per pixel shown as 255


def _u(rng, low, high, k):
    return rng.uniform(low, high, size=k)


def _log_u(rng, low, high, k):
    return np.exp(rng.uniform(np.log(low), np.log(high), size=k))


class _Batch:
    """Shared random geometry of ``k`` galaxies: centre, angle, size scale."""

    def __init__(self, canvas, rng, k):
        self.canvas, self.rng, self.k = canvas, rng, k
        s = canvas.scale
        self.cx = rng.normal(0, 1.0 * s, k)
        self.cy = rng.normal(0, 1.0 * s, k)
        self.angle = _u(rng, 0, np.pi, k)
        self.size = _log_u(rng, 0.9, 1.6, k) * s
        self.u, self.v = canvas.frame(self.cx, self.cy, self.angle)

    def sersic(self, r_eff, n, q, colour, u=None, v=None):
        u = self.u if u is None else u
        v = self.v if v is None else v
        return R.tint(R.sersic(u, v, r_eff * self.size, n, q), colour, self.rng)

    def bulge(self, r_eff, q, n=(2.5, 4.5), colour=R.RED):
        return self.sersic(r_eff, _u(self.rng, *n, self.k), q, colour)

    def disc(self, r_eff, q, colour=R.YELLOW):
        return self.sersic(r_eff, np.ones(self.k), q, colour)


def _mix(*parts_and_fractions):
    """Add (k, 3, S, S) components with per-galaxy flux fractions."""
    return sum(part * frac[:, None, None, None] for part, frac in parts_and_fractions)


def _smooth(b, q_range, n_range, r_range):
    rng, k = b.rng, b.k
    return b.bulge(_u(rng, *r_range, k), _u(rng, *q_range, k), n=n_range)


def _round_smooth(b):
    return _smooth(b, (0.72, 1.0), (3.0, 5.0), (3.0, 7.0))


def _in_between(b):
    return _smooth(b, (0.45, 0.8), (2.5, 4.5), (3.5, 8.0))


def _cigar(b):
    return _smooth(b, (0.18, 0.42), (1.5, 3.5), (5.0, 10.0))


def _spiral(b, pitch_deg, bar_fraction, arm_strength, n_arms):
    """Bulge + exponential disc + logarithmic arms, with an optional bar."""
    rng, k = b.rng, b.k
    q = _u(rng, 0.45, 1.0, k)
    r_disc = _u(rng, 6.0, 11.0, k)
    bulge = b.bulge(_u(rng, 1.2, 2.8, k), _u(rng, 0.75, 1.0, k), n=(1.5, 3.5))
    disc = b.disc(r_disc, q)
    bar_length = r_disc * _u(rng, 0.45, 0.8, k) * b.size
    r_start = np.where(bar_fraction > 0, bar_length, 1.5 * b.size)
    sign = rng.choice([-1.0, 1.0], k)
    pitch = np.deg2rad(_u(rng, *pitch_deg, k)) * sign
    arms = R.spiral_arms(
        b.u, b.v, q, n_arms, pitch, _u(rng, 0, 2 * np.pi, k), r_start, 2.0
    )
    disc_light = R.normalise(R.sersic(b.u, b.v, r_disc * b.size, np.ones(k), q))
    arm_light = R.tint(R.normalise(disc_light * arms), R.BLUE, rng)
    bar_u, bar_v = b.canvas.frame(b.cx, b.cy, b.angle + _u(rng, 0, np.pi, k))
    bar = R.tint(
        R.sersic(
            bar_u,
            bar_v * 1.0,
            bar_length / 1.6,
            np.full(k, 0.5),
            _u(rng, 0.2, 0.35, k) / np.maximum(q, 0.5),
        ),
        R.YELLOW,
        rng,
    )
    bulge_fraction = _u(rng, 0.08, 0.35, k)
    rest = 1 - bulge_fraction - bar_fraction
    return _mix(
        (bulge, bulge_fraction),
        (bar, bar_fraction),
        (disc, rest * (1 - arm_strength)),
        (arm_light, rest * arm_strength),
    )


def _barred_spiral(b):
    k = b.k
    return _spiral(b, (10, 24), _u(b.rng, 0.06, 0.3, k), _u(b.rng, 0.35, 0.7, k), 2)


def _unbarred_tight(b):
    return _spiral(b, (7, 15), np.zeros(b.k), _u(b.rng, 0.3, 0.65, b.k), 2)


def _unbarred_loose(b):
    arms = b.rng.choice([2, 2, 3], b.k)
    return _spiral(b, (20, 35), np.zeros(b.k), _u(b.rng, 0.4, 0.8, b.k), arms)


def _edge_on(b, with_bulge):
    rng, k = b.rng, b.k
    disc = b.disc(_u(rng, 8.0, 13.0, k), _u(rng, 0.07, 0.16, k))
    lane_depth = _u(rng, 0.0, 0.5, k)[:, None, None, None]
    lane = np.exp(-(b.v**2) / (2 * (0.6 * b.size[:, None, None]) ** 2))[:, None]
    parts = [(disc * (1 - lane_depth * lane), np.ones(k))]
    if with_bulge:
        fraction = _u(rng, 0.3, 0.6, k)
        bulge = b.bulge(_u(rng, 2.0, 4.0, k), _u(rng, 0.7, 1.0, k))
        parts = [(parts[0][0], 1 - fraction), (bulge, fraction)]
    return _mix(*parts)


def _edge_on_without_bulge(b):
    return _edge_on(b, with_bulge=False)


def _edge_on_with_bulge(b):
    return _edge_on(b, with_bulge=True)


def _merging(b):
    """Two galaxies close together, each with a one-armed tidal tail."""
    rng, k, canvas = b.rng, b.k, b.canvas
    separation = _u(rng, 5.0, 14.0, k) * b.size
    direction = _u(rng, 0, 2 * np.pi, k)
    ratio = _u(rng, 0.35, 1.0, k)
    images = 0
    for side, flux in ((-1, 1 / (1 + ratio)), (1, ratio / (1 + ratio))):
        cx = b.cx + side * 0.5 * separation * np.cos(direction)
        cy = b.cy + side * 0.5 * separation * np.sin(direction)
        u, v = canvas.frame(cx, cy, _u(rng, 0, np.pi, k))
        q = _u(rng, 0.5, 1.0, k)
        r_eff = _u(rng, 2.0, 5.0, k) * b.size
        body = R.tint(R.sersic(u, v, r_eff, _u(rng, 1.0, 3.5, k), q), R.YELLOW, rng)
        tail_shape = R.spiral_arms(
            u,
            v,
            q,
            np.ones(k),
            np.deg2rad(_u(rng, 25, 45, k)) * rng.choice([-1, 1], k),
            _u(rng, 0, 2 * np.pi, k),
            r_eff,
            4.0,
        )
        envelope = R.sersic(u, v, 3.0 * r_eff, np.full(k, 0.7), q)
        tail = R.tint(R.normalise(envelope * tail_shape), R.BLUE, rng)
        tail_fraction = _u(rng, 0.15, 0.35, k)
        images = images + _mix(
            (body, flux * (1 - tail_fraction)), (tail, flux * tail_fraction)
        )
    return images


def _disturbed(b):
    """Lopsided, warped discs with star-forming clumps."""
    rng, k, canvas = b.rng, b.k, b.canvas
    warp = _u(rng, 0.1, 0.35, k)[:, None, None]
    u = b.u + warp * b.v**2 / (6.0 * b.size[:, None, None])
    q = _u(rng, 0.4, 1.0, k)
    r_disc = _u(rng, 4.0, 9.0, k)
    disc = b.sersic(r_disc, _u(rng, 0.6, 1.5, k), q, R.YELLOW, u=u)
    n_clumps = 6
    radius = r_disc[:, None] * b.size[:, None] * rng.uniform(0, 1.3, (k, n_clumps))
    phi = rng.uniform(0, 2 * np.pi, (k, n_clumps))
    clumps = R.gaussian_blobs(
        canvas,
        b.cx[:, None] + radius * np.cos(phi),
        b.cy[:, None] + radius * np.sin(phi),
        rng.uniform(0.8, 2.2, (k, n_clumps)) * b.size[:, None],
    )
    clump_fraction = _u(rng, 0.25, 0.55, k)
    return _mix(
        (disc, 1 - clump_fraction), (R.tint(clumps, R.BLUE, rng), clump_fraction)
    )


_CLASS_RENDERERS = {
    "disturbed": _disturbed,
    "merging": _merging,
    "round_smooth": _round_smooth,
    "in_between_round_smooth": _in_between,
    "cigar_shaped_smooth": _cigar,
    "barred_spiral": _barred_spiral,
    "unbarred_tight_spiral": _unbarred_tight,
    "unbarred_loose_spiral": _unbarred_loose,
    "edge_on_without_bulge": _edge_on_without_bulge,
    "edge_on_with_bulge": _edge_on_with_bulge,
}


def _satellite_trail(canvas, rng, k, galaxy_flux):
    s = canvas.scale
    trail = R.line(
        canvas, _u(rng, 0, np.pi, k), rng.normal(0, 12 * s, k), _u(rng, 0.5, 1.0, k) * s
    )
    per_pixel = galaxy_flux * _log_u(rng, 0.002, 0.008, k)
    return R.tint(trail * per_pixel[:, None, None], R.WHITE, rng)


def _saturated_star(canvas, rng, k, galaxy_flux):
    s = canvas.scale
    distance = _u(rng, 8, 22, k) * s
    phi = _u(rng, 0, 2 * np.pi, k)
    cx, cy = distance * np.cos(phi), distance * np.sin(phi)
    core = R.gaussian_blobs(canvas, cx[:, None], cy[:, None], np.full((k, 1), 1.2 * s))
    halo = R.gaussian_blobs(canvas, cx[:, None], cy[:, None], np.full((k, 1), 4.0 * s))
    tilt = rng.normal(0, 0.05, k)
    spikes = sum(
        R.line(
            canvas,
            tilt + a,
            np.zeros(k),
            np.full(k, 0.45 * s),
            cx,
            cy,
            np.full(k, 9.0 * s),
        )
        for a in (0.0, np.pi / 2)
    )
    flux = galaxy_flux * _log_u(rng, 1.5, 8.0, k)
    light = R.normalise(core + 0.3 * halo + 0.02 * spikes)
    return R.tint(light * flux[:, None, None], R.WHITE, rng)


def _lens(canvas, rng, k, galaxy_flux):
    """Blue arcs or an Einstein ring around the galaxy."""
    s = canvas.scale
    u, v = canvas.frame(np.zeros(k), np.zeros(k), _u(rng, 0, np.pi, k))
    radius = _u(rng, 7.0, 13.0, k) * s
    arc = R.ring(u, v, _u(rng, 0.8, 1.0, k), radius, _u(rng, 0.7, 1.4, k) * s)
    theta = np.arctan2(v, u)
    n_arcs = rng.choice([1, 2, 2, 4], k)[:, None, None]
    modulation = (0.5 * (1 + np.cos(n_arcs * theta))) ** _u(rng, 0.0, 3.0, k)[
        :, None, None
    ]
    flux = galaxy_flux * _u(rng, 0.25, 0.6, k)
    return R.tint(R.normalise(arc * modulation) * flux[:, None, None], R.BLUE, rng)


_ANOMALY_RENDERERS = {
    "satellite_trail": _satellite_trail,
    "saturated_star": _saturated_star,
    "lens": _lens,
}

_LENS_HOSTS = ("round_smooth", "in_between_round_smooth")


def _foreground_stars(canvas, rng, k, n_max=3, rate=0.7):
    """Faint stars, ``rate`` per image on average, at random places."""
    half = canvas.size / 2
    present = rng.uniform(size=(k, n_max)) < rate / n_max
    stars = np.zeros((k, canvas.size, canvas.size))
    for j in range(n_max):
        blob = R.gaussian_blobs(
            canvas,
            rng.uniform(-half, half, (k, 1)),
            rng.uniform(-half, half, (k, 1)),
            np.full((k, 1), 0.6 * canvas.scale),
        )
        stars += blob * (_log_u(rng, 300, 6000, k) * present[:, j])[:, None, None]
    return R.tint(stars, YELLOW_STAR, rng)


YELLOW_STAR = np.array([1.0, 0.9, 0.8])


def _observe(flux, rng, noise):
    """PSF blur, sky, Poisson and read noise, then the display stretch to uint8."""
    k, _, size, _ = flux.shape
    scale = size / 64
    blurred = R.psf_blur(flux, _u(rng, 0.55, 0.95, k) * scale)
    sky = _u(rng, 20, 60, k)[:, None, None, None]
    variance = np.clip(blurred, 0, None) + sky + 5.0**2
    observed = blurred + noise * rng.normal(size=blurred.shape) * np.sqrt(variance)
    stretched = np.arcsinh(observed / _DISPLAY_SOFTENING) / np.arcsinh(
        _DISPLAY_PEAK / _DISPLAY_SOFTENING
    )
    return stretched.transpose(0, 2, 3, 1)


def _to_uint8(images):
    return np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)


def _render_batch(canvas, rng, k, class_name, anomaly, noise, anomaly_strength=1.0):
    batch = _Batch(canvas, rng, k)
    galaxy_flux = _log_u(rng, 1.5e4, 8e4, k)
    flux = _CLASS_RENDERERS[class_name](batch) * galaxy_flux[:, None, None, None]
    flux = flux + _foreground_stars(canvas, rng, k)
    if anomaly is not None:
        # Drawn whatever the strength, so that the same seed renders the same
        # galaxies and noise at every strength.
        added = _ANOMALY_RENDERERS[anomaly](canvas, rng, k, galaxy_flux)
        flux = flux + anomaly_strength * added
    return _observe(flux, rng, noise)


def _resolve_names(values, known, what):
    if values is None:
        return list(known)
    names = []
    for value in values:
        if isinstance(value, Integral) and not isinstance(value, bool):
            if not 0 <= value < len(known):
                raise ValueError(
                    f"{what} index {value} is out of range 0..{len(known) - 1}."
                )
            value = known[value]
        if value not in known:
            raise ValueError(f"Unknown {what} {value!r}; choose from {list(known)}.")
        if value not in names:
            names.append(value)
    if not names:
        raise ValueError(f"At least one {what} is needed.")
    return names


def _split_evenly(n, parts, rng):
    counts = np.full(parts, n // parts)
    counts[rng.permutation(parts)[: n % parts]] += 1
    return counts


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left")],
        "classes": ["array-like", None],
        "anomalies": ["array-like", None],
        "anomaly_fraction": [Interval(Real, 0, 1, closed="both")],
        "anomaly_strength": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "as_float": ["boolean"],
        "random_state": ["random_state"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_galaxies(
    n_samples=1000,
    *,
    image_size=64,
    classes=None,
    anomalies=None,
    anomaly_fraction=0.0,
    anomaly_strength=1.0,
    noise=1.0,
    as_float=False,
    random_state=None,
    return_X_y=False,
):
    """Render realistic RGB galaxy cutouts of the ten Galaxy10 DECaLS classes.

    Each galaxy is built from physically motivated components — Sérsic bulges
    and exponential discs of random size, axis ratio and position angle (redder
    bulges, bluer discs), logarithmic spiral arms of tight or loose pitch with
    or without a bar, thin edge-on discs with dust lanes, merging pairs with
    tidal tails, clumpy lopsided discs — then observed: PSF blur, sky
    background, Poisson and read noise, faint foreground stars, and an arcsinh
    display stretch to uint8 like survey colour cutouts. Look-alike classes
    (barred vs unbarred tight spirals, round vs in-between smooth) overlap in
    their parameters on purpose.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of images. The normal classes get equal shares (up to one).
    image_size : int, default=64
        Side of the square images in pixels (lengths scale with it).
    classes : list of str or int, default=None
        Galaxy classes to draw (names of ``GALAXY10_CLASSES`` or their
        indices); None draws all ten.
    anomalies : list of str or int, default=None
        Anomaly types (``"satellite_trail"``, ``"saturated_star"``, ``"lens"``)
        mixed in at ``anomaly_fraction``; None means all three when
        ``anomaly_fraction > 0``. An anomaly is a normal galaxy with the
        anomaly added (lenses: an arc or ring around a smooth galaxy).
    anomaly_fraction : float in [0, 1], default=0.0
        Fraction of the ``n_samples`` images that are anomalies.
    anomaly_strength : float >= 0, default=1.0
        Multiplier of the anomalies' light: larger makes them easier to see,
        0 renders the same images without them (the same seed draws the same
        galaxies and noise at every strength).
    noise : float, default=1.0
        Multiplier of the noise (0 renders noiseless images).
    as_float : bool, default=False
        Return float32 images in [0, 1] instead of uint8.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same images.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``images`` (n_samples, image_size, image_size, 3) uint8 (or float32),
        ``target`` int64 indices into ``target_names`` (the chosen classes
        first, then the anomaly types), ``target_names``, ``is_anomaly`` bool
        array and ``DESCR``.
    (images, target) : tuple if ``return_X_y`` is True
        The two arrays alone.

    Examples
    --------
    >>> from skgalaxy.datasets import make_galaxies
    >>> data = make_galaxies(20, image_size=32, random_state=0)
    >>> data.images.shape, data.images.dtype.name
    ((20, 32, 32, 3), 'uint8')
    >>> data.target_names[data.target[0]] in data.target_names
    True
    """
    rng = check_random_state(random_state)
    class_names = _resolve_names(classes, GALAXY10_CLASSES, "class")
    if anomalies is not None and anomaly_fraction == 0:
        raise ValueError("anomalies were given but anomaly_fraction is 0.")
    anomaly_names = (
        _resolve_names(anomalies, ANOMALY_TYPES, "anomaly type")
        if anomaly_fraction > 0
        else []
    )
    n_anomalies = int(round(n_samples * anomaly_fraction))
    normal_counts = _split_evenly(n_samples - n_anomalies, len(class_names), rng)
    anomaly_counts = (
        _split_evenly(n_anomalies, len(anomaly_names), rng) if anomaly_names else []
    )
    canvas = R.Canvas(image_size)
    images, target = [], []
    jobs = [(name, None, count) for name, count in zip(class_names, normal_counts)]
    for name, count in zip(anomaly_names, anomaly_counts):
        hosts = _LENS_HOSTS if name == "lens" else class_names
        for host, host_count in zip(hosts, _split_evenly(count, len(hosts), rng)):
            jobs.append((host, name, host_count))
    target_names = np.array(class_names + anomaly_names)
    for host, anomaly, count in jobs:
        label = (
            class_names.index(host)
            if anomaly is None
            else (len(class_names) + anomaly_names.index(anomaly))
        )
        for start in range(0, count, 256):
            k = min(256, count - start)
            images.append(
                _render_batch(canvas, rng, k, host, anomaly, noise, anomaly_strength)
            )
            target.append(np.full(k, label))
    order = rng.permutation(n_samples)
    images = np.concatenate(images)[order]
    target = np.concatenate(target).astype(np.int64)[order]
    images = np.clip(images, 0, 1).astype(np.float32) if as_float else _to_uint8(images)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=target_names,
        is_anomaly=target >= len(class_names),
        DESCR=make_galaxies.__doc__.split("\n\n")[1],
    )
