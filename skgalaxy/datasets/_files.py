"""Real-image cutout files (``.npz``) and a loader that dispatches on the source."""

import os
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._cutouts import CUTOUT_SUFFIXES, is_cutout_source, load_cutouts
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
        The ``.npz`` file.
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
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array (.npy), not named arrays")
        with loaded as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
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
        target, names = _check_labels(path, target, names, len(images))
    if image_size is not None:
        images = resize_images(images, image_size)
    return Bunch(
        images=images,
        target=target,
        target_names=names,
        DESCR=f"Images from {path.name}.",
        **arrays,
    )


def _check_labels(path, target, names, n_images):
    """Validated int64 labels and class names of a cutout file."""
    target = np.asarray(target)
    if target.ndim != 1 or len(target) != n_images:
        raise ValueError(
            f"{path}: labels must be one per image ({n_images}), got shape "
            f"{target.shape}."
        )
    if target.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: labels must be integers (indices into the class names), got "
            f"dtype {target.dtype}."
        )
    if len(target) and target.min() < 0:
        raise ValueError(f"{path}: labels must be >= 0, found {target.min()}.")
    if names is None:
        n_classes = int(target.max()) + 1 if len(target) else 0
        if n_classes > max(1, len(target)):
            raise ValueError(
                f"{path}: label {target.max()} implies {n_classes} classes for "
                f"{len(target)} images; store class_names with the labels."
            )
        names = np.array([str(c) for c in range(n_classes)])
    names = np.asarray(names)
    if names.ndim != 1:
        raise ValueError(f"{path}: class_names must be 1-D, got {names.shape}.")
    if len(target) and target.max() >= len(names):
        raise ValueError(
            f"{path}: label {target.max()} has no class name ({len(names)} class "
            "names given)."
        )
    return target.astype(np.int64), names


def load_images(path, image_size=64, **cutout_options):
    """Load images from any source the commands take.

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` file (:func:`load_npz_images`), a ``.h5``/``.hdf5`` file
        (:func:`load_galaxy10`), or cutouts: a folder, a catalogue
        (``.csv``, ``.parquet``) or one FITS, PNG/JPEG or ``.npy`` file
        (:func:`load_cutouts`).
    image_size : int, default=64
        Side of the returned square images (cutouts: None keeps their shape).
    **cutout_options
        ``file_column``, ``label_column``, ``id_column``, ``hdu`` and
        ``missing`` of :func:`load_cutouts`.

    Returns
    -------
    data : Bunch
        ``images``, ``target``, ``target_names`` and what the loader adds.

    Examples
    --------
    >>> from skgalaxy.datasets import load_images
    >>> data = load_images("Galaxy10_DECals.h5")  # doctest: +SKIP
    """
    suffix = Path(path).suffix.lower()
    if is_cutout_source(path):
        return load_cutouts(path, size=image_size, **cutout_options)
    if cutout_options:
        raise ValueError(
            f"{sorted(cutout_options)} apply to cutout folders, catalogues and "
            f"files, not to {path}."
        )
    if suffix == ".npz":
        return load_npz_images(path, image_size=image_size)
    if suffix in (".h5", ".hdf5"):
        return load_galaxy10(path, image_size=image_size)
    raise ValueError(
        f"Unknown image file format {suffix!r} of {path}; use .npz, .h5, a folder "
        f"of cutouts, a catalogue (.csv, .parquet) or one of "
        f"{sorted(set(CUTOUT_SUFFIXES))}."
    )


def locate_gz1():
    """Find the real SDSS/Galaxy Zoo 1 cutouts.

    Looks at ``$SKGALAXY_GZ1``, then ``shared/data/`` and ``../shared/data/``
    from the working directory and from the source checkout.

    Returns
    -------
    path : pathlib.Path or None
        The file, or None where it is absent.

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
