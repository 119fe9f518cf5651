"""Real-image cutout files (``.npz``) and a loader that dispatches on the suffix."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._galaxy10 import load_galaxy10, resize_images

GZ1_FILENAME = "gz1_sdss_64.npz"


def load_npz_images(path, image_size=None):
    """Load a ``.npz`` file of labelled NHWC cutouts.

    The file holds ``images`` (N, H, W, C) and, optionally, ``labels`` (or
    ``target``) with ``class_names`` (or ``target_names``), like
    ``gz1_sdss_64.npz``; any other array of length N (``objid``, say) is
    returned too.

    Parameters
    ----------
    path : str or path-like
    image_size : int, default=None
        Resize by area averaging to this side; None keeps the stored size.

    Returns
    -------
    data : Bunch
        ``images``, ``target`` (int64, or None without labels),
        ``target_names`` and the file's other per-image arrays.

    Examples
    --------
    >>> from skgalaxy.datasets import load_npz_images, locate_gz1
    >>> data = load_npz_images(locate_gz1())  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No image file at {path}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read {path} as a .npz file: {exc}") from exc
    images = arrays.pop("images", None)
    if images is None or images.ndim != 4:
        raise ValueError(
            f"{path} needs an 'images' array of shape (N, H, W, C); found keys "
            f"{sorted(arrays) + (['images'] if images is not None else [])}."
        )
    target = arrays.pop("labels", arrays.pop("target", None))
    names = arrays.pop("class_names", arrays.pop("target_names", None))
    if target is not None:
        target = np.asarray(target, dtype=np.int64)
        if names is None:
            names = np.array([str(c) for c in range(target.max() + 1)])
    if image_size is not None:
        images = resize_images(images, image_size)
    return Bunch(
        images=images,
        target=target,
        target_names=names,
        DESCR=f"Images from {path.name}.",
        **arrays,
    )


def load_images(path, image_size=64):
    """Load labelled images from a ``.npz`` cutout file or a Galaxy10 ``.h5`` file.

    Examples
    --------
    >>> from skgalaxy.datasets import load_images
    >>> data = load_images("Galaxy10_DECals.h5")  # doctest: +SKIP
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return load_npz_images(path, image_size=image_size)
    if suffix in (".h5", ".hdf5"):
        return load_galaxy10(path, image_size=image_size)
    raise ValueError(
        f"Unknown image file format {suffix!r} of {path}; use .npz or .h5."
    )


def locate_gz1():
    """Path of the real SDSS/Galaxy Zoo 1 cutouts, or None where they are absent.

    Looks at ``$SKGALAXY_GZ1``, then ``shared/data/`` and ``../shared/data/``
    from the working directory and from the source checkout.

    Examples
    --------
    >>> from skgalaxy.datasets import locate_gz1
    >>> path = locate_gz1()  # a Path, or None on machines without the file
    """
    env = os.environ.get("SKGALAXY_GZ1")
    if env:
        return Path(env) if Path(env).is_file() else None
    checkout = Path(__file__).resolve().parents[2]
    for root in (Path.cwd(), checkout):
        for candidate in (root / "shared" / "data", root.parent / "shared" / "data"):
            if (candidate / GZ1_FILENAME).is_file():
                return candidate / GZ1_FILENAME
    return None
