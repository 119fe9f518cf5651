"""The ``skgalaxy`` command (also ``python -m skgalaxy``)."""

import argparse
import sys
from pathlib import Path

import numpy as np

from . import __version__


def _load_demo_data(args):
    from .datasets import load_images, make_galaxies

    if args.data is None:
        n = 1000 if args.quick else 3000
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
    _save_figure(
        out / "examples.png",
        "plot_class_grid",
        data.images,
        data.target,
        data.target_names,
    )
    _demo_classifier(data, args, out)
    _demo_flow_vae(data, args, out)
    return 0


def _demo_flow_vae(data, args, out):
    """Fit the flow-prior VAE; report held-out ELBO, save reconstructions, samples."""
    from sklearn.model_selection import train_test_split

    from .preprocessing import ArcsinhScaler
    from .representation import FlowVAETransformer

    X_train, X_test = train_test_split(
        data.images, test_size=0.25, random_state=args.random_state
    )
    scaler = ArcsinhScaler().fit(X_train)
    epochs = 5 if args.quick else 20
    vae = FlowVAETransformer(
        n_components=16,
        max_epochs=epochs,
        random_state=args.random_state,
        verbose=int(args.verbose),
    )
    print(
        f"\nFlowVAETransformer: training on {len(X_train)} images, {epochs} epochs ..."
    )
    vae.fit(scaler.transform(X_train))
    test = scaler.transform(X_test)
    elbo = vae.score(test)
    print(
        f"held-out ELBO {elbo:.1f} nats per image "
        f"({-elbo / (test[0].size * np.log(2)):.3f} bits/dim)"
    )
    recon = vae.inverse_transform(vae.transform(test[:8]))
    samples = vae.sample(8, random_state=args.random_state)
    _save_figure(
        out / "vae_reconstructions.png",
        "plot_image_rows",
        {"input": test[:8], "reconstruction": recon},
    )
    _save_figure(out / "vae_samples.png", "plot_image_rows", {"sample": samples})


def _demo_classifier(data, args, out):
    """Train GalaxyCNNClassifier on 75 % of the data; report on the rest."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from .classification import GalaxyCNNClassifier
    from .preprocessing import ArcsinhScaler

    X_train, X_test, y_train, y_test = train_test_split(
        data.images,
        data.target,
        test_size=0.25,
        stratify=data.target,
        random_state=args.random_state,
    )
    epochs = 10 if args.quick else 20
    model = make_pipeline(
        ArcsinhScaler(),
        GalaxyCNNClassifier(
            max_epochs=epochs, random_state=args.random_state, verbose=int(args.verbose)
        ),
    )
    print(
        f"\nGalaxyCNNClassifier: training on {len(X_train)} images, {epochs} epochs ..."
    )
    model.fit(X_train, y_train)
    pred = model.predict(X_test)
    labels = np.arange(len(data.target_names))
    print(
        f"test accuracy {accuracy_score(y_test, pred):.3f}, "
        f"macro-F1 {f1_score(y_test, pred, average='macro'):.3f} "
        f"({len(X_test)} images)"
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    matrix = confusion_matrix(y_test, pred, labels=labels)
    for i, row in enumerate(matrix):
        print(
            f"  {i:>2} "
            + " ".join(f"{v:>4}" for v in row)
            + f"   {data.target_names[i]}"
        )
    _save_figure(
        out / "confusion_matrix.png",
        "plot_confusion_matrix",
        y_test,
        pred,
        labels,
        [str(n) for n in data.target_names],
    )


def _save_figure(path, function, *args):
    """Draw with ``skgalaxy.plotting.<function>`` and save, if matplotlib exists."""
    try:
        from . import plotting

        figure = getattr(plotting, function)(*args)
    except ImportError:
        print(f"matplotlib is not installed: {path.name} not written.")
        return
    figure.savefig(path, dpi=80)
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
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="show per-epoch training progress"
    )
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
