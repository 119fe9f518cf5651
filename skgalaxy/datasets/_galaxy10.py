"""Galaxy10 (astroNN's ``.h5`` files): reading, resizing and downloading."""

import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import h5py
import numpy as np
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from .._utils import sha256_file, write_atomically

#: Class names of Galaxy10 DECaLS, in label order (also the classes of
#: :func:`make_galaxies`).
GALAXY10_CLASSES = (
    "disturbed",
    "merging",
    "round_smooth",
    "in_between_round_smooth",
    "cigar_shaped_smooth",
    "barred_spiral",
    "unbarred_tight_spiral",
    "unbarred_loose_spiral",
    "edge_on_without_bulge",
    "edge_on_with_bulge",
)

#: Class names of Galaxy10 SDSS, in label order.
GALAXY10_SDSS_CLASSES = (
    "disk_face_on_no_spiral",
    "smooth_completely_round",
    "smooth_in_between_round",
    "smooth_cigar_shaped",
    "disk_edge_on_rounded_bulge",
    "disk_edge_on_boxy_bulge",
    "disk_edge_on_no_bulge",
    "disk_face_on_tight_spiral",
    "disk_face_on_medium_spiral",
    "disk_face_on_loose_spiral",
)

#: Public locations and SHA-256 checksums of astroNN's files.
GALAXY10_REMOTE = {
    "decals": (
        "https://www.astro.utoronto.ca/~hleung/shared/Galaxy10/Galaxy10_DECals.h5",
        "19aefc477c41bb7f77ff07599a6b82a038dc042f889a111b0d4d98bb755c1571",
    ),
    "sdss": (
        "https://www.astro.utoronto.ca/~bovy/Galaxy10/Galaxy10.h5",
        "969a6b1cefcc36e09fffa86febd2f699a4aa19b837ba0427f01b0bc6ded458af",
    ),
}


def _area_weights(n_in, n_out):
    """Matrix (n_out, n_in) averaging input pixels by their overlap with output ones."""
    edges_in = np.arange(n_in + 1) / n_in
    edges_out = np.arange(n_out + 1) / n_out
    low = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    high = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    overlap = np.clip(high - low, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize_images(images, image_size):
    """Resize NHWC images to ``image_size`` x ``image_size`` by area averaging.

    Parameters
    ----------
    images : ndarray of shape (n, H, W, C)
        The images.
    image_size : int
        Side of the square output images.

    Returns
    -------
    resized : ndarray of shape (n, image_size, image_size, C)
        Rounded uint8 for uint8 input, else float32.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.datasets import resize_images
    >>> resize_images(np.ones((2, 69, 69, 3), np.uint8), 64).shape
    (2, 64, 64, 3)
    """
    n, height, width, _ = images.shape
    if (height, width) == (image_size, image_size):
        return images.copy()
    rows = _area_weights(height, image_size)
    cols = _area_weights(width, image_size)
    out = np.einsum(
        "ih,nhwc,jw->nijc", rows, images.astype(np.float32), cols, optimize=True
    )
    if images.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)


def _detect_variant(shape):
    return "decals" if shape[1] > 128 else "sdss"


def _galaxy10_datasets(path, f):
    """The checked ``images`` dataset and ``ans`` labels of an open Galaxy10 file."""
    found = sorted(f.keys())
    if not all(isinstance(f.get(key), h5py.Dataset) for key in ("images", "ans")):
        raise ValueError(
            f"{path} is not a Galaxy10 file: it needs datasets 'images' and 'ans', "
            f"it has {found}."
        )
    source, ans = f["images"], f["ans"]
    if source.ndim != 4 or source.shape[-1] != 3:
        raise ValueError(
            f"{path}: expected images of shape (N, H, W, 3), got {source.shape}."
        )
    if source.dtype != np.uint8:
        raise ValueError(
            f"{path}: Galaxy10 images are uint8 (0-255); found {source.dtype}. "
            "Convert them to uint8 first (or load them as your own arrays)."
        )
    if ans.ndim != 1 or ans.dtype.kind not in "iu" or len(ans) != len(source):
        raise ValueError(
            f"{path}: expected one integer label per image in 'ans', got shape "
            f"{ans.shape} and dtype {ans.dtype} for {len(source)} images."
        )
    return source, np.asarray(ans, dtype=np.int64)


