"""Survey-size scoring: a CAE over 200,000 64x64 images from an HDF5 file.

A default-architecture ``ArcsinhScaler -> CAEAnomalyDetector`` pipeline
(2 epochs on 1,000 gz1_sdss_64 galaxies; its quality is not what is measured)
is saved with ``skgalaxy.io.save_model``; an ``images`` file of ``n`` images
is written by tiling the gz1 galaxies. Each mode runs in its own process and
reports its wall time and peak resident memory (the largest process, dask
workers included):

- in memory: the images read into one array, ``model.score_samples(X)``;
- ``score_survey`` here (no client), into Parquet parts;
- ``score_survey`` on ``skgalaxy.scoring.local_client`` clusters of 1 and 2
  worker processes (one dask thread each; torch gets the cores divided among
  the workers: dask's default OMP/MKL_NUM_THREADS=1 would leave a worker one
  core).

The scores of every mode are checked equal to the in-memory ones.

    python benchmarks/survey_scoring.py [--images 200000] [--smoke]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODES = ["memory", "survey", "dask-1", "dask-2"]


def peak_rss_mb():
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def prepare(folder, n_images):
    import h5py
    from _report import load_gz1_morphology
    from sklearn.pipeline import make_pipeline

    from skgalaxy import ArcsinhScaler, CAEAnomalyDetector
    from skgalaxy.io import save_model

    images, _ = load_gz1_morphology()
    model = make_pipeline(
        ArcsinhScaler(), CAEAnomalyDetector(max_epochs=2, device="cpu", random_state=0)
    ).fit(images[:1000])
    save_model(model, folder / "cae.skgalaxy")
    with h5py.File(folder / "survey.h5", "w") as f:
        out = f.create_dataset(
            "images", (n_images, *images.shape[1:]), dtype=np.uint8, chunks=True
        )
        for start in range(0, n_images, len(images)):
            stop = min(start + len(images), n_images)
            out[start:stop] = images[: stop - start]


def run_mode(mode, folder):
    """Score in one mode; print JSON with the seconds and the peak memory."""
    import pandas as pd

    from skgalaxy.datasets import H5Images
    from skgalaxy.io import load_model
    from skgalaxy.scoring import score_survey

    model_path, survey = folder / "cae.skgalaxy", folder / "survey.h5"
    start = time.perf_counter()
    if mode == "memory":
        scores = load_model(model_path).score_samples(np.asarray(H5Images(survey)))
    else:
        out = folder / f"scores-{mode}.parquet"
        if mode == "survey":
            score_survey(model_path, survey, out, progress=False)
        else:
            from skgalaxy.scoring import local_client

            with local_client(int(mode.split("-")[1])) as client:
                score_survey(model_path, survey, out, client=client, progress=False)
        table = pd.read_parquet(out).sort_values("index")
        scores = table["score_samples"].to_numpy()
    seconds = time.perf_counter() - start
    np.save(folder / f"scores-{mode}.npy", scores)
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return run_mode(args.mode, args.folder)

    from _report import markdown_table, publish

    n_images = 3000 if args.smoke else args.images
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder, n_images)
        results = {}
        for mode in MODES:
            command = [sys.executable, __file__, "--mode", mode, "--folder", tmp]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"{mode} failed:\n{done.stdout}\n{done.stderr}")
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            print(mode, results[mode], flush=True)
        reference = np.load(folder / "scores-memory.npy")
        for mode in MODES:
            scores = np.load(folder / f"scores-{mode}.npy")
            difference = float(np.max(np.abs(scores - reference)))
            seconds = results[mode]["seconds"]
            rows.append(
                [
                    mode,
                    f"{seconds:.0f}",
                    f"{n_images / seconds:.0f}",
                    f"{results['memory']['seconds'] / seconds:.2f}",
                    f"{results[mode]['peak_mb']:.0f}",
                    f"{difference:.1e}",
                ]
            )
    body = (
        f"{n_images} images of 64x64x3 (uint8, {n_images * 64 * 64 * 3 / 1e9:.2f} GB) "
        "in an HDF5 file; chunks of 4,096 images; one run per mode, each in a "
        "fresh process. Peak memory: the largest process (dask workers "
        "included). Throughput ratio: in-memory seconds / this mode's seconds.\n\n"
        + markdown_table(
            [
                "mode",
                "seconds",
                "images/s",
                "throughput vs in-memory",
                "peak MB",
                "max |score - in-memory|",
            ],
            rows,
        )
    )
    publish(
        "survey_scoring",
        "Survey-size scoring (CAE, HDF5, dask)",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
