"""``skgalaxy hunt``: a hunt in the browser over your images."""

import argparse
from pathlib import Path

import numpy as np

from ._common import _load, add_data_options, add_jobs_option, build_model, read_data


def _parse_interest(items):
    """``["merger=2", "lens"]`` -> ``{"merger": 2.0, "lens": 1.0}`` (None if empty)."""
    interest = {}
    for item in items or []:
        name, _, weight = item.partition("=")
        try:
            interest[name.strip()] = float(weight) if weight else 1.0
        except ValueError as exc:
            raise ValueError(
                f"--interest {item!r}: the weight is not a number."
            ) from exc
    return interest or None


def _cards(data, show):
    """The page's catalogue: the ids, and the ``--show`` columns."""
    import pandas as pd

    absent = [c for c in show if c not in data.catalogue.columns]
    if absent:
        raise ValueError(
            f"--show {absent}: the catalogue has no such column; its columns: "
            f"{list(data.catalogue.columns)}."
        )
    return pd.concat(
        [pd.DataFrame({"id": data.ids}), data.catalogue[show].reset_index(drop=True)],
        axis=1,
    )


def _hunt_pool(args):
    """The images of a hunt, the labels known already (None where unknown) and
    the catalogue its cards show (None for files without one).

    ``.npz`` files and cutouts are read into memory, HDF5 lazily. Known labels
    come from the ``.npz`` file's labels or the catalogue's ``--label-column``
    (empty cells: not labelled yet).
    """
    from ..datasets import H5Images, load_npz_images
    from ..datasets._cutouts import is_cutout_source

    path = Path(args.data)
    suffix = path.suffix.lower()
    if is_cutout_source(path):
        label_column = args.label_column
        data = read_data(args, labels=False)  # empty label cells are allowed
        cards = _cards(data, args.show or [])
        if label_column is None:
            return data.images, None, cards
        if label_column not in data.catalogue.columns:
            raise ValueError(f"The catalogue has no label column {label_column!r}.")
        column = data.catalogue[label_column]
        known = np.where(column.isna(), None, column.astype(object))
        return data.images, known, cards
    if suffix == ".npz":
        data = load_npz_images(path)
        if data.target is None:
            return data.images, None, None
        known = np.asarray(data.target_names, dtype=object)[data.target]
        return data.images, known, None
    if suffix in (".h5", ".hdf5"):
        if not path.is_file():
            raise FileNotFoundError(f"No image file at {path}.")
        try:
            return H5Images(path), None, None
        except OSError as exc:
            raise ValueError(f"Cannot read images from {path}: {exc}") from exc
    raise ValueError(
        f"Unknown image file format {suffix!r} of {path}; use .npz, .h5, a folder "
        "of cutouts or a catalogue."
    )


def run(args):
    """Run ``skgalaxy hunt``."""
    try:
        from ..app import serve
    except ImportError as exc:
        raise ValueError(
            'The labelling page needs the app extra: pip install "skgalaxy[app]" '
            f"({exc})."
        ) from exc
    from ..active import HuntSession

    images, known, cards = _hunt_pool(args)
    if (args.show or args.link) and cards is None:
        raise ValueError("--show and --link need a catalogue or a folder of cutouts.")
    interest = _parse_interest(args.interest)
    if HuntSession.saved_in(args.session):
        print(f"resuming the hunt in {args.session}", flush=True)
        session = HuntSession(
            images, directory=args.session, allow_pickle=args.allow_pickle
        )
        if interest is not None:
            session.set_interest(interest)
    else:
        if args.model is not None:
            detector = _load(args.model)
        else:
            detector = build_model(
                "ahunt", n_jobs=args.jobs, n_queries=args.queries, random_state=0
            )
        print(
            f"starting a hunt in {args.session} over {len(images)} images "
            "(fitting the model first)",
            flush=True,
        )
        session = HuntSession(
            images,
            detector,
            directory=args.session,
            y=known,
            n_queries=args.queries,
            interest=interest,
            allow_pickle=args.allow_pickle,
        )
    serve(
        session,
        host=args.host,
        port=args.port,
        open_browser=not args.no_browser,
        catalogue=cards,
        link=args.link,
    )
    return 0


def _port(text):
    """A TCP port number, for argparse."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def add_parser(commands):
    """Add the ``hunt`` sub-command to ``commands``."""
    hunt = commands.add_parser(
        "hunt",
        help="hunt anomalies in your images with a labelling page in the browser",
        description=(
            "Start (or resume) a hunt over the images of FILE, saved in the folder "
            "--session, and serve its labelling page on this machine. Every label "
            "is saved as you give it; stop with Ctrl-C and run the same command "
            "again to resume. Needs the app extra: pip install 'skgalaxy[app]'."
        ),
    )
    add_data_options(hunt, labels=True)
    hunt.add_argument("--session", type=Path, required=True, help="the hunt's folder")
    hunt.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a model file (skgalaxy train ahunt, or any .skgalaxy pipeline ending "
        "in AHUNTDetector), or a .joblib one (only files you trust); default: "
        "AHUNTDetector on the images' morphology statistics",
    )
    hunt.add_argument(
        "--allow-pickle",
        action="store_true",
        help="let the hunt folder hold (and resume from) a pickled model, which "
        "runs code when loaded: only for folders you trust",
    )
    hunt.add_argument(
        "--interest",
        action="append",
        metavar="CLASS[=WEIGHT]",
        help="a class to hunt for (repeat for several); default: every class you "
        "name that is not 'not interesting'",
    )
    hunt.add_argument(
        "--show",
        nargs="+",
        metavar="COLUMN",
        help="catalogue columns each card shows (e.g. ra dec redshift)",
    )
    hunt.add_argument(
        "--link",
        metavar="URL",
        help="a link on each card, filled from its catalogue row, e.g. "
        "'https://www.legacysurvey.org/viewer?ra={ra}&dec={dec}&zoom=16'",
    )
    hunt.add_argument("--queries", type=int, default=10, help="galaxies per round")
    add_jobs_option(hunt)
    hunt.add_argument("--host", default="127.0.0.1", help="address to bind")
    hunt.add_argument("--port", type=_port, default=8765, help="0: any free port")
    hunt.add_argument("--no-browser", action="store_true", help="do not open a browser")
    hunt.set_defaults(handler=run)
