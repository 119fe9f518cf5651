"""The ``skgalaxy`` command (also ``python -m skgalaxy``)."""

import argparse
import sys
from pathlib import Path

import numpy as np

from . import __version__


def _load_demo_data(args):
    from .datasets import load_images, make_galaxies

    if args.data is None:
        n = 600 if args.quick else 2000
        data = make_galaxies(n, random_state=args.random_state)
        source = f"make_galaxies({n}, random_state={args.random_state})"
    else:
        data = load_images(args.data)
        if data.target is None:
            raise ValueError(f"{args.data} has no labels; the demo needs them.")
        source = str(args.data)
    return data, source


def _class_table(data):
    counts = np.bincount(data.target, minlength=len(data.target_names))
    width = max(len(str(name)) for name in data.target_names)
    return "\n".join(
        f"  {str(name):<{width}}  {count:>6}"
        for name, count in zip(data.target_names, counts)
    )


def _run_demo(args):
    from .preprocessing import ArcsinhScaler

    data, source = _load_demo_data(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"skgalaxy {__version__} demo")
    print(
        f"data: {source}: {data.images.shape[0]} images of shape "
        f"{data.images.shape[1:]} ({data.images.dtype})"
    )
    print(_class_table(data))
    scaled = ArcsinhScaler().fit_transform(data.images)
    low, high = float(scaled.min()), float(scaled.max())
    print(f"ArcsinhScaler: scaled pixel range [{low:.3f}, {high:.3f}]")
    _save_example_grid(data, out / "examples.png")
    return 0


def _save_example_grid(data, path):
    try:
        from .plotting import plot_class_grid
    except ImportError:
        print("matplotlib is not installed: no figures written.")
        return
    plot_class_grid(data.images, data.target, data.target_names).savefig(path)
    print(f"wrote {path}")


def build_parser():
    """The argument parser of the ``skgalaxy`` command."""
    parser = argparse.ArgumentParser(
        prog="skgalaxy",
        description="Deep learning for galaxy images, the scikit-learn way.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skgalaxy {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run the main job on synthetic galaxies (or --data) and report"
    )
    demo.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a .npz cutout file or a Galaxy10 .h5 file (default: make_galaxies)",
    )
    demo.add_argument(
        "--out",
        default="skgalaxy-report",
        help="folder for the report (default: %(default)s)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="small data and few epochs: finishes in minutes",
    )
    demo.add_argument("--random-state", type=int, default=0)
    demo.set_defaults(handler=_run_demo)
    return parser


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"skgalaxy {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
