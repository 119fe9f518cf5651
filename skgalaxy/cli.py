"""The ``skgalaxy`` command (also ``python -m skgalaxy``)."""

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from . import __version__

__all__ = ["build_parser", "main"]

MODELS = {
    "classifier": ("skgalaxy.classification", "GalaxyCNNClassifier", True),
    "vae": ("skgalaxy.representation", "FlowVAETransformer", False),
    "cae": ("skgalaxy.anomaly", "CAEAnomalyDetector", False),
    "ahunt": ("skgalaxy.anomaly", "AHUNTDetector", True),
}


def _run_demo(args):
    from ._demo import run_demo

    return run_demo(args)


def _run_fetch(args):
    from .datasets import fetch_galaxy10

    data = fetch_galaxy10(
        args.variant, data_home=args.data_home, url=args.url, sha256=args.sha256
    )
    print(
        f"Galaxy10 {args.variant}: {len(data.images)} images of shape "
        f"{data.images.shape[1:]}, {len(data.target_names)} classes"
    )
    return 0


def _load_labelled(path, need_labels):
    from .datasets import load_images

    data = load_images(path)
    if need_labels and data.target is None:
        raise ValueError(f"{path} has no labels; this model needs them.")
    return data


def _save(model, path):
    """Save in the safe format, or with joblib for a ``.joblib``/``.pkl`` path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".joblib", ".pkl"):
        import joblib

        joblib.dump(model, path)
    else:
        from .io import save_model

        save_model(model, path)


def _load(path):
    """A model from the safe format, or from joblib for a ``.joblib``/``.pkl`` path.

    A joblib file is a program: the commands' help says to load only files
    from people you trust.
    """
    if not path.is_file():
        raise FileNotFoundError(f"No model file {path}")
    if path.suffix.lower() in (".joblib", ".pkl"):
        import joblib

        try:
            return joblib.load(path)
        except Exception as exc:
            raise ValueError(f"{path} is not a joblib model file: {exc}") from exc
    from .io import load_model

    return load_model(path)


def _run_train(args):
    import importlib

    from sklearn.pipeline import make_pipeline

    from .preprocessing import ArcsinhScaler

    module, name, supervised = MODELS[args.model]
    data = _load_labelled(args.data, supervised)
    params = {"random_state": args.random_state, "verbose": 0 if args.quiet else 1}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    estimator = getattr(importlib.import_module(module), name)(**params)
    model = make_pipeline(ArcsinhScaler(), estimator)
    y = None
    if supervised:
        y = np.asarray(data.target_names)[data.target]
    print(f"training {name} on {len(data.images)} images from {args.data} ...")
    model.fit(data.images, y)
    _save(model, args.out)
    print(f"wrote {args.out}")
    return 0


def _run_predict(args):
    from .datasets import load_images
    from .scoring import prediction_table

    model = _load(args.model)
    data = load_images(args.data)
    table = prediction_table(model, data.images)
    if args.out is None:
        print(table.to_csv(index=False), end="")
    else:
        table.to_csv(args.out, index=False)
        print(f"wrote {len(table)} rows to {args.out}")
    return 0


def _run_score(args):
    from .scoring import local_client, score_survey

    if args.data.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"--data must be an HDF5 file of images, got {args.data}.")
    if not args.data.is_file():
        raise FileNotFoundError(f"No image file at {args.data}.")
    if args.workers < 1 or args.batch_size < 1:
        raise ValueError("--workers and --batch-size must be positive.")
    if args.workers > 1 and args.model.suffix.lower() in (".joblib", ".pkl"):
        raise ValueError("--workers > 1 needs a safe model file (skgalaxy train).")
    if not args.model.is_file():
        raise FileNotFoundError(f"No model file {args.model}")
    model = _load(args.model) if args.workers == 1 else args.model
    with ExitStack() as stack:
        client = None
        if args.workers > 1:
            client = stack.enter_context(local_client(args.workers))
        out = score_survey(
            model,
            args.data,
            args.out,
            chunk_size=args.batch_size,
            client=client,
            progress=not args.quiet,
        )
    print(f"wrote {out}")
    return 0


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


def _hunt_pool(path):
    """The images of a hunt: ``.npz`` in memory, HDF5 read lazily."""
    from .datasets import H5Images, load_npz_images

    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return load_npz_images(path).images
    if suffix in (".h5", ".hdf5"):
        if not Path(path).is_file():
            raise FileNotFoundError(f"No image file at {path}.")
        try:
            return H5Images(path)
        except OSError as exc:
            raise ValueError(f"Cannot read images from {path}: {exc}") from exc
    raise ValueError(
        f"Unknown image file format {suffix!r} of {path}; use .npz or .h5."
    )


def _run_hunt(args):
    try:
        from .app import serve
    except ImportError as exc:
        raise ValueError(
            'The labelling page needs the app extra: pip install "skgalaxy[app]" '
            f"({exc})."
        ) from exc
    from sklearn.pipeline import make_pipeline

    from .active import HuntSession
    from .anomaly import AHUNTDetector
    from .preprocessing import ArcsinhScaler

    images = _hunt_pool(args.data)
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
            detector = make_pipeline(
                ArcsinhScaler(),
                AHUNTDetector(n_queries=args.queries, random_state=0),
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
            n_queries=args.queries,
            interest=interest,
            allow_pickle=args.allow_pickle,
        )
    serve(session, host=args.host, port=args.port, open_browser=not args.no_browser)
    return 0


def _port(text):
    """A TCP port number, for argparse."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


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
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(handler=_run_demo)

    fetch = commands.add_parser("fetch", help="download and cache a data set")
    fetch.add_argument("dataset", choices=["galaxy10"])
    fetch.add_argument("--variant", choices=["decals", "sdss"], default="decals")
    fetch.add_argument("--data-home", default=None, help="cache folder")
    fetch.add_argument("--url", default=None, help="a mirror of the file")
    fetch.add_argument("--sha256", default=None, help="checksum for --url")
    fetch.set_defaults(handler=_run_fetch)

    train = commands.add_parser(
        "train",
        help="fit ArcsinhScaler + MODEL on images and save it (safe format)",
        description=(
            "Fit ArcsinhScaler + MODEL on images and save it. The file is in "
            "skgalaxy's safe format (no pickle) unless --out ends in .joblib."
        ),
    )
    train.add_argument("model", choices=sorted(MODELS))
    train.add_argument("--data", type=Path, required=True, help=".npz or .h5 images")
    train.add_argument(
        "--out", type=Path, required=True, help="model.skgalaxy (or model.joblib)"
    )
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--random-state", type=int, default=0)
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_run_train)

    predict = commands.add_parser(
        "predict",
        help="apply a saved model to images; write a CSV",
        description=(
            "Apply a saved model to images and write a CSV. Model files in "
            "skgalaxy's safe format (from skgalaxy train) hold no code. A joblib "
            "model file (.joblib) is a program: loading it runs code from the "
            "file. Load .joblib files only if you made them yourself or they come "
            "from someone you trust."
        ),
    )
    predict.add_argument("model", type=Path, help="a file from skgalaxy train")
    predict.add_argument("--data", type=Path, required=True, help=".npz or .h5 images")
    predict.add_argument("--out", type=Path, default=None, help="CSV (default: stdout)")
    predict.set_defaults(handler=_run_predict)

    score = commands.add_parser(
        "score",
        help="score a survey larger than memory into resumable Parquet parts",
        description=(
            "Apply a saved model to the images of an HDF5 file chunk by chunk, "
            "writing one Parquet part per chunk into --out. Run the same command "
            "again after an interruption: only missing parts are computed."
        ),
    )
    score.add_argument("model", type=Path, help="a model file from skgalaxy train")
    score.add_argument("--data", type=Path, required=True, help="HDF5 file of images")
    score.add_argument("--out", type=Path, required=True, help="scores.parquet folder")
    score.add_argument("--workers", type=int, default=1, help="dask workers")
    score.add_argument("--batch-size", type=int, default=4096, help="images per part")
    score.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    score.set_defaults(handler=_run_score)

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
    hunt.add_argument("--data", type=Path, required=True, help=".npz or .h5 images")
    hunt.add_argument("--session", type=Path, required=True, help="the hunt's folder")
    hunt.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a model file (skgalaxy train ahunt), or a .joblib pipeline ending in "
        "AHUNTDetector (only files you trust); default: ArcsinhScaler + "
        "AHUNTDetector",
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
    hunt.add_argument("--queries", type=int, default=10, help="galaxies per round")
    hunt.add_argument("--host", default="127.0.0.1", help="address to bind")
    hunt.add_argument("--port", type=_port, default=8765, help="0: any free port")
    hunt.add_argument("--no-browser", action="store_true", help="do not open a browser")
    hunt.set_defaults(handler=_run_hunt)
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
