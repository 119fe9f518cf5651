"""Data sets: synthetic galaxies, Galaxy10 files, cutout files and catalogues."""

from ._cutouts import load_cutouts, read_cutout
from ._files import load_images, load_npz_images, locate_gz1
from ._galaxy10 import (
    GALAXY10_CLASSES,
    GALAXY10_REMOTE,
    GALAXY10_SDSS_CLASSES,
    fetch_galaxy10,
    get_data_home,
    load_galaxy10,
    resize_images,
)
from ._lazy import CutoutFiles, H5Images, iter_batches
from ._synthetic import ANOMALY_TYPES, make_galaxies

__all__ = [
    "ANOMALY_TYPES",
    "GALAXY10_CLASSES",
    "GALAXY10_REMOTE",
    "GALAXY10_SDSS_CLASSES",
    "CutoutFiles",
    "H5Images",
    "fetch_galaxy10",
    "get_data_home",
    "iter_batches",
    "load_cutouts",
    "load_galaxy10",
    "load_images",
    "load_npz_images",
    "locate_gz1",
    "make_galaxies",
    "read_cutout",
    "resize_images",
]
