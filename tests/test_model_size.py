"""A model file holds the model, not its training data."""

import pickle

import numpy as np
import pytest
from conftest import TINY, small_galaxies

SMALL, LARGE = 300, 1200

#: Bytes a file may grow by, whatever the number of training images
#: (numbers' widths, pickle framing, skorch's per-batch history).
SLACK = 4096
#: The isolation forest's trees (at most max_samples=256 samples each) vary
#: in size with the data they split.
FOREST_SLACK = 0.03


def _pickled_size(name, X, y):
    estimator = TINY[name](max_epochs=1)
    estimator.fit(X, y) if name in ("clf", "ahunt") else estimator.fit(X)
    return len(pickle.dumps(estimator))


@pytest.fixture(scope="module")
def images():
    return small_galaxies(LARGE, size=8)


@pytest.mark.parametrize("name", ["clf", "vae", "cae", "ssl"])
def test_the_file_size_does_not_grow_with_the_training_images(name, images):
    X, y = images
    small = _pickled_size(name, X[:SMALL], y[:SMALL])
    large = _pickled_size(name, X, y)
    assert large - small <= SLACK, (small, large)


def test_ahunt_keeps_only_a_few_bytes_per_label(images):
    """The labelled samples' embeddings (float32) and classes, nothing else."""
    X, y = images
    small = _pickled_size("ahunt", X[:SMALL], y[:SMALL])
    large = _pickled_size("ahunt", X, y)
    units = TINY["ahunt"]().dense_units
    per_label = 4 * units + 8
    allowed = SLACK + FOREST_SLACK * small + per_label * (LARGE - SMALL)
    assert large - small <= allowed, (small, large)
    # Without labels it keeps nothing per sample at all (the forest is bounded
    # by its max_samples).
    unlabelled = np.full(LARGE, None, dtype=object)
    det = TINY["ahunt"](max_epochs=1)
    small = len(pickle.dumps(det.fit(X[:SMALL], unlabelled[:SMALL])))
    large = len(pickle.dumps(det.fit(X, unlabelled)))
    assert large - small <= SLACK + FOREST_SLACK * small, (small, large)
