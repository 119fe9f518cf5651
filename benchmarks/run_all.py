"""Run every benchmark script, one after the other (alone on the machine).

    python benchmarks/run_all.py            # the full runs; they rewrite RESULTS.md
    python benchmarks/run_all.py --smoke    # each script's smoke mode (CI): tiny
                                            # data, one seed, writes nothing

Benchmarks measure time: run them alone, with nothing else on the cores.
``--only NAME ...`` runs a subset.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: In the order they run; the longest last.
SCRIPTS = [
    "import_time",
    "quickstart_time",
    "demo_quick",
    "make_galaxies_speed",
    "anomaly_visibility",
    "classifier_speed",
    "onnx_speed",
    "survey_scoring",
    "cutout_reading",
    "hunt_page",
    "synthetic_galaxies",
    "classifier_accuracy",
    "fit_times",
    "flow_vae",
    "representations",
    "cae_anomaly",
    "ahunt_hunt",
    "hunt_routes",
    "morphology_statmorph",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, default=SCRIPTS)
    args = parser.parse_args()
    failed = []
    for name in [s for s in SCRIPTS if s in args.only]:
        command = [sys.executable, str(HERE / f"{name}.py")]
        if args.smoke:
            command.append("--smoke")
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=HERE, check=False)
        seconds = time.perf_counter() - start
        print(f"== {name}: exit {result.returncode} in {seconds:.0f} s", flush=True)
        if result.returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
