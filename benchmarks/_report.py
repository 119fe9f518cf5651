"""Shared helpers of the benchmark scripts: data, machine facts, RESULTS.md."""

import argparse
import ast
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).with_name("RESULTS.md")
#: The current section of each benchmark, one file a section.
SECTIONS = Path(__file__).with_name("results")
MORPHOLOGY_CLASSES = ("elliptical", "spiral", "edge_on", "merger")


def load_gz1_morphology():
    """Real SDSS cutouts with the 4-class task: the two spiral classes merged."""
    from skgalaxy.datasets import load_npz_images, locate_gz1

    path = locate_gz1()
    if path is None:
        sys.exit("gz1_sdss_64.npz not found: set SKGALAXY_GZ1 or put ../shared beside")
    data = load_npz_images(path)
    names = [str(n) for n in data.target_names]
    merged = np.array([n if not n.startswith("spiral") else "spiral" for n in names])
    y = merged[data.target]
    return data.images, y


def timed_run(command, what, **kwargs):
    """Run ``command`` as a newcomer would; its stdout and wall seconds.

    Exits with the command's output when it fails.
    """
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, **kwargs
    )
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{what} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout, seconds


def median_range(values, fmt=".3f"):
    """``median (min-max)`` of a list of numbers, as the tables print them."""
    values = np.asarray(values, dtype=float)
    return f"{np.median(values):{fmt}} ({values.min():{fmt}}-{values.max():{fmt}})"


def commit():
    """The checkout's commit (with ``+changes`` when the tree differs from it)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "skgalaxy")
    return head + ("+changes" if dirty else "")


def matmul_peak(size=2048, repeats=10):
    """Dense float32 matmul FLOP/s: the machine's speed, measured, not its name."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def cpu_model():
    """The CPU's model name from ``/proc/cpuinfo``, or the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    # Two machines can share a CPU model name and differ 2-3x in speed: the
    # matmul rate, measured when the section is written, tells them apart.
    return (
        f"{os.cpu_count()} CPU cores ({cpu_model()}, dense matmul "
        f"{matmul_peak() / 1e9:.0f} GFLOP/s), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
        f"Python {platform.python_version()}"
    )


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def record(name, title, body):
    """Write the section ``name``: ``results/<name>.md``, replaced whole.

    A run that changes the defaults (``--set``) records nothing: its figures
    are evidence for a decision, for the commit message, not a current result.
    """
    # Quoted as a shell needs it, so the recorded command reruns as it is.
    command = "python " + shlex.join(
        [f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]
    )
    if "--set" in sys.argv[1:]:
        print(f"not recorded ({command} changes the defaults): quote it in a commit")
        return
    section = (
        f"<!-- {name}:start -->\n## {title}\n\n"
        f"Date: {datetime.date.today()} · commit {commit()} · machine: {machine()} · "
        f"command: `{command}`\n\n"
        f"{body}\n<!-- {name}:end -->\n"
    )
    path = SECTIONS / f"{name}.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(section)
    print(f"recorded in {path} (listed in {RESULTS.name})")


def publish(name, title, body, smoke):
    """Print a section's ``body``; :func:`record` it unless ``smoke``
    (a smoke run checks that the script runs and records nothing)."""
    print(body)
    if not smoke:
        record(name, title, body)


def parameter(item):
    """``NAME=VALUE`` as ``(name, value)``, the value a Python literal."""
    name, _, value = item.partition("=")
    try:
        if not name.isidentifier():
            raise ValueError
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(
            f"{item!r} is not NAME=VALUE with VALUE a Python literal "
            "(quote strings: pooling=\"'mean'\")"
        ) from None


def add_set_option(parser, estimator):
    """Add ``--set NAME=VALUE ...``, parameters of ``estimator`` to change."""
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        type=parameter,
        metavar="NAME=VALUE",
        help=f"{estimator} parameters to change (Python literals)",
    )


def parameters(args):
    """The parameters ``--set`` names, as a dict of Python values."""
    return dict(args.set)


def described(params):
    """``name=value, ...`` as a call would spell ``params``."""
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def run_parts(prefix, runners, images, y, args):
    """Run the parts ``args.part`` of a benchmark, each over ``args.seeds`` seeds.

    ``runners[part]`` is ``(run_seed, body_of, title)``: ``run_seed(images, y,
    seed, args)`` returns one seed's result and the split sizes, ``body_of(runs,
    sizes, args)`` the section's tables. Each part is printed and, unless
    ``args.smoke``, recorded as the section ``{prefix}_{part}`` (a ``--set``
    run is printed only, see :func:`record`).
    """
    for part in args.part:
        run_seed, body_of, title = runners[part]
        runs, sizes = [], None
        for seed in range(args.seeds):
            result, sizes = run_seed(images, y, seed, args)
            runs.append(result)
            print(part, seed, result, flush=True)
        body = (
            f"Seeds {list(range(args.seeds))}; median (min-max) over seeds.\n\n"
            + body_of(runs, sizes, args)
        )
        publish(f"{prefix}_{part}", title, body + "\n", smoke=args.smoke)
