"""Astronomers' own cutouts: FITS, PNG/JPEG and ``.npy`` files, folders, catalogues."""

import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._labels import is_unlabelled, ordered_unique
from .._sky import border_mask
from ._galaxy10 import resize_images

__all__ = ["CUTOUT_SUFFIXES", "load_cutouts", "read_cutout", "read_object"]

#: File suffixes :func:`load_cutouts` reads, by reader.
CUTOUT_SUFFIXES = {
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".fits.gz": "fits",
    ".fits.fz": "fits",
    ".png": "picture",
    ".jpg": "picture",
    ".jpeg": "picture",
    ".tif": "picture",
    ".tiff": "picture",
    ".npy": "npy",
}
CATALOGUE_SUFFIXES = (".csv", ".parquet", ".pq")
#: Catalogue column names recognised without being named (Zoobot's first).
FILE_COLUMNS = ("file_loc", "file", "filename", "path", "file_path")
ID_COLUMNS = ("id_str", "id", "objid", "object_id", "iauname")
#: FITS header cards kept as catalogue columns, where a file has them.
HEADER_KEYS = ("RA", "DEC", "CRVAL1", "CRVAL2", "OBJECT", "BAND", "FILTER", "EXPTIME")
#: Largest number of bands of a ``.npy`` or FITS cutout read as channels.
MAX_BANDS = 64


def _suffix(path):
    """The file's cutout suffix (``.fits.gz`` is one), lower case."""
    name = Path(path).name.lower()
    for suffix in sorted(CUTOUT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return Path(path).suffix.lower()


def is_cutout_source(path):
    """Whether :func:`load_cutouts` reads ``path``: a folder, a catalogue, a cutout."""
    path = Path(path)
    return (
        path.is_dir()
        or path.suffix.lower() in CATALOGUE_SUFFIXES
        or _suffix(path) in CUTOUT_SUFFIXES
    )


def _as_hwc(array, path, bands_first):
    """A cutout as ``(H, W, bands)``: 2-D is one band; 3-D as ``bands_first`` says."""
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise ValueError(
            f"{path}: a cutout must be 2-D or 3-D, got shape {array.shape}."
        )
    if bands_first:
        array = np.moveaxis(array, 0, -1)
    if array.shape[-1] > MAX_BANDS:
        raise ValueError(
            f"{path}: shape {array.shape} has {array.shape[-1]} bands; a "
            f"{'(bands, H, W)' if bands_first else '(H, W, bands)'} cube is expected."
        )
    return array


def _read_fits(path, hdu):
    try:
        from astropy.io import fits
    except ImportError as exc:
        raise ImportError(
            'Reading FITS needs astropy: pip install "skgalaxy[files]".'
        ) from exc
    try:
        with fits.open(path, memmap=False) as hdus:
            unit = hdus[hdu]
            if unit.data is None:
                raise ValueError(f"HDU {hdu!r} holds no image")
            data = np.asarray(unit.data)
            header = {k: unit.header[k] for k in HEADER_KEYS if k in unit.header}
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"Cannot read {path} as a FITS cutout: {exc}") from exc
    # FITS stores a band cube as (bands, H, W).
    image = _as_hwc(data, path, bands_first=True)
    if np.ma.isMaskedArray(data):
        image = np.ma.filled(image.astype(np.float32), np.nan)
    if image.dtype.kind != "u" or image.dtype.itemsize != 1:
        image = image.astype(np.float32)
    return image, header


def _read_picture(path):
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            'Reading PNG/JPEG needs Pillow: pip install "skgalaxy[files]".'
        ) from exc
    try:
        with Image.open(path) as picture:
            mode = {"L": "L", "I;16": "I", "I": "I", "F": "F"}.get(picture.mode, "RGB")
            image = np.asarray(picture.convert(mode))
    except OSError as exc:
        raise ValueError(f"Cannot read {path} as an image: {exc}") from exc
    if image.dtype != np.uint8:
        image = image.astype(np.float32)
    return _as_hwc(image, path, bands_first=False), {}


def _read_npy(path):
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read {path} as a .npy cutout: {exc}") from exc
    if array.dtype.kind not in "uif":
        raise ValueError(f"{path}: a cutout holds numbers, got dtype {array.dtype}.")
    if array.ndim == 3 and array.shape[0] <= 5 < array.shape[-1]:
        raise ValueError(
            f"{path}: shape {array.shape} looks like (bands, H, W); store "
            "(H, W, bands), e.g. np.moveaxis(array, 0, -1)."
        )
    image = _as_hwc(array, path, bands_first=False)
    return (image if image.dtype == np.uint8 else image.astype(np.float32)), {}


