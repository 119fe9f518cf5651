"""Score your own FITS cutouts
===========================

Survey cutouts come as FITS files of calibrated flux, one band cube per
galaxy, with NaN pixels at the edges, and a catalogue naming them. This
example writes such files (from synthetic galaxies, so that it runs
anywhere), reads them with :func:`~skgalaxy.datasets.load_cutouts`, fills the
masked pixels from the local background, stretches the flux with a softening
set from each band's sky noise, and ranks the galaxies by how unusual they
are, keeping the catalogue's ids.

Run it with ``python examples/your_own_cutouts.py`` (``SKGALAXY_FAST=1`` for
a quick run); it needs ``pip install "skgalaxy[files]"``.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _config import size
from astropy.io import fits
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, CAEAnomalyDetector
from skgalaxy.datasets import load_cutouts, make_galaxies

folder = Path(tempfile.mkdtemp())
galaxies = make_galaxies(size(400, 60), image_size=32, random_state=0)
rng = np.random.default_rng(0)
rows = []
for i, image in enumerate(galaxies.images):
    flux = np.moveaxis(image, -1, 0).astype(np.float32) * 1e-10  # (bands, H, W)
    flux[:, :, : rng.integers(0, 3)] = np.nan  # a masked edge, as at a CCD border
    hdu = fits.PrimaryHDU(flux)
    hdu.header["RA"], hdu.header["DEC"] = 150 + i * 1e-3, 2.2
    hdu.writeto(folder / f"cutout_{i:04d}.fits")
    rows.append({"file_loc": f"cutout_{i:04d}.fits", "id_str": f"J{i:04d}"})
pd.DataFrame(rows).to_csv(folder / "catalogue.csv", index=False)

# %%
# Read the catalogue: relative file names are taken from its folder; the
# header's RA and DEC join the returned table; NaN pixels are filled.
data = load_cutouts(folder / "catalogue.csv", missing="fill")
print(data.images.shape, data.images.dtype, "masked pixels:", int(data.masks.sum()))
print(data.catalogue[["id_str", "RA", "DEC"]].head(3))

# %%
# Flux near 1e-10 needs its own softening: ``"auto"`` takes each band's sky
# noise. The autoencoder then ranks the galaxies, most unusual first.
model = make_pipeline(
    ArcsinhScaler(softening="auto"),
    CAEAnomalyDetector(max_epochs=size(20, 2), random_state=0),
).fit(data.images)
print("softening per band:", model[0].softening_)
ranking = pd.DataFrame(
    {"id": data.ids, "score": model.score_samples(data.images)}
).sort_values("score")
print(ranking.head(5).to_string(index=False))
