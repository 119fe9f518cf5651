"""Each estimator's default fit time on real 64x64 galaxies, and its model file sizes.

Every estimator with its defaults (``device="cpu"``, ``random_state=0``) behind
an ``ArcsinhScaler`` is fitted on the first 1,000 and 5,000 gz1_sdss_64
galaxies (the classifiers with their 4-class labels), once per size; the
model fitted on the larger set is then written as a safe ``.skgalaxy`` file
and as a joblib pickle, and loaded back (median of 3 timed rounds each, after
an untimed one).

    python benchmarks/fit_times.py [--sizes 1000 5000] [--smoke]
"""

import argparse
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from _report import load_gz1_morphology, markdown_table, publish
from sklearn.pipeline import make_pipeline

from skgalaxy import (
    AHUNTDetector,
    ArcsinhScaler,
    CAEAnomalyDetector,
    ContrastiveTransformer,
    FlowVAETransformer,
    GalaxyCNNClassifier,
)
from skgalaxy.io import load_model, save_model

#: (name, class, fitted with labels)
ESTIMATORS = [
    ("GalaxyCNNClassifier", GalaxyCNNClassifier, True),
    ("FlowVAETransformer", FlowVAETransformer, False),
    ("CAEAnomalyDetector", CAEAnomalyDetector, False),
    ("AHUNTDetector", AHUNTDetector, True),
    ("ContrastiveTransformer", ContrastiveTransformer, False),
]


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def _save_load_seconds(save, load, model, path, repeats=3):
    """Median save and load seconds over ``repeats``, after one untimed round
    (the first round pays one-off imports, e.g. skops for scikit-learn parts)."""
    save(model, path)
    load(path)
    saves = [timed(save, model, path)[1] for _ in range(repeats)]
    loads = [timed(load, path)[1] for _ in range(repeats)]
    return float(np.median(saves)), float(np.median(loads))


def file_sizes(model):
    """Safe file and joblib pickle: size in MB, save s, load s (each)."""
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for save, load, name in [
            (save_model, load_model, "m.skgalaxy"),
            (joblib.dump, joblib.load, "m.joblib"),
        ]:
            path = Path(folder, name)
            seconds = _save_load_seconds(save, load, model, path)
            figures += [path.stat().st_size / 1e6, *seconds]
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    order = np.random.default_rng(0).permutation(len(y))
    images, y = images[order], y[order]
    sizes = [100] if args.smoke else sorted(args.sizes)
    extra = dict(max_epochs=1) if args.smoke else {}
    times, files = {}, {}
    for name, estimator, supervised in ESTIMATORS:
        for n in sizes:
            model = make_pipeline(
                ArcsinhScaler(), estimator(device="cpu", random_state=0, **extra)
            )
            fit_args = (images[:n], y[:n]) if supervised else (images[:n],)
            _, seconds = timed(model.fit, *fit_args)
            times[name, n] = seconds
            print(f"{name} on {n} images: {seconds:.0f} s", flush=True)
        files[name] = file_sizes(model)
        figures = np.round(files[name], 2)
        print(f"{name} files (MB, s, s; MB, s, s): {figures}", flush=True)
    rows = [
        [name, *(f"{times[name, n]:.0f}" for n in sizes)]
        + [f"{value:.2f}" for value in files[name]]
        for name, _, _ in ESTIMATORS
    ]
    header = ["estimator (defaults)", *(f"fit s, {n} images" for n in sizes)]
    header += ["safe file MB", "save s", "load s", "joblib MB", "save s", "load s"]
    body = (
        "One fit per size, with nothing else on the machine; first galaxies of "
        "one fixed shuffle of gz1_sdss_64 (64x64x3); classifiers on the 4-class "
        "labels. Files of the model fitted on the most images; save and load "
        "seconds are medians of 3 after one untimed round.\n\n"
        + markdown_table(header, rows)
    )
    publish(
        "fit_times", "Default fit times and model file sizes", body, smoke=args.smoke
    )


if __name__ == "__main__":
    main()
