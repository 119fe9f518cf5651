"""``skgalaxy score``: a saved model over a survey (HDF5 or cutout files), resumable."""

from contextlib import ExitStack
from pathlib import Path

from ._common import _load, add_data_options, data_options


def run(args):
    """Run ``skgalaxy score``."""
    from ..datasets import load_cutouts
    from ..datasets._cutouts import is_cutout_source
    from ..scoring import local_client, score_survey

    source = args.data
    if is_cutout_source(args.data):  # read file by file, chunk by chunk
        options = {"size": args.size, **data_options(args)}
        source = load_cutouts(args.data, lazy=True, **options).images
    elif args.data.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(
            f"--data must be an HDF5 file of images or cutouts, got {args.data}."
        )
    elif not args.data.is_file():
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
            source,
            args.out,
            chunk_size=args.batch_size,
            client=client,
            progress=not args.quiet,
        )
    print(f"wrote {out}")
    return 0


def add_parser(commands):
    """Add the ``score`` sub-command to ``commands``."""
    score = commands.add_parser(
        "score",
        help="score a survey larger than memory into resumable Parquet parts",
        description=(
            "Apply a saved model to the images of an HDF5 file, or to cutout "
            "files (a folder or a catalogue), chunk by chunk, "
            "writing one Parquet part per chunk into --out. Run the same command "
            "again after an interruption: only missing parts are computed."
        ),
    )
    score.add_argument("model", type=Path, help="a model file from skgalaxy train")
    add_data_options(score)
    score.add_argument("--out", type=Path, required=True, help="scores.parquet folder")
    score.add_argument("--workers", type=int, default=1, help="dask workers")
    score.add_argument("--batch-size", type=int, default=4096, help="images per part")
    score.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    score.set_defaults(handler=run)
