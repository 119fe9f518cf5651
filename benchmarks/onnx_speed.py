"""onnxruntime vs the estimator's own inference: images per second, same batch.

A default-architecture ``ArcsinhScaler -> GalaxyCNNClassifier`` (1 epoch on
1,000 gz1_sdss_64 galaxies; speed does not depend on training) and the CAE's
score terms, exported with ``skgalaxy.io.export_onnx``; 4,096 galaxies scored
in batches of 256 by ``predict_proba`` / ``score_samples`` and by an
onnxruntime session (CPU provider), interleaved, 3 repeats after a warm-up.

    python benchmarks/onnx_speed.py [--repeats 3] [--smoke]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import load_gz1_morphology, markdown_table, median_range, publish
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, CAEAnomalyDetector, GalaxyCNNClassifier
from skgalaxy.io import export_onnx

BATCH = 256


def images_per_second(function, images):
    start = time.perf_counter()
    for i in range(0, len(images), BATCH):
        function(images[i : i + BATCH])
    return len(images) / (time.perf_counter() - start)


def compare(name, model, method, images, train, y, repeats, folder):
    import onnxruntime

    model.fit(train, y) if y is not None else model.fit(train)
    path = Path(folder) / f"{name}.onnx"
    export_onnx(model, path)
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )

    def run_onnx(batch):
        return session.run(None, {"images": batch.astype(np.float32)})

    own = getattr(model, method)
    run_onnx(images[:BATCH]), own(images[:BATCH])  # warm-up
    speeds = {"estimator": [], "onnx": []}
    for _ in range(repeats):
        speeds["estimator"].append(images_per_second(own, images))
        speeds["onnx"].append(images_per_second(run_onnx, images))
    ratios = np.divide(speeds["onnx"], speeds["estimator"])
    return [
        f"{name}.{method} vs its ONNX graph",
        median_range(speeds["estimator"], ".0f"),
        median_range(speeds["onnx"], ".0f"),
        median_range(ratios, ".2f"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    args = parser.parse_args()
    images, y = load_gz1_morphology()
    n_train, n_test = (200, 512) if args.smoke else (1000, 4096)
    train, labels, test = images[:n_train], y[:n_train], images[-n_test:]
    repeats = 1 if args.smoke else args.repeats
    common = dict(max_epochs=1, device="cpu", random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            compare(
                "GalaxyCNNClassifier",
                make_pipeline(ArcsinhScaler(), GalaxyCNNClassifier(**common)),
                "predict_proba",
                test,
                train,
                labels,
                repeats,
                folder,
            ),
            compare(
                "CAEAnomalyDetector",
                make_pipeline(ArcsinhScaler(), CAEAnomalyDetector(**common)),
                "score_samples",
                test,
                train,
                None,
                repeats,
                folder,
            ),
        ]
    body = (
        f"{n_test} gz1_sdss_64 galaxies (uint8), batches of {BATCH}, {repeats} "
        "interleaved repeats after a warm-up; onnxruntime CPU provider with its "
        "default threads. The classifier's graph includes its test-time "
        "augmentation (as predict_proba does); the CAE's graph gives the score "
        "terms, from which score_samples also combines the latent density.\n\n"
        + markdown_table(
            ["model", "estimator images/s", "onnxruntime images/s", "ratio onnx/own"],
            rows,
        )
    )
    publish("onnx_speed", "onnxruntime vs torch inference", body, smoke=args.smoke)


if __name__ == "__main__":
    main()
