import http.server
import threading
from functools import partial

import h5py
import numpy as np
import pytest

from skgalaxy.datasets import locate_gz1, make_galaxies

#: Every torch estimator of the tests runs on the CPU, seeded.
CPU = dict(device="cpu", random_state=0)


def _tiny(name, **defaults):
    """A factory of tiny, fast estimators: ``TINY[name](**overrides)``."""

    def make(**overrides):
        import skgalaxy

        return getattr(skgalaxy, name)(**{**defaults, **CPU, **overrides})

    return make


#: Tiny networks and few epochs: the hyper-parameters the tests share.
_TINY_NETS = dict(filters=(8, 16), batch_size=16)
TINY = {
    "clf": _tiny("GalaxyCNNClassifier", **_TINY_NETS, dense_units=16, max_epochs=3),
    "vae": _tiny(
        "FlowVAETransformer",
        **_TINY_NETS,
        n_components=4,
        flow_transforms=1,
        flow_hidden=8,
        max_epochs=2,
    ),
    "cae": _tiny(
        "CAEAnomalyDetector",
        **_TINY_NETS,
        n_components=4,
        latent_components=2,
        max_epochs=2,
    ),
    "ssl": _tiny("ContrastiveTransformer", **_TINY_NETS, max_epochs=2),
    "ahunt": _tiny(
        "AHUNTDetector",
        **_TINY_NETS,
        hidden=(16,),
        dense_units=16,
        max_epochs=5,
        epochs_per_round=2,
        n_queries=4,
    ),
}


def small_galaxies(
    n=96, size=16, classes=("round_smooth", "edge_on_with_bulge"), seed=0, **kwargs
):
    """Small uint8 ``make_galaxies`` images and their class names (object array)."""
    data = make_galaxies(
        n, image_size=size, classes=list(classes), random_state=seed, **kwargs
    )
    return data.images, data.target_names[data.target].astype(object)


@pytest.fixture(scope="session")
def gz1_path():
    """The real SDSS cutouts (``SKGALAXY_GZ1`` or ``../shared/data``), else skip."""
    path = locate_gz1()
    if path is None:
        pytest.skip("gz1_sdss_64.npz not found; set SKGALAXY_GZ1 to its path")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_images(rng):
    """Twelve 8x8 RGB uint8 images."""
    return rng.integers(0, 256, size=(12, 8, 8, 3), dtype=np.uint8)


def write_galaxy10(path, n=24, size=69):
    """A small Galaxy10-like .h5 file (astroNN layout); returns images, labels."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n) % 10
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["ans"] = labels.astype(np.uint8)
    return images, labels


@pytest.fixture
def http_folder(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base_url)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def galaxy10_writer():
    return write_galaxy10


@pytest.fixture(scope="session")
def small_set():
    """96 small two-class galaxies (uint8 images, class names)."""
    return small_galaxies(96, seed=0)
