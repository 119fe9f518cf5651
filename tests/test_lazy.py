import pickle

import h5py
import numpy as np
import pytest
from conftest import TINY
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler
from skgalaxy.datasets import H5Images, iter_batches, make_galaxies


@pytest.fixture
def h5_file(tmp_path):
    images = make_galaxies(50, image_size=16, random_state=0).images
    path = tmp_path / "galaxies.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images, chunks=(8, 16, 16, 3))
        f["ans"] = np.zeros(50, dtype=np.uint8)
    return path, images


def test_h5_images_reads_what_it_is_indexed_with(h5_file):
    path, images = h5_file
    lazy = H5Images(path)
    assert lazy.shape == images.shape and lazy.dtype == images.dtype
    assert len(lazy) == 50 and lazy.ndim == 4
    np.testing.assert_array_equal(lazy[3], images[3])
    np.testing.assert_array_equal(lazy[10:20], images[10:20])
    index = np.array([9, 2, 9, -1])
    np.testing.assert_array_equal(lazy[index], images[index])
    mask = np.arange(50) % 7 == 0
    np.testing.assert_array_equal(lazy[mask], images[mask])
    np.testing.assert_array_equal(np.asarray(lazy), images)
    restored = pickle.loads(pickle.dumps(lazy))
    np.testing.assert_array_equal(restored[:2], images[:2])
    with pytest.raises(ValueError, match="no dataset"):
        H5Images(path, key="pixels")


def test_estimators_fit_on_part_of_a_file_and_score_it_batch_by_batch(h5_file):
    path, images = h5_file
    lazy = H5Images(path)
    model = make_pipeline(
        ArcsinhScaler(),
        TINY["cae"](n_components=2, filters=(4, 8), batch_size=64),
    ).fit(lazy[:30])
    batched = np.concatenate([model.score_samples(b) for b in iter_batches(lazy, 16)])
    np.testing.assert_array_equal(batched, model.score_samples(images))
    assert [len(b) for b in iter_batches(lazy, 16)] == [16, 16, 16, 2]
    with pytest.raises(ValueError, match="batch_size"):
        next(iter_batches(lazy, 0))


def test_vae_and_cae_train_and_infer_streaming_from_the_file(h5_file, monkeypatch):
    from skgalaxy._images import ImageBatches

    path, images = h5_file
    lazy = H5Images(path)
    reads = []
    original = H5Images.__getitem__

    def counting(self, index):
        rows = original(self, index)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(H5Images, "__getitem__", counting)
    monkeypatch.setattr(
        H5Images, "__array__", lambda *a, **k: pytest.fail("read all at once")
    )
    cae = TINY["cae"](n_components=2, filters=(4, 8)).fit(lazy)
    vae = TINY["vae"](n_components=2, filters=(4, 8)).fit(lazy)
    assert reads and max(reads) <= 64  # batches (and the 64-row check), never all
    assert cae.image_shape_ == (16, 16, 3) and cae.input_scale_ == 255.0
    np.testing.assert_array_equal(cae.score_samples(lazy), cae.score_samples(images))
    np.testing.assert_array_equal(vae.transform(lazy), vae.transform(images))
    in_memory = TINY["cae"](n_components=2, filters=(4, 8)).fit(images)
    np.testing.assert_array_equal(
        in_memory.score_samples(images), cae.score_samples(images)
    )
    batches = cae._image_batches(lazy, reset=False)
    assert isinstance(batches, ImageBatches) and batches.images is lazy
