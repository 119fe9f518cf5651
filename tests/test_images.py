import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.base import BaseEstimator

from skgalaxy._images import (
    images_to_tensor,
    infer_image_shape,
    input_ndim,
    restore_layout,
    tensor_to_images,
    validate_images,
)


class Holder(BaseEstimator):
    """A bare estimator to hold the attributes validate_images sets."""


@pytest.mark.parametrize(
    "n_features, expected",
    [
        (12, (2, 2, 3)),
        (3 * 64 * 64, (64, 64, 3)),
        (16, (4, 4, 1)),
        (3, (1, 1, 3)),
        (10, (1, 1, 10)),
        (1, (1, 1, 1)),
    ],
)
def test_infer_image_shape(n_features, expected):
    assert infer_image_shape(n_features) == expected


def test_4d_input_records_shape_and_keeps_values(tiny_images):
    est = Holder()
    out = validate_images(est, tiny_images, reset=True)
    assert est.image_shape_ == (8, 8, 3)
    assert est.input_ndim_ == 4
    assert est.n_features_in_ == 8 * 8 * 3
    assert out.dtype == np.uint8  # converted to float batch by batch, later
    np.testing.assert_array_equal(out, tiny_images)


def test_flat_input_uses_image_shape_parameter(tiny_images):
    est = Holder()
    flat = tiny_images.reshape(12, -1)
    out = validate_images(est, flat, reset=True, image_shape=(8, 8, 3))
    np.testing.assert_array_equal(out, tiny_images)
    assert est.input_ndim_ == 2


def test_float_dtype_is_preserved(tiny_images):
    for dtype in (np.float32, np.float64):
        out = validate_images(Holder(), tiny_images.astype(dtype), reset=True)
        assert out.dtype == dtype


def test_flat_and_4d_predict_input_are_interchangeable(tiny_images):
    est = Holder()
    validate_images(est, tiny_images, reset=True)
    out = validate_images(est, tiny_images.reshape(12, -1), reset=False)
    np.testing.assert_array_equal(out, tiny_images)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_values_are_rejected(tiny_images, value):
    X = tiny_images.astype(float)
    X[0, 0, 0, 0] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        validate_images(Holder(), X, reset=True)


def test_wrong_channel_count_at_predict_names_the_channels(tiny_images):
    est = Holder()
    validate_images(est, tiny_images, reset=True)
    with pytest.raises(ValueError, match="4 channels.*fitted on images with 3"):
        validate_images(est, np.zeros((2, 8, 8, 4)), reset=False)


def test_wrong_image_size_at_predict(tiny_images):
    est = Holder()
    validate_images(est, tiny_images, reset=True)
    with pytest.raises(ValueError, match=r"shape \(16, 16, 3\).*\(8, 8, 3\)"):
        validate_images(est, np.zeros((2, 16, 16, 3)), reset=False)


def test_wrong_flat_width_at_predict(tiny_images):
    est = Holder()
    validate_images(est, tiny_images, reset=True)
    with pytest.raises(ValueError, match="features"):
        validate_images(est, np.zeros((2, 10)), reset=False)


@pytest.mark.parametrize("shape", [(5, 8, 8), (2, 2, 8, 8, 3)])
def test_wrong_dimensionality_says_what_is_expected(shape):
    with pytest.raises(ValueError, match="4-D array .* or a 2-D array"):
        validate_images(Holder(), np.zeros(shape), reset=True)


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        validate_images(Holder(), np.zeros((0, 8, 8, 3)), reset=True)


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3, 1), (-1, 8, 3), "abc"])
def test_bad_image_shape_parameter(tiny_images, shape):
    with pytest.raises(ValueError, match="image_shape"):
        validate_images(
            Holder(), tiny_images.reshape(12, -1), reset=True, image_shape=shape
        )


def test_input_is_never_modified(tiny_images):
    before = tiny_images.copy()
    out = validate_images(Holder(), tiny_images, reset=True)
    out_t = images_to_tensor(out)
    out_t += 1
    np.testing.assert_array_equal(tiny_images, before)


def test_torch_boundary_round_trip(tiny_images):
    tensor = images_to_tensor(tiny_images.astype(np.float64))
    assert tensor.dtype == torch.float32
    assert tensor.shape == (12, 3, 8, 8)
    assert tensor.is_contiguous()
    assert tensor[1, 2, 3, 4] == tiny_images[1, 3, 4, 2]
    np.testing.assert_array_equal(tensor_to_images(tensor), tiny_images)


def test_layout_helpers(tiny_images):
    assert input_ndim(tiny_images) == 4
    assert input_ndim(tiny_images.reshape(12, -1)) == 2
    assert input_ndim([[1.0, 2.0]]) == 2
    assert restore_layout(tiny_images, 2).shape == (12, 192)
    assert restore_layout(tiny_images, 4) is tiny_images


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (4, 1, 16, 16), (4, 5, 64, 48)])
def test_channels_first_images_are_refused(shape):
    with pytest.raises(ValueError, match=r"channels-first.*np.moveaxis\(X, 1, -1\)"):
        validate_images(Holder(), np.zeros(shape, np.float32), reset=True)


def test_a_channels_first_image_shape_is_refused():
    with pytest.raises(ValueError, match="channels-first"):
        validate_images(
            Holder(), np.zeros((4, 3 * 32 * 32)), reset=True, image_shape=(3, 32, 32)
        )


def test_values_beyond_float32_are_refused(small_set):
    X, y = small_set
    big = X.astype(np.float64)
    big[0, 0, 0, 0] = 1e39
    for name in ("clf", "cae", "vae", "ahunt"):
        with pytest.raises(ValueError, match="float32's range"):
            TINY[name]().fit(big, y if name in ("clf", "ahunt") else None)


def test_image_shape_contradicting_4d_input_is_refused(small_set):
    X, y = small_set
    with pytest.raises(ValueError, match="contradicts"):
        TINY["cae"](image_shape=(8, 8, 12)).fit(X)
