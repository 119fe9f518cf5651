"""How visible is each make_galaxies anomaly type, at the sizes the benchmarks use?

For each anomaly type, image size and ``anomaly_strength``, the same seed is
rendered four times: with and without the anomaly (``anomaly_strength=0``
draws the same galaxies), with and without noise. In display units (the
float images in [0, 1] that a labeller sees and the models get):

- the anomaly's own light is (with - without), both noiseless;
- the noise is (noisy - noiseless) of the image without the anomaly, whose
  standard deviation per image is sigma;
- matched-filter S/N = sqrt(sum over pixels of (anomaly / sigma)^2), the best
  any detector can do against pure noise (a detector also has to tell the
  anomaly from the galaxy, so real figures are lower); peak S/N = the
  brightest anomaly pixel / sigma; the share of pixels the anomaly lifts
  above 2 sigma; and, against the galaxy rather than the noise, the share of
  the anomaly's light that falls where it outshines the galaxy (noiseless
  display units): a faint ring on a bright galaxy is seen against the
  galaxy's own light, a trail crossing empty sky is not.

    python benchmarks/anomaly_visibility.py [--n 200] [--smoke]
"""

import argparse

import numpy as np
from _report import markdown_table, median_range, publish

from skgalaxy.datasets import ANOMALY_TYPES, make_galaxies

SIZES = (32, 64)
STRENGTHS = (1.0, 2.0, 4.0)


def render(kind, size, n, strength, noise, seed):
    return make_galaxies(
        n,
        image_size=size,
        anomalies=[kind],
        anomaly_fraction=1.0,
        anomaly_strength=strength,
        noise=noise,
        as_float=True,
        random_state=seed,
    ).images.astype(np.float64)


def visibility(kind, size, n, strength, seed):
    """Per image: matched-filter S/N, peak S/N, share of pixels above 2 sigma."""
    with_anomaly = render(kind, size, n, strength, 0.0, seed)
    without = render(kind, size, n, 0.0, 0.0, seed)
    noisy = render(kind, size, n, 0.0, 1.0, seed)
    light = with_anomaly - without
    sigma = (noisy - without).std(axis=(1, 2, 3))[:, None, None, None]
    ratio = light / sigma
    outshines = light > without
    return {
        "matched": np.sqrt((ratio**2).sum(axis=(1, 2, 3))),
        "peak": ratio.max(axis=(1, 2, 3)),
        "above_2_sigma": (ratio.max(axis=3) > 2).mean(axis=(1, 2)),
        "outshines": (light * outshines).sum(axis=(1, 2, 3))
        / light.sum(axis=(1, 2, 3)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="images per cell")
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    n = 10 if args.smoke else args.n
    rows = []
    for kind in ANOMALY_TYPES:
        for size in SIZES:
            for strength in STRENGTHS:
                v = visibility(kind, size, n, strength, seed=0)
                rows.append(
                    [
                        kind,
                        size,
                        strength,
                        median_range(v["matched"], ".1f"),
                        median_range(v["peak"], ".1f"),
                        median_range(100 * v["above_2_sigma"], ".1f"),
                        median_range(100 * v["outshines"], ".0f"),
                    ]
                )
                print(rows[-1], flush=True)
    body = (
        f"{n} anomalous images per row (seed 0), display units; median (min-max) "
        "over the images.\n\n"
        + markdown_table(
            [
                "anomaly",
                "pixels",
                "anomaly_strength",
                "matched-filter S/N",
                "peak pixel S/N",
                "% of pixels > 2 sigma",
                "% of its light where it outshines the galaxy",
            ],
            rows,
        )
    )
    publish(
        "anomaly_visibility",
        "How visible are make_galaxies' anomalies?",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
