"""Reading cutout files lazily: files/s, and score_survey's memory over 100,000 files.

The gz1_sdss_64 galaxies are written as PNG files (uint8 colour) and as
FITS band cubes (float32 ``(3, 64, 64)``), and as one HDF5 file. Reading:
every image read through ``load_cutouts(..., lazy=True)`` in slices of 256
(the batches estimators and ``score_survey`` ask for), with 1 and 2 decoding
threads, against ``H5Images`` over the HDF5 file; 3 repeats, median (range),
and each reader's rate as a ratio to the HDF5 file's in the same run.

Survey: ``score_survey`` of a saved ``ArcsinhScaler -> CAEAnomalyDetector``
(2 epochs on 1,000 galaxies; not what is measured) over ``--files`` PNG
files (the galaxies tiled), in a fresh process; its peak resident memory
against the size of the images held in memory.

    python benchmarks/cutout_reading.py [--files 100000] [--smoke]
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

READERS = [("PNG", 1), ("PNG", 2), ("FITS", 1), ("FITS", 2), ("HDF5", None)]


def write_files(folder, images, n_files, formats=("PNG", "FITS")):
    """``n_files`` cutouts per format (the images tiled); returns their folders."""
    from astropy.io import fits
    from PIL import Image

    folders = {}
    for kind in formats:
        folders[kind] = folder / kind.lower()
        folders[kind].mkdir()
    for i in range(n_files):
        image = images[i % len(images)]
        if "PNG" in folders:
            Image.fromarray(image).save(folders["PNG"] / f"g{i:06d}.png")
        if "FITS" in folders:
            cube = np.moveaxis(image, -1, 0).astype(np.float32) / 255
            fits.PrimaryHDU(cube).writeto(folders["FITS"] / f"g{i:06d}.fits")
    return folders


def read_all(images, batch=256):
    """Seconds to read every image of a lazy source in slices of ``batch``."""
    start = time.perf_counter()
    for first in range(0, len(images), batch):
        np.asarray(images[first : first + batch])
    return time.perf_counter() - start


def reading_rows(folder, images, repeats):
    import h5py

    from skgalaxy.datasets import H5Images, load_cutouts

    folders = write_files(folder, images, len(images))
    with h5py.File(folder / "images.h5", "w") as f:
        f.create_dataset("images", data=images, chunks=(256, 64, 64, 3))
    rates = {}
    for kind, threads in READERS:
        runs = []
        for _ in range(repeats):
            if kind == "HDF5":
                source = H5Images(folder / "images.h5")
            else:
                source = load_cutouts(folders[kind], lazy=True).images
                source.n_threads = threads
            runs.append(len(images) / read_all(source))
        rates[(kind, threads)] = runs
    h5 = rates[("HDF5", None)]
    rows = []
    for (kind, threads), runs in rates.items():
        ratios = [r / h for r, h in zip(runs, h5)]
        rows.append(
            [
                kind,
                "-" if threads is None else str(threads),
                _median_range(runs, ".0f"),
                _median_range(ratios, ".3f"),
            ]
        )
    return rows


def _median_range(values, fmt):
    from _report import median_range

    return median_range(values, fmt)


def score_files(folder):
    """Run in a fresh process: score the PNG folder; print seconds and peak MB."""
    from skgalaxy.datasets import load_cutouts
    from skgalaxy.scoring import score_survey

    start = time.perf_counter()
    files = load_cutouts(folder / "png", lazy=True).images
    score_survey(folder / "cae.skgalaxy", files, folder / "scores", progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak}))


def survey_row(folder, images, n_files):
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    from skgalaxy import ArcsinhScaler, CAEAnomalyDetector
    from skgalaxy.io import save_model

    model = make_pipeline(
        ArcsinhScaler(), CAEAnomalyDetector(max_epochs=2, device="cpu", random_state=0)
    ).fit(images[:1000])
    save_model(model, folder / "cae.skgalaxy")
    start = time.perf_counter()
    write_files(folder, images, n_files, formats=("PNG",))
    written = time.perf_counter() - start
    command = [sys.executable, __file__, "--score", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"scoring failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    scores = pd.read_parquet(folder / "scores")
    if len(scores) != n_files or not np.isfinite(scores["score_samples"]).all():
        sys.exit(f"score_survey scored {len(scores)} of {n_files} files")
    in_memory_mb = n_files * images[0].nbytes / 2**20
    return [
        f"{n_files:,}",
        f"{written:.0f}",
        f"{result['seconds']:.0f}",
        f"{n_files / result['seconds']:.0f}",
        f"{result['peak_mb']:.0f}",
        f"{in_memory_mb:.0f}",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="tiny run, no record")
    parser.add_argument("--score", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score:
        return score_files(args.score)

    from _report import load_gz1_morphology, markdown_table, publish

    images, _ = load_gz1_morphology()
    n_read, repeats = (300, 1) if args.smoke else (len(images), 3)
    n_files = 1200 if args.smoke else args.files
    with tempfile.TemporaryDirectory() as tmp:
        reading = reading_rows(Path(tmp), images[:n_read], repeats)
    print(reading, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        survey = survey_row(Path(tmp), images, n_files)
    print(survey, flush=True)
    body = (
        f"Reading: {n_read} gz1_sdss_64 galaxies (64x64, 3 bands) as PNG files, "
        "FITS band cubes (float32) or one HDF5 file, read in slices of 256; "
        f"{repeats} repeats, median (range); ratio: this reader's files/s over "
        "the HDF5 file's in the same repeat.\n\n"
        + markdown_table(
            ["files", "decoding threads", "images/s", "rate vs one HDF5 file"],
            reading,
        )
        + "\n\nScoring a survey of PNG files: `score_survey` of a saved "
        "ArcsinhScaler -> CAEAnomalyDetector over `load_cutouts(folder, "
        "lazy=True)`, chunks of 4,096, in a fresh process.\n\n"
        + markdown_table(
            [
                "files",
                "seconds to write them",
                "seconds to score",
                "files/s",
                "peak MB",
                "MB of the images in memory",
            ],
            [survey],
        )
    )
    publish(
        "cutout_reading",
        "Cutout files read lazily (PNG, FITS, HDF5)",
        body,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
