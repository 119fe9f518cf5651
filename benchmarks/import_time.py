"""Import time of skgalaxy's modules, and whether they load torch.

Each import runs in a fresh interpreter (``python -X importtime``); the
cumulative time of the module is read from its report. ``--compare-to`` a
checkout of another revision (e.g. ``git worktree add /tmp/old REV``) adds
its times side by side.

    python benchmarks/import_time.py [--repeats 5] [--compare-to PATH] [--smoke]
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _report import markdown_table, publish

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["skgalaxy", "skgalaxy.metrics", "skgalaxy.datasets", "skgalaxy.anomaly"]


def import_seconds(module, checkout):
    """Cumulative import time of ``module`` (s) and whether torch was loaded."""
    code = f"import sys, {module}; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(checkout)},
    )
    line = [row for row in result.stderr.splitlines() if row.endswith(f"| {module}")]
    microseconds = int(line[-1].split("|")[1])
    return microseconds / 1e6, result.stdout.strip() == "True"


def measure(checkout, repeats):
    rows = {}
    for module in MODULES:
        runs = [import_seconds(module, checkout) for _ in range(repeats)]
        times = [t for t, _ in runs]
        rows[module] = (statistics.median(times), min(times), max(times), runs[0][1])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare-to", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true", help="1 repeat, no record")
    args = parser.parse_args()
    repeats = 1 if args.smoke else args.repeats
    checkouts = {"this checkout": ROOT}
    if args.compare_to is not None:
        checkouts = {f"{args.compare_to}": args.compare_to, **checkouts}
    header = ["module"]
    results = {}
    for name, path in checkouts.items():
        header += [f"{name}: s median (min-max)", f"{name}: loads torch"]
        results[name] = measure(path, repeats)
    rows = []
    for module in MODULES:
        row = [module]
        for name in checkouts:
            median, low, high, torch_loaded = results[name][module]
            row += [f"{median:.2f} ({low:.2f}-{high:.2f})", str(torch_loaded)]
        rows.append(row)
    body = (
        f"Cumulative import time in a fresh interpreter, {repeats} runs each.\n\n"
        + markdown_table(header, rows)
    )
    publish("import_time", "Import time", body, smoke=args.smoke)


if __name__ == "__main__":
    main()
