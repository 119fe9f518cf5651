"""The README's Quickstart, run as a newcomer would: its wall time and its printout.

The Python blocks of the README's "Quickstart" section are joined and run in a
fresh interpreter in an empty folder (``repeats`` times); the script fails if
they fail or if the CNN is not clearly better than chance and than the linear
model on pixels.

    python benchmarks/quickstart_time.py [--repeats 3] [--smoke]
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

from _report import markdown_table, median_range, publish, timed_run

README = Path(__file__).resolve().parents[1] / "README.md"
CHANCE = 0.10  # ten balanced classes


def quickstart_code(readme=README):
    """The README's Quickstart code blocks, joined in order."""
    text = readme.read_text()
    section = re.search(r"^## Quickstart\n(.*?)^## ", text, re.S | re.M)
    if section is None:
        sys.exit("README.md has no '## Quickstart' section")
    blocks = re.findall(r"```python\n(.*?)```", section.group(1), re.S)
    return "\n".join(blocks)


def accuracy(output, label):
    found = re.search(rf"^{re.escape(label)}:? ([0-9.]+)", output, re.M)
    if found is None:
        sys.exit(f"the Quickstart printed no {label!r} line:\n{output}")
    return float(found.group(1))


def run_once(code, again=False):
    """One run in a fresh folder; ``again``: then a second one in the same folder
    (a newcomer running it twice: the saved hunt resumes)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "quickstart.py"
        script.write_text(code)
        stdout, seconds = timed_run(
            [sys.executable, str(script)], "the Quickstart", cwd=folder
        )
        if again:
            timed_run([sys.executable, str(script)], "the Quickstart again", cwd=folder)
    cnn = accuracy(stdout, "CNN accuracy")
    linear = accuracy(stdout, "linear model on pixels")
    print(f"{seconds:.0f} s, CNN {cnn:.3f}, linear {linear:.3f}", flush=True)
    if not (cnn > linear + 0.1 and cnn > CHANCE + 0.3):
        sys.exit(f"the Quickstart's CNN ({cnn}) is not clearly above the baselines")
    return seconds, cnn, linear


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="one run, then again (it resumes)"
    )
    args = parser.parse_args()
    code = quickstart_code()
    if args.smoke:
        runs = [run_once(code, again=True)]
    else:
        runs = [run_once(code) for _ in range(args.repeats)]
    seconds, cnn, linear = zip(*runs)
    body = (
        f"The README's Quickstart blocks run as one script in a fresh interpreter, "
        f"{len(runs)} times one after the other (same seeds: the accuracies repeat; "
        "the time includes importing torch and skgalaxy). Chance accuracy 0.10.\n\n"
        + markdown_table(
            ["measure", "median (min-max)"],
            [
                ["wall time, s", median_range(seconds, ".0f")],
                ["GalaxyCNNClassifier(max_epochs=15) test accuracy", median_range(cnn)],
                ["LogisticRegression on pixels test accuracy", median_range(linear)],
            ],
        )
    )
    publish("quickstart_time", "The README Quickstart", body, smoke=args.smoke)


if __name__ == "__main__":
    main()