def read_cutout(path, hdu=0):
    """One cutout file as an ``(H, W, bands)`` array and its header values.

    Parameters
    ----------
    path : str or path-like
        A FITS (``.fits``, ``.fit``, ``.fts``, compressed ``.fits.gz`` or
        ``.fits.fz``), PNG/JPEG/TIFF or ``.npy`` file.
    hdu : int or str, default=0
        The FITS extension holding the image (index or name).

    Returns
    -------
    image : ndarray of shape (H, W, bands)
        The pixels: uint8 for 8-bit pictures and arrays, else float32 (flux
        stays flux).
    header : dict
        The FITS header cards of ``HEADER_KEYS`` the file has.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skgalaxy.datasets import read_cutout
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "galaxy.npy"
    >>> np.save(path, np.ones((8, 8), np.float32))
    >>> image, header = read_cutout(path)
    >>> image.shape, image.dtype, header
    ((8, 8, 1), dtype('float32'), {})
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No cutout file at {path}.")
    kind = CUTOUT_SUFFIXES.get(_suffix(path))
    if kind is None:
        raise ValueError(
            f"Unknown cutout format {_suffix(path)!r} of {path}; use one of "
            f"{sorted(set(CUTOUT_SUFFIXES))}."
        )
    if kind == "fits":
        return _read_fits(path, hdu)
    return _read_picture(path) if kind == "picture" else _read_npy(path)


def _natural(path):
    """Sort key: ``obj2`` before ``obj10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", Path(path).name)]


def _centre_crop(image, side):
    height, width = image.shape[:2]
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def same_shape(images, files, size):
    """Stack cutouts, each centre-cropped to a square and resized to ``size``."""
    if size is None:
        shapes = {image.shape for image in images}
        if len(shapes) > 1:
            first = images[0].shape
            odd = next(f for f, image in zip(files, images) if image.shape != first)
            raise ValueError(
                f"The cutouts differ in shape ({files[0]}: {first}, {odd}: "
                f"{next(i.shape for i in images if i.shape != first)}); give size= "
                "to crop and resize them to one side."
            )
        return np.stack(images)
    out = []
    for image in images:
        square = _centre_crop(image, min(image.shape[:2]))
        out.append(resize_images(square[None], size)[0])
    return np.stack(out)


def _background(image, band, finite):
    """A band's local background: the median of its finite border pixels."""
    plane, good = image[..., band], finite[..., band]
    values = plane[good & border_mask(*plane.shape)]
    if not values.size:
        values = plane[good]
    return float(np.median(values)) if values.size else 0.0


def fill_missing(images, files, missing):
    """Apply the ``missing`` policy to NaN/inf pixels; return images and masks."""
    if images.dtype == np.uint8:
        return images, None
    bad = ~np.isfinite(images)
    if not bad.any():
        return images, None
    if missing == "error":
        first = int(np.flatnonzero(bad.reshape(len(images), -1).any(axis=1))[0])
        n_bad = int(bad.reshape(len(images), -1).any(axis=1).sum())
        raise ValueError(
            f"{n_bad} cutouts have NaN or masked pixels ({files[first]}: "
            f"{int(bad[first].sum())} of them); pass missing='fill' to replace them "
            "by the local background (the mask comes back in .masks)."
        )
    filled = images.copy()
    for i in np.flatnonzero(bad.reshape(len(images), -1).any(axis=1)):
        finite = ~bad[i]
        for band in range(images.shape[-1]):
            filled[i, ..., band][bad[i, ..., band]] = _background(
                images[i], band, finite
            )
    return filled, bad.any(axis=-1)


