import numpy as np
import pytest

from skgalaxy.datasets import locate_gz1


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
