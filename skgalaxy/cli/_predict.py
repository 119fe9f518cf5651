"""``skgalaxy predict``: a saved model's predictions as CSV."""

from pathlib import Path

from ._common import _load, add_data_options, read_data


def run(args):
    """Run ``skgalaxy predict``."""
    from ..scoring import prediction_table

    model = _load(args.model)
    data = read_data(args)
    table = prediction_table(model, data.images)
    if data.get("ids") is not None:  # the catalogue's (or the files') names
        table.insert(1, "id", data.ids)
    if args.out is None:
        print(table.to_csv(index=False), end="")
    else:
        table.to_csv(args.out, index=False)
        print(f"wrote {len(table)} rows to {args.out}")
    return 0


def add_parser(commands):
    """Add the ``predict`` sub-command to ``commands``."""
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
    add_data_options(predict)
    predict.add_argument("--out", type=Path, default=None, help="CSV (default: stdout)")
    predict.set_defaults(handler=run)