def _files_of(source):
    """``(catalogue, files column)`` of a folder, a list of paths or a catalogue."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), None
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(
                (
                    p
                    for p in path.iterdir()
                    if p.is_file() and _suffix(p) in CUTOUT_SUFFIXES
                ),
                key=_natural,
            )
            if not files:
                raise ValueError(
                    f"{path} holds no cutout files ({sorted(set(CUTOUT_SUFFIXES))})."
                )
            return pd.DataFrame({"file": [str(f) for f in files]}), "file"
        if path.suffix.lower() in CATALOGUE_SUFFIXES:
            if not path.is_file():
                raise FileNotFoundError(f"No catalogue at {path}.")
            read = pd.read_csv if path.suffix.lower() == ".csv" else pd.read_parquet
            return read(path), None
        return pd.DataFrame({"file": [str(path)]}), "file"
    files = [str(p) for p in source]
    if not files:
        raise ValueError("load_cutouts got an empty list of files.")
    return pd.DataFrame({"file": files}), "file"


def _pick_column(catalogue, given, candidates, what, required):
    if given is not None:
        missing = [c for c in np.atleast_1d(given) if c not in catalogue.columns]
        if missing:
            raise ValueError(
                f"The catalogue has no {what} column {missing}; its columns: "
                f"{list(catalogue.columns)}."
            )
        return given
    found = next((c for c in candidates if c in catalogue.columns), None)
    if found is None and required:
        raise ValueError(
            f"The catalogue names no {what} column (tried {list(candidates)}); "
            f"pass file_column=. Its columns: {list(catalogue.columns)}."
        )
    return found


def _resolve(value, base):
    path = Path(str(value))
    return path if path.is_absolute() or base is None else base / path


def _labels(catalogue, column):
    """Integer target and class names from a column of any label type."""
    values = catalogue[column].to_numpy(dtype=object)
    unlabelled = np.array([is_unlabelled(v) for v in values])
    if unlabelled.any():
        raise ValueError(
            f"{int(unlabelled.sum())} rows of the catalogue have no {column!r}; "
            "drop them, or load without label_column."
        )
    names = np.array(sorted(ordered_unique(values), key=str), dtype=object)
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup[v] for v in values], dtype=np.int64), names


def load_cutouts(
    source,
    *,
    file_column=None,
    label_column=None,
    id_column=None,
    hdu=0,
    size=None,
    missing="error",
    on_error="raise",
    lazy=False,
):
    """Load astronomers' cutouts: FITS, PNG/JPEG or ``.npy`` files, a catalogue.

    Parameters
    ----------
    source : str, path-like, list of paths or pandas.DataFrame
        A folder (its cutout files, ``obj2`` before ``obj10``), one file, a list of
        files, or a catalogue: a ``.csv`` or ``.parquet`` file or a
        DataFrame with a file column and optional label and id columns
        (Zoobot's ``file_loc`` and ``id_str`` are recognised). Relative
        paths in a catalogue file are taken from its folder.
    file_column : str or list of str, default=None
        The catalogue's file column; a list names one column per band (one
        file per band, stacked in that order). None: the first of
        ``file_loc``, ``file``, ``filename``, ``path``, ``file_path``.
    label_column : str, default=None
        The catalogue's class labels (any type), returned as ``target``.
    id_column : str, default=None
        The catalogue's object ids. None: the first of ``id_str``, ``id``,
        ``objid``, ``object_id``, ``iauname``, else the file names.
    hdu : int or str, default=0
        The FITS extension holding the image. A 2-D image is one band, a 3-D
        one a ``(bands, H, W)`` cube.
    size : int, default=None
        Centre-crop every cutout to a square and resize it to this side (area
        averaging). None: the cutouts must share one shape.
    missing : {"error", "fill"}, default="error"
        NaN or masked pixels of float cutouts: "error" refuses them, naming
        the first file; "fill" replaces them by the local background (the
        median of the band's finite border pixels) and returns the mask.
    on_error : {"raise", "skip"}, default="raise"
        A file that is missing or cannot be read as a cutout, or an object
        whose shape differs from most others' (without ``size``): "raise"
        stops with an error naming the file; "skip" leaves the object out,
        warns, and lists it in ``skipped``. With ``lazy=True``, "skip"
        leaves out the files that do not exist (the others are read later).
    lazy : bool, default=False
        Return ``images`` as a :class:`~skgalaxy.datasets.CutoutFiles` that
        reads only the files it is indexed with (for surveys larger than
        memory: ``fit``'s lazy path, ``score_survey``); ``masks`` is then
        None and the catalogue holds no header values.

    Returns
    -------
    data : Bunch
        ``images`` (n, H, W, bands): uint8 for 8-bit pictures, else float32
        flux; ``target`` and ``target_names`` (None without
        ``label_column``); ``ids``; ``catalogue`` (a DataFrame, one row per
        cutout, with the FITS header values of ``HEADER_KEYS`` that the files
        have); ``masks`` ((n, H, W) bool, True where a pixel was filled, or
        None); ``files``; ``skipped`` (a DataFrame of the ``file`` and
        ``reason`` of each object left out by ``on_error="skip"``).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skgalaxy.datasets import load_cutouts
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     np.save(folder / f"galaxy{i}.npy", np.full((8, 8, 3), i, np.float32))
    >>> data = load_cutouts(folder)
    >>> data.images.shape, list(data.ids)
    ((3, 8, 8, 3), ['galaxy0', 'galaxy1', 'galaxy2'])
    """
    if missing not in ("error", "fill"):
        raise ValueError(f"missing must be 'error' or 'fill', got {missing!r}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    catalogue, default_files = _files_of(source)
    base = (
        Path(source).parent
        if isinstance(source, (str, Path))
        and Path(source).suffix.lower() in CATALOGUE_SUFFIXES
        else None
    )
    file_column = _pick_column(
        catalogue, file_column or default_files, FILE_COLUMNS, "file", True
    )
    if label_column is not None:
        _pick_column(catalogue, label_column, (), "label", True)
    objects = [
        [_resolve(row[c], base) for c in np.atleast_1d(file_column)]
        for _, row in catalogue.iterrows()
    ]
    if lazy:
        from ._lazy import CutoutFiles

        read = _existing(objects) if on_error == "skip" else (objects, {})
    else:
        read = _read_objects(objects, hdu, on_error, size)
    kept, skipped = read[0], read[1]
    keep = [i for i in range(len(objects)) if i not in skipped]
    if not keep:
        raise ValueError(f"None of the {len(objects)} cutouts could be read.")
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} of {len(objects)} cutouts that could not be "
            "read; see .skipped.",
            UserWarning,
            stacklevel=2,
        )
    skipped = pd.DataFrame(
        {
            "file": [str(objects[i][0]) for i in skipped],
            "reason": list(skipped.values()),
        }
    )
    catalogue = catalogue.iloc[keep].reset_index(drop=True)
    files = [str(objects[i][0]) for i in keep]
    if lazy:
        images = CutoutFiles(kept, hdu=hdu, size=size, missing=missing)
        return _bunch(catalogue, images, None, files, id_column, label_column, skipped)
    images, headers = kept
    if len({image.dtype for image in images}) > 1:
        images = [image.astype(np.float32) for image in images]
    stacked, masks = fill_missing(same_shape(images, files, size), files, missing)
    catalogue = pd.concat([catalogue, pd.DataFrame(headers)], axis=1)
    return _bunch(catalogue, stacked, masks, files, id_column, label_column, skipped)


def _existing(objects):
    """The objects whose files all exist, and ``{index: reason}`` of the others."""
    skipped = {}
    for i, paths in enumerate(objects):
        absent = [str(p) for p in paths if not Path(p).is_file()]
        if absent:
            skipped[i] = f"no file at {absent[0]}"
    return [paths for i, paths in enumerate(objects) if i not in skipped], skipped


def _read_objects(objects, hdu, on_error, size):
    """``((images, headers), {index: reason})`` of the objects read.

    With ``on_error="skip"`` an unreadable object, or (without ``size``) one
    whose shape differs from the most common shape, is left out with its reason.
    """
    read, skipped = {}, {}
    for i, paths in enumerate(objects):
        try:
            read[i] = read_object(paths, hdu)
        except (OSError, ValueError) as exc:
            if on_error == "raise":
                raise
            skipped[i] = str(exc)
    if on_error == "skip" and size is None and read:
        shapes = Counter(image.shape for image, _ in read.values())
        common = shapes.most_common(1)[0][0]
        for i in [i for i, (image, _) in read.items() if image.shape != common]:
            skipped[i] = f"shape {read.pop(i)[0].shape}, most cutouts {common}"
    images = [read[i][0] for i in sorted(read)]
    headers = [read[i][1] for i in sorted(read)]
    return (images, headers), dict(sorted(skipped.items()))


def read_object(paths, hdu=0):
    """One object's cutout from its file, or from one file per band."""
    planes = [read_cutout(p, hdu) for p in paths]
    image = planes[0][0] if len(planes) == 1 else _stack_bands(planes, paths)
    return image, planes[0][1]


def _bunch(catalogue, images, masks, files, id_column, label_column, skipped):
    id_column = _pick_column(catalogue, id_column, ID_COLUMNS, "id", False)
    names = (
        catalogue[id_column].astype(str).tolist()
        if id_column is not None
        else [Path(f).name.split(".")[0] for f in files]
    )
    ids = np.array(names, dtype=object)
    target = target_names = None
    if label_column is not None:
        target, target_names = _labels(catalogue, label_column)
    return Bunch(
        images=images,
        target=target,
        target_names=target_names,
        ids=ids,
        catalogue=catalogue,
        masks=masks,
        files=np.array(files),
        skipped=skipped,
        DESCR=f"{len(images)} cutouts.",
    )


def _stack_bands(planes, paths):
    """One cutout from one file per band."""
    shapes = {image.shape[:2] for image, _ in planes}
    if len(shapes) > 1:
        raise ValueError(
            "The band files of one object differ in shape: "
            + ", ".join(f"{p}: {image.shape}" for p, (image, _) in zip(paths, planes))
        )
    return np.concatenate([image.astype(np.float32) for image, _ in planes], axis=-1)