def load_galaxy10(path, image_size=64, chunk_size=512):
    """Read an astroNN Galaxy10 ``.h5`` file and resize its images.

    Both variants are understood: Galaxy10 DECaLS (``images`` of shape
    (N, 256, 256, 3)) and Galaxy10 SDSS ((N, 69, 69, 3)), with labels in
    ``ans``. Images are read and resized ``chunk_size`` at a time, so the
    2.7 GB DECaLS file needs little more memory than its resized result.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` file.
    image_size : int, default=64
        Side of the returned square images (area averaging).
    chunk_size : int, default=512
        Images read and resized at a time.

    Returns
    -------
    data : Bunch
        ``images`` uint8 (N, image_size, image_size, 3), ``target`` int64,
        ``target_names`` (the official classes in snake case; DECaLS names are
        those of :func:`make_galaxies`), ``variant`` and ``DESCR``.

    Examples
    --------
    >>> from skgalaxy.datasets import load_galaxy10
    >>> data = load_galaxy10("Galaxy10_DECals.h5")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No Galaxy10 file at {path}.")
    try:
        with h5py.File(path, "r") as f:
            source, labels = _galaxy10_datasets(path, f)
            images = np.empty((len(source), image_size, image_size, 3), np.uint8)
            for start in range(0, len(source), chunk_size):
                chunk = source[start : start + chunk_size]
                images[start : start + len(chunk)] = resize_images(chunk, image_size)
            variant = _detect_variant(source.shape)
    except OSError as exc:
        raise ValueError(f"Cannot read {path} as an HDF5 file: {exc}") from exc
    names = GALAXY10_CLASSES if variant == "decals" else GALAXY10_SDSS_CLASSES
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(names):
        raise ValueError(f"{path}: labels outside 0..{len(names) - 1}.")
    return Bunch(
        images=images,
        target=labels,
        target_names=np.array(names),
        variant=variant,
        DESCR=f"Galaxy10 {variant} from {path.name}, resized to {image_size} px.",
    )


def get_data_home(data_home=None, create=True):
    """The cache folder: ``data_home``, ``$SKGALAXY_DATA`` or ``~/skgalaxy_data``.

    Parameters
    ----------
    data_home : str or path-like or None, default=None
        The folder; None: ``$SKGALAXY_DATA`` or ``~/skgalaxy_data``.
    create : bool, default=True
        Create the folder if it does not exist.

    Returns
    -------
    path : pathlib.Path
        The cache folder.

    Examples
    --------
    >>> from skgalaxy.datasets import get_data_home
    >>> get_data_home("/tmp/skgalaxy_cache").name
    'skgalaxy_cache'
    """
    if data_home is None:
        data_home = os.environ.get("SKGALAXY_DATA", Path.home() / "skgalaxy_data")
    path = Path(data_home).expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _download(url, target, sha256, verbose):
    """Stream ``url`` into a temporary file beside ``target``; rename when verified.

    The file replaces ``target`` only once it is complete (as many bytes as
    the server announced), matches ``sha256`` (if given) and opens as HDF5.
    """

    def fetch(partial):
        with open(partial, "wb") as out, urllib.request.urlopen(url, timeout=60) as r:
            total = int(r.headers.get("Content-Length") or 0) or None
            received = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=target.name,
                disable=not verbose,
            ) as bar:
                for block in iter(lambda: r.read(1 << 20), b""):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        if total is not None and received != total:
            raise OSError(
                f"The download of {url} is incomplete: {received} of {total} bytes "
                "arrived. It was discarded; try again."
            )
        found = sha256_file(partial)
        if sha256 is not None and found != sha256.lower():
            raise OSError(
                f"Checksum mismatch for {url}: expected sha256 {sha256}, got {found}. "
                "The download was discarded."
            )
        if not h5py.is_hdf5(partial):
            raise OSError(
                f"{url} did not deliver an HDF5 file; the download was discarded."
            )

    try:
        write_atomically(target, fetch)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError) as exc:
        raise OSError(
            f"Could not download {url} ({exc}). Are you offline? Download the file "
            f"by hand and place it at {target}."
        ) from exc


def fetch_galaxy10(
    variant="decals",
    *,
    data_home=None,
    download_if_missing=True,
    image_size=64,
    url=None,
    sha256=None,
    verbose=True,
):
    """Download (once) and load a Galaxy10 data set.

    The file is cached in :func:`get_data_home`; a download shows a progress
    bar, goes to a temporary file and is renamed only after its SHA-256
    checksum matched, so an interrupted or corrupted download never leaves a
    file that looks complete.

    Parameters
    ----------
    variant : {"decals", "sdss"}, default="decals"
    data_home : str or path-like, default=None
        Cache folder (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        If False and the file is not cached, raise ``OSError``.
    image_size : int, default=64
        Passed to :func:`load_galaxy10`.
    url, sha256 : str, default=None
        Override the public location and checksum (mirrors, tests).
    verbose : bool, default=True
        Show the download progress bar.

    Returns
    -------
    data : Bunch
        As :func:`load_galaxy10`.

    Examples
    --------
    >>> from skgalaxy.datasets import fetch_galaxy10
    >>> data = fetch_galaxy10("sdss")  # doctest: +SKIP
    """
    if variant not in GALAXY10_REMOTE:
        raise ValueError(
            f"variant must be one of {sorted(GALAXY10_REMOTE)}, got {variant!r}."
        )
    default_url, default_sha = GALAXY10_REMOTE[variant]
    url = default_url if url is None else url
    sha256 = default_sha if sha256 is None and url == default_url else sha256
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"The URL {url!r} names no file.")
    target = get_data_home(data_home, create=download_if_missing) / name
    if not target.is_file():
        if not download_if_missing:
            raise OSError(f"{target} is not cached and download_if_missing=False.")
        _download(url, target, sha256, verbose)
    return load_galaxy10(target, image_size=image_size)


__all__ = [
    "GALAXY10_CLASSES",
    "GALAXY10_REMOTE",
    "GALAXY10_SDSS_CLASSES",
    "fetch_galaxy10",
    "get_data_home",
    "load_galaxy10",
    "resize_images",
]
