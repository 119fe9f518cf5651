"""``skgalaxy demo --quick`` run as a newcomer would: its wall time and its figures.

The command runs in a fresh process for each seed (``--random-state``), one
after the other; its summary lines give the classifier's accuracy, the
anomaly detectors' ROC AUC on the planted anomalies and the hunt's final
rank-weighted scores.

    python benchmarks/demo_quick.py [--seeds 3] [--smoke]
"""

import argparse
import re
import sys
import tempfile

from _report import markdown_table, median_range, publish, timed_run

#: (row of the table, regular expression over the demo's summary, target).
FIGURES = [
    ("classifier test accuracy", r"GalaxyCNNClassifier .*accuracy ([0-9.]+)", "≥ 0.80"),
    ("classifier macro-F1", r"GalaxyCNNClassifier .*macro-F1 ([0-9.]+)", ""),
    (
        "CAEAnomalyDetector alone, ROC AUC",
        r"CAEAnomalyDetector .*ROC AUC ([0-9.]+)",
        "",
    ),
    (
        "morphology statistics alone, Gaussian mixture, ROC AUC",
        r"morphology alone.*ROC AUC ([0-9.]+)",
        "",
    ),
    (
        "CAE codes + morphology, Gaussian mixture, ROC AUC",
        r"CAE codes \+ morphology.*ROC AUC ([0-9.]+)",
        "≥ 0.90",
    ),
    ("AHUNT hunt, final rank-weighted score", r"final RWS ([0-9.]+)", "clearly above"),
    ("isolation forest, final rank-weighted score", r"isolation forest ([0-9.]+)", ""),
]


def run_once(seed):
    with tempfile.TemporaryDirectory() as folder:
        command = ["skgalaxy", "demo", "--quick", "--quiet", "--out", folder]
        stdout, seconds = timed_run([*command, "--random-state", str(seed)], "the demo")
    summary = stdout.split("\nsummary\n", 1)[-1]
    values = []
    for name, pattern, _ in FIGURES:
        found = re.search(pattern, summary)
        if found is None:
            sys.exit(f"the demo's summary has no {name!r}:\n{summary}")
        values.append(float(found.group(1)))
    print(f"seed {seed}: {seconds:.0f} s, {values}", flush=True)
    return seconds, values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="one seed, no record")
    args = parser.parse_args()
    runs = [run_once(seed) for seed in range(1 if args.smoke else args.seeds)]
    seconds = [s for s, _ in runs]
    columns = list(zip(*[values for _, values in runs]))
    rows = [["wall time, s", median_range(seconds, ".0f"), "≤ 180"]]
    rows += [
        [name, median_range(column), target]
        for (name, _, target), column in zip(FIGURES, columns)
    ]
    body = (
        f"`skgalaxy demo --quick --quiet --random-state SEED` in a fresh process for "
        f"seeds {list(range(len(runs)))}, one after the other; median (min-max). "
        "The anomalies are planted make_galaxies ones (satellite trails, saturated "
        "stars, lenses), scored with the demo's held-out normal images.\n\n"
        + markdown_table(["measure", "median (min-max)", "target (#15)"], rows)
    )
    publish("demo_quick", "skgalaxy demo --quick", body + "\n", smoke=args.smoke)


if __name__ == "__main__":
    main()
