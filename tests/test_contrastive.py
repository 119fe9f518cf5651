"""ContrastiveTransformer: self-supervised features and their transfer."""

import numpy as np
import pytest
import torch
from conftest import CPU, TINY, small_galaxies
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator

from skgalaxy import ContrastiveTransformer

SMALL = dict(filters=(8, 16), max_epochs=3, batch_size=32, **CPU)


@pytest.fixture(scope="module")
def data():
    return small_galaxies(96, size=32)


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return ContrastiveTransformer(**SMALL).fit(X)


def test_features_names_and_learning(fitted, data):
    X, _ = data
    Z = fitted.transform(X)
    assert Z.shape == (96, 32) and Z.dtype == np.float32
    assert list(fitted.get_feature_names_out()[:2]) == [
        "contrastivetransformer0",
        "contrastivetransformer1",
    ]
    losses = fitted.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]  # it learns to match the views
    assert not fitted.net_.module_.training


def test_the_features_are_the_whole_images_and_the_centres_means(fitted, data):
    X, _ = data
    Z = fitted.transform(X[:8])
    module = fitted.net_.module_
    with torch.no_grad():
        images = torch.as_tensor(X[:8] / 255.0, dtype=torch.float32)
        maps = module.encoder.features(images.permute(0, 3, 1, 2)).numpy()
    assert maps.shape[1:] == (16, 8, 8)
    np.testing.assert_allclose(Z[:, :16], maps.mean(axis=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(
        Z[:, 16:], maps[..., 2:6, 2:6].mean(axis=(2, 3)), atol=1e-5
    )
    plain = ContrastiveTransformer(**{**SMALL, "pooling": "mean", "max_epochs": 1})
    assert plain.fit(X).transform(X).shape == (96, 16)
    assert plain.get_feature_names_out().shape == (16,)


def test_same_seed_same_features_and_the_global_rng_untouched(fitted, data):
    X, _ = data
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    again = ContrastiveTransformer(**SMALL).fit(X)
    np.testing.assert_array_equal(torch.rand(2), expected)
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
    other = ContrastiveTransformer(**{**SMALL, "random_state": 1}).fit(X)
    assert not np.allclose(other.transform(X), fitted.transform(X))


def test_the_d4_encoder_gives_the_same_features_for_turned_images(data):
    X, _ = data
    ssl = ContrastiveTransformer(**{**SMALL, "backbone": "d4", "filters": (4, 8)})
    Z = ssl.fit(X).transform(X)
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            ssl.transform(np.rot90(X, k, axes=(1, 2))), Z, atol=1e-5
        )
    np.testing.assert_allclose(ssl.transform(X[:, ::-1]), Z, atol=1e-5)


def test_vicreg_trains_too(data):
    X, _ = data
    ssl = ContrastiveTransformer(**{**SMALL, "loss": "vicreg"}).fit(X)
    losses = ssl.net_.history[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_a_classifier_starts_from_the_encoder(fitted, data):
    X, y = data
    frozen = FrozenEstimator(fitted)
    # A learning rate of ~0: the classifier's convolutions stay the encoder's.
    clf = TINY["clf"](encoder=frozen, lr=1e-12, max_epochs=1).fit(X, y)
    encoder = fitted.net_.module_.encoder.features.state_dict()
    started = clf.net_.module_.features.state_dict()
    for key, value in encoder.items():
        if key.endswith("weight") and value.ndim == 4:
            seen = started[key][:, : value.shape[1]]
            torch.testing.assert_close(seen, value, atol=1e-6, rtol=0)
            # The asymmetry channels the encoder never saw start at 0.
            assert started[key][:, value.shape[1] :].abs().le(1e-6).all()
    assert started["0.0.weight"].shape[1] == 2 * X.shape[-1]
    # clone keeps a frozen encoder fitted; an unfitted one is refused clearly.
    assert clone(clf).fit(X, y).n_iter_ == 1
    with pytest.raises(ValueError, match="fitted ContrastiveTransformer"):
        TINY["clf"](encoder=clone(fitted)).fit(X, y)
    with pytest.raises(ValueError, match="does not fit"):
        TINY["clf"](encoder=frozen, filters=(8, 32)).fit(X, y)


def test_an_encoder_with_asymmetry_sees_the_rotation_residual(data):
    X, y = data
    ssl = ContrastiveTransformer(**{**SMALL, "asymmetry": True}).fit(X)
    module = ssl.net_.module_
    assert module.encoder.features[0][0].weight.shape[1] == 2 * X.shape[-1]
    with torch.no_grad():
        images = torch.as_tensor(X[:4] / 255.0, dtype=torch.float32)
        images = images.permute(0, 3, 1, 2)
        residual = images - torch.rot90(images, 2, dims=(2, 3))
        maps = module.encoder.features(torch.cat([images, residual], dim=1))
    np.testing.assert_allclose(
        ssl.transform(X[:4])[:, :16], maps.mean(dim=(2, 3)).numpy(), atol=1e-5
    )
    # Its convolutions start a classifier with asymmetry (the default) whole.
    frozen = FrozenEstimator(ssl)
    clf = TINY["clf"](encoder=frozen, lr=1e-12, max_epochs=1).fit(X, y)
    started = clf.net_.module_.features.state_dict()
    for key, value in module.encoder.features.state_dict().items():
        if value.ndim == 4:  # conv weights (batch-norm statistics move)
            torch.testing.assert_close(started[key], value, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="set asymmetry=True"):
        TINY["clf"](encoder=frozen, asymmetry=False).fit(X, y)
    with pytest.raises(ValueError, match="asymmetry"):
        ContrastiveTransformer(asymmetry="yes").fit(X)


def test_bad_inputs(data):
    X, _ = data
    with pytest.raises(ValueError, match="loss"):
        ContrastiveTransformer(loss="byol").fit(X)
    with pytest.raises(ValueError, match="zoom"):
        ContrastiveTransformer(zoom=2.0).fit(X)
    with pytest.raises(ValueError, match="filters"):
        ContrastiveTransformer(filters=(0,)).fit(X)
    with pytest.raises(ValueError, match="pooling"):
        ContrastiveTransformer(pooling="max").fit(X)
    bad = X.astype(np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ContrastiveTransformer(**SMALL).fit(bad)
