"""Rendering speed of make_galaxies (target: 1,000 64x64 images in a few seconds).

python benchmarks/make_galaxies_speed.py [--repeats 3] [--smoke]
"""

import argparse
import time

from _report import markdown_table, median_range, publish

from skgalaxy.datasets import make_galaxies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    sizes = ((50, 0.0),) if args.smoke else ((1000, 0.0), (1000, 0.1), (5000, 0.0))
    repeats = 1 if args.smoke else args.repeats
    rows = []
    for n, fraction in sizes:
        times = []
        for seed in range(repeats):
            start = time.perf_counter()
            make_galaxies(n, anomaly_fraction=fraction, random_state=seed)
            times.append(time.perf_counter() - start)
        rates = [n / t for t in times]
        rows.append(
            [n, fraction, median_range(times, ".2f"), median_range(rates, ".0f")]
        )
        print(rows[-1], flush=True)
    table = markdown_table(
        ["images", "anomaly_fraction", "seconds, median (min-max)", "images/s"], rows
    )
    body = f"{repeats} seeds per size, one after the other.\n\n{table}\n"
    publish(
        "make_galaxies_speed",
        "make_galaxies rendering speed (64x64x3 uint8)",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
