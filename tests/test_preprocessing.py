import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from skgalaxy.preprocessing import ArcsinhScaler


def test_matches_the_astronomers_recipe(tiny_images):
    X = tiny_images.astype(np.float64)
    Xt = ArcsinhScaler().fit_transform(X)
    stretched = np.arcsinh(X / 20.0)
    expected = stretched / stretched.max(axis=(0, 1, 2))
    np.testing.assert_allclose(Xt, expected)


def test_training_data_lies_in_unit_interval_per_channel(tiny_images):
    Xt = ArcsinhScaler().fit_transform(tiny_images)
    assert Xt.min() >= 0
    np.testing.assert_allclose(Xt.max(axis=(0, 1, 2)), 1.0, rtol=1e-6)


def test_softening_and_global_normalisation(tiny_images):
    X = tiny_images.astype(np.float64)
    X[..., 2] *= 0.5
    Xt = ArcsinhScaler(softening=5.0, per_channel=False).fit_transform(X)
    stretched = np.arcsinh(X / 5.0)
    np.testing.assert_allclose(Xt, stretched / stretched.max())
    assert Xt[..., 2].max() < 1.0


def test_inverse_transform_is_exact(tiny_images):
    X = tiny_images.astype(np.float64) - 30.0  # sky-subtracted: negatives too
    scaler = ArcsinhScaler().fit(X)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(X)), X, atol=1e-9
    )


def test_layout_and_dtype_follow_the_input(tiny_images):
    scaler = ArcsinhScaler().fit(tiny_images)
    assert scaler.transform(tiny_images).dtype == np.float32
    flat = tiny_images.reshape(12, -1).astype(np.float64)
    out = scaler.transform(flat)
    assert out.shape == flat.shape and out.dtype == np.float64
    np.testing.assert_allclose(
        out, scaler.transform(tiny_images).reshape(12, -1), rtol=1e-6
    )


def test_flat_input_normalises_the_channels_of_image_shape(rng):
    X = rng.uniform(0, 100, size=(6, 4 * 4 * 2))
    X[:, 1::2] *= 10  # second channel (interleaved, NHWC) much brighter
    scaler = ArcsinhScaler(image_shape=(4, 4, 2)).fit(X)
    assert scaler.scale_.shape == (2,)
    assert scaler.scale_[1] > scaler.scale_[0]
    np.testing.assert_allclose(scaler.transform(X)[:, 1::2].max(), 1.0)


def test_feature_names_and_pandas_output(rng):
    X = pd.DataFrame(rng.uniform(0, 50, (5, 3)), columns=["g", "r", "i"])
    scaler = ArcsinhScaler().set_output(transform="pandas").fit(X)
    out = scaler.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["g", "r", "i"]
    assert list(scaler.get_feature_names_out()) == ["g", "r", "i"]


def test_works_in_a_pipeline(tiny_images):
    pipe = make_pipeline(ArcsinhScaler()).fit(tiny_images)
    assert pipe.transform(tiny_images).shape == tiny_images.shape


def test_caller_array_is_not_modified(tiny_images):
    X = tiny_images.astype(np.float64)
    before = X.copy()
    scaler = ArcsinhScaler().fit(X)
    scaler.inverse_transform(scaler.transform(X))
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("softening", [0, -1.0, "20"])
def test_bad_softening_is_rejected(tiny_images, softening):
    with pytest.raises((ValueError, TypeError), match="softening"):
        ArcsinhScaler(softening=softening).fit(tiny_images)


def test_bad_inputs_raise_clear_errors(tiny_images):
    scaler = ArcsinhScaler().fit(tiny_images)
    bad = tiny_images.astype(float)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scaler.transform(bad)
    with pytest.raises(ValueError, match="channels"):
        scaler.transform(np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="0 sample"):
        ArcsinhScaler().fit(np.zeros((0, 8, 8, 3)))
    with pytest.raises(ValueError, match="3-D array"):
        ArcsinhScaler().fit(np.zeros((3, 8, 8)))


def test_a_tiny_softening_is_refused(small_set):
    X, _ = small_set
    with pytest.raises(ValueError, match="softening"):
        ArcsinhScaler(softening=1e-300).fit(X)


def test_auto_softening_follows_each_bands_sky_noise():
    rng = np.random.default_rng(0)
    noise = np.array([1e-11, 4e-11, 2e-10])  # flux units: three bands
    X = (rng.normal(0, 1, (20, 32, 32, 3)) * noise).astype(np.float32)
    X[:, 12:20, 12:20] += 1e-8  # a bright centre, outside the sky border
    scaler = ArcsinhScaler(softening="auto").fit(X)
    np.testing.assert_allclose(scaler.softening_, noise, rtol=0.1)
    Xt = scaler.transform(X)
    assert np.isfinite(Xt).all() and np.abs(Xt).max() <= 1 + 1e-6
    np.testing.assert_allclose(scaler.inverse_transform(Xt), X, rtol=1e-4, atol=1e-14)
    # The sky stays linear (|x| ~ softening) while the centre is compressed.
    assert np.median(np.abs(Xt[:, :4])) < 0.2 * np.median(Xt[:, 12:20, 12:20])


def test_a_fixed_softening_far_above_the_data_warns():
    X = np.full((4, 8, 8, 1), 1e-9, np.float32)
    with pytest.warns(UserWarning, match="softening='auto'"):
        ArcsinhScaler().fit(X)
    uint8 = np.full((4, 8, 8, 3), 3, np.uint8)  # 8-bit images: no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ArcsinhScaler().fit(uint8)


def test_auto_softening_is_refused_for_nothing_but_auto():
    with pytest.raises(ValueError, match="softening"):
        ArcsinhScaler(softening="sky").fit(np.ones((2, 4, 4, 1)))
