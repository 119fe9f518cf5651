"""The ``skgalaxy`` command (also ``python -m skgalaxy``): a module per sub-command.

Each module has ``add_parser(commands)``, which adds its sub-command and sets
``run`` as its handler, and ``run(args)``, which returns the exit status.
"""

import argparse
import sys

from .. import __version__
from . import _demo, _fetch, _hunt, _predict, _score, _train

__all__ = ["build_parser", "main"]


def build_parser():
    """Build the argument parser of the ``skgalaxy`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser, one sub-command per job.

    Examples
    --------
    >>> from skgalaxy.cli import build_parser
    >>> args = build_parser().parse_args(["train", "cae", "--data", "x.npz",
    ...                                   "--out", "cae.joblib"])
    >>> args.model, str(args.out)
    ('cae', 'cae.joblib')
    """
    parser = argparse.ArgumentParser(
        prog="skgalaxy",
        description="Deep learning for galaxy images, the scikit-learn way.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skgalaxy {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (_demo, _fetch, _train, _predict, _score, _hunt):
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the ``skgalaxy`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 for a failed job (the error goes to stderr), 2 for a
        usage error.

    Examples
    --------
    >>> from skgalaxy.cli import main
    >>> main(["predict", "absent.joblib", "--data", "absent.npz"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (OSError, ValueError) as exc:
        print(f"skgalaxy {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
