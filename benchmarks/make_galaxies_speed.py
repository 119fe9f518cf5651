"""Rendering speed of make_galaxies (target: 1,000 64x64 images in a few seconds).

python benchmarks/make_galaxies_speed.py [--repeats 3] [--note TEXT]
"""

import argparse
import statistics
import time

from _report import markdown_table, record

from skgalaxy.datasets import make_galaxies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="conditions of the run")
    args = parser.parse_args()
    rows = []
    for n, fraction in ((1000, 0.0), (1000, 0.1), (5000, 0.0)):
        times = []
        for seed in range(args.repeats):
            start = time.perf_counter()
            make_galaxies(n, anomaly_fraction=fraction, random_state=seed)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        rows.append([n, fraction, f"{median:.2f}", f"{n / median:.0f}"])
        print(rows[-1], flush=True)
    table = markdown_table(
        ["images", "anomaly_fraction", "median seconds", "images/s"], rows
    )
    print(table)
    record(
        "make_galaxies_speed",
        "make_galaxies rendering speed (64x64x3 uint8)",
        f"Median of {args.repeats} seeds. {args.note}\n\n{table}\n",
    )


if __name__ == "__main__":
    main()
