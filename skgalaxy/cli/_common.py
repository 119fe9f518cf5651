"""What the sub-commands share: models, data sources and how model files load."""

import argparse
from pathlib import Path

#: ``skgalaxy train`` models: (module, class, needs labels, the step before it).
#: Networks see ArcsinhScaler's output; the morphology statistics, and AHUNT
#: (which hunts on them), the images as observed.
MODELS = {
    "classifier": ("skgalaxy.classification", "GalaxyCNNClassifier", True, "arcsinh"),
    "vae": ("skgalaxy.representation", "FlowVAETransformer", False, "arcsinh"),
    "contrastive": (
        "skgalaxy.representation",
        "ContrastiveTransformer",
        False,
        "arcsinh",
    ),
    "cae": ("skgalaxy.anomaly", "CAEAnomalyDetector", False, "arcsinh"),
    "morphology": ("skgalaxy.morphology", "MorphologyTransformer", False, None),
    "ahunt": ("skgalaxy.anomaly", "AHUNTDetector", True, "morphology"),
}


def build_model(name, softening=20.0, n_jobs=None, **params):
    """The pipeline ``skgalaxy train NAME`` fits: its first step, then the model.

    ``params`` go to the model, those it does not take (``max_epochs`` of the
    morphology statistics) are left out; ``softening`` is ArcsinhScaler's,
    ``n_jobs`` MorphologyTransformer's. ``"ahunt"`` is the hunt's default:
    the morphology statistics measured once, then AHUNTDetector on them.
    """
    import importlib

    from sklearn.pipeline import make_pipeline

    module, class_name, _, before = MODELS[name]
    cls = getattr(importlib.import_module(module), class_name)
    if name == "morphology":
        params = {**params, "n_jobs": n_jobs}
    accepted = cls().get_params()
    model = cls(**{k: v for k, v in params.items() if k in accepted})
    if before == "arcsinh":
        from ..preprocessing import ArcsinhScaler

        return make_pipeline(ArcsinhScaler(softening=softening), model)
    if before == "morphology":
        from ..morphology import MorphologyTransformer

        return make_pipeline(MorphologyTransformer(n_jobs=n_jobs), model)
    return make_pipeline(model)


def add_jobs_option(parser):
    """``--jobs``: the processes that measure morphology statistics."""

    def jobs(text):
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value == 0 or value < -1:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of processes (a positive integer, or "
                "-1 for every core)"
            )
        return value

    parser.add_argument(
        "--jobs",
        type=jobs,
        default=-1,
        help="processes measuring the morphology statistics (default -1: every core)",
    )


def add_data_options(parser, labels=False):
    """The ``--data`` source and the options of cutout catalogues."""
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="images: .npz, .h5, a folder of cutouts (FITS, PNG/JPEG, .npy), a "
        "catalogue (.csv, .parquet) with a file column, or one cutout file",
    )
    group = parser.add_argument_group("cutout folders and catalogues")
    group.add_argument(
        "--file-column",
        nargs="+",
        default=None,
        help="the catalogue's file column (several: one file per band); default: "
        "file_loc, file, filename, path or file_path",
    )
    if labels:
        group.add_argument("--label-column", default=None, help="class labels")
    group.add_argument(
        "--id-column",
        default=None,
        help="object ids (default: id_str, id, objid, ... or the file names)",
    )
    group.add_argument("--hdu", default="0", help="FITS extension (index or name)")
    group.add_argument(
        "--missing",
        choices=["error", "fill"],
        default="error",
        help="NaN/masked pixels: refuse, or fill with the local background",
    )
    group.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="unreadable or missing files: stop, or leave them out with a warning",
    )
    group.add_argument(
        "--size", type=int, default=64, help="side the cutouts are resized to"
    )


def data_options(args):
    """``load_images`` keywords from :func:`add_data_options`' arguments."""
    from ..datasets._cutouts import is_cutout_source

    if not is_cutout_source(args.data):
        return {}
    options = {
        "file_column": (
            None
            if args.file_column is None
            else args.file_column[0]
            if len(args.file_column) == 1
            else args.file_column
        ),
        "id_column": args.id_column,
        "hdu": int(args.hdu) if str(args.hdu).isdigit() else args.hdu,
        "missing": args.missing,
        "on_error": args.on_error,
    }
    if getattr(args, "label_column", None) is not None:
        options["label_column"] = args.label_column
    return options


def read_data(args, labels=True):
    """The images ``--data`` names, with the cutout options given.

    ``labels=False`` leaves the catalogue's label column to the caller (a
    hunt takes empty cells as "not labelled yet").
    """
    from ..datasets import load_images

    options = data_options(args)
    if not labels:
        options.pop("label_column", None)
    return load_images(args.data, image_size=args.size, **options)


def _load_labelled(args, need_labels):
    data = read_data(args)
    path = args.data
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
        from ..io import save_model

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
    from ..io import load_model

    return load_model(path)
