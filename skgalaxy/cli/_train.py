"""``skgalaxy train``: fit a model (behind its first step) on images, save it."""

import argparse
from pathlib import Path

import numpy as np

from ._common import (
    MODELS,
    _load_labelled,
    _save,
    add_data_options,
    add_jobs_option,
    build_model,
)


def run(args):
    """Run ``skgalaxy train``."""
    _, name, supervised, _ = MODELS[args.model]
    data = _load_labelled(args, supervised)
    params = {"random_state": args.random_state, "verbose": 0 if args.quiet else 1}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    model = build_model(
        args.model, softening=args.softening, n_jobs=args.jobs, **params
    )
    y = None
    if supervised:
        y = np.asarray(data.target_names)[data.target]
    print(f"training {name} on {len(data.images)} images from {args.data} ...")
    model.fit(data.images, y)
    _save(model, args.out)
    print(f"wrote {args.out}")
    return 0


def _softening(text):
    """``auto`` or a positive number, for argparse."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or a positive number")
    return value


def add_parser(commands):
    """Add the ``train`` sub-command to ``commands``."""
    train = commands.add_parser(
        "train",
        help="fit MODEL on images and save it (safe format)",
        description=(
            "Fit MODEL on images and save it. The networks (classifier, vae, "
            "contrastive, cae) see ArcsinhScaler's output; morphology measures "
            "the images as observed; ahunt is the hunt's default, AHUNTDetector on "
            "the morphology statistics. The file is in skgalaxy's safe format (no "
            "pickle) unless --out ends in .joblib."
        ),
    )
    train.add_argument("model", choices=sorted(MODELS))
    add_data_options(train, labels=True)
    train.add_argument(
        "--out", type=Path, required=True, help="model.skgalaxy (or model.joblib)"
    )
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument(
        "--softening",
        type=_softening,
        default=20.0,
        help="ArcsinhScaler's softening: a number (20 suits 8-bit images) or "
        "'auto' (each band's sky noise: for flux)",
    )
    add_jobs_option(train)
    train.add_argument("--random-state", type=int, default=0)
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run)
