from functools import partial

import joblib
import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, FlowVAETransformer
from skgalaxy.datasets import make_galaxies

#: The shared tiny VAE with a slightly larger flow and more epochs.
small_vae = partial(TINY["vae"], flow_transforms=2, flow_hidden=16, max_epochs=4)


@pytest.fixture(scope="module")
def images():
    return make_galaxies(
        64,
        image_size=16,
        classes=["round_smooth", "edge_on_with_bulge"],
        random_state=0,
    ).images


@pytest.fixture(scope="module")
def scaled(images):
    return ArcsinhScaler().fit_transform(images)


@pytest.fixture(scope="module")
def vae(scaled):
    return small_vae(max_epochs=30, lr=3e-3).fit(scaled)


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_embeddings_and_feature_names(vae, scaled):
    Z = vae.transform(scaled)
    assert Z.shape == (64, 4) and Z.dtype == np.float32
    assert list(vae.get_feature_names_out()) == [
        f"flowvaetransformer{i}" for i in range(4)
    ]
    assert np.isfinite(Z).all() and Z.std(axis=0).min() > 0


def test_training_improves_the_elbo_and_reconstructions(vae, scaled):
    history = vae.net_.history[:, "train_loss"]
    assert history[-1] < history[0]
    recon = vae.inverse_transform(vae.transform(scaled))
    error = ((recon - scaled) ** 2).mean()
    baseline = ((scaled.mean(axis=0) - scaled) ** 2).mean()
    assert error < 0.8 * baseline


def test_round_trip_keeps_shape_layout_and_dtype_family(images, scaled):
    fitted_uint8 = small_vae().fit(images)
    out = fitted_uint8.inverse_transform(fitted_uint8.transform(images))
    assert out.shape == images.shape and out.dtype == np.uint8
    flat = scaled.reshape(64, -1).astype(np.float64)
    fitted_flat = small_vae().fit(flat)
    out = fitted_flat.inverse_transform(fitted_flat.transform(flat))
    assert out.shape == flat.shape and out.dtype == np.float32
    assert fitted_flat.sample(2, random_state=0).shape == (2, flat.shape[1])


def test_sampling_is_deterministic_and_changes_nothing(vae):
    module = vae.net_.module_
    before = _state(module)
    torch.manual_seed(3)
    expected_next = torch.rand(2)
    torch.manual_seed(3)
    a = vae.sample(5, random_state=1)
    np.testing.assert_array_equal(torch.rand(2), expected_next)
    b = vae.sample(5, random_state=1)
    c = vae.sample(5, random_state=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (5, 16, 16, 3) and a.dtype == np.float32
    after = _state(module)
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN stats too


def test_prior_choices(scaled):
    plain = small_vae(flow=None).fit(scaled)
    maf = small_vae(flow="maf").fit(scaled)
    assert plain.net_.module_.prior_flow is None
    assert type(maf.net_.module_.prior_flow).__name__ == "MAF"
    for model in (plain, maf):
        assert model.sample(3, random_state=0).shape == (3, 16, 16, 3)
        assert np.isfinite(model.score_samples(scaled[:4])).all()


def test_flow_prior_is_learnt(vae, scaled):
    """Training fits the flow to the codes: an untrained flow fits them worse."""
    module = vae.net_.module_
    codes = torch.from_numpy(vae.transform(scaled))
    torch.manual_seed(0)
    untrained = type(module)(
        in_channels=3,
        image_size=(16, 16),
        filters=(8, 16),
        n_components=4,
        flow_transforms=2,
        flow_hidden=16,
    ).eval()
    with torch.no_grad():
        trained_logp = module.prior_log_prob(codes).mean()
        untrained_logp = untrained.prior_log_prob(codes).mean()
    assert trained_logp > untrained_logp + 1.0


def test_score_samples_is_deterministic_order_free_and_ranks_atypical_low(vae, scaled):
    scores = vae.score_samples(scaled)
    assert scores.dtype == np.float64 and scores.shape == (64,)
    np.testing.assert_array_equal(vae.score_samples(scaled), scores)
    np.testing.assert_allclose(vae.score_samples(scaled[::-1]), scores[::-1], rtol=1e-5)
    noise = np.random.default_rng(0).uniform(0, 1, size=(8, 16, 16, 3))
    assert vae.score_samples(noise).max() < np.median(scores)
    assert vae.score(scaled) == pytest.approx(scores.mean())


def test_beta_warm_up_schedule(vae):
    net = vae.net_
    assert net.warmup_epochs == 5 and len(net.history) == 30
    assert net.current_beta() == 1.0
    net.history.new_epoch()
    try:
        net.warmup_epochs = 32  # epoch 31 of a 32-epoch warm-up
        assert net.current_beta() == pytest.approx(31 / 32)
    finally:
        net.history.pop()
        net.warmup_epochs = 5
    log_likelihood, kl = torch.tensor([-10.0]), torch.tensor([4.0])
    x = torch.zeros(1, 3, 16, 16)
    assert net.get_loss((log_likelihood, kl), None, X=x) == pytest.approx(
        (10 + 4) / x[0].numel()
    )


def test_pipeline_inverse_transform_returns_original_scale(images):
    pipe = make_pipeline(ArcsinhScaler(), small_vae()).fit(images)
    Z = pipe.transform(images)
    back = pipe.inverse_transform(Z)
    assert Z.shape == (64, 4)
    assert back.shape == images.shape and back.max() > 2  # not the [0, 1] scale


def test_grid_search_and_joblib(scaled, tmp_path):
    search = GridSearchCV(
        small_vae(max_epochs=2),
        {"n_components": [2, 4], "beta": [0.5, 1.0]},
        cv=2,
    )
    search.fit(scaled)
    assert set(search.best_params_) == {"n_components", "beta"}
    best = search.best_estimator_
    joblib.dump(best, tmp_path / "vae.joblib")
    restored = joblib.load(tmp_path / "vae.joblib")
    np.testing.assert_array_equal(restored.transform(scaled), best.transform(scaled))
    np.testing.assert_array_equal(
        restored.sample(2, random_state=0), best.sample(2, random_state=0)
    )


def test_bad_inputs(vae, scaled):
    with pytest.raises(ValueError, match="latent features"):
        vae.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)
    with pytest.raises(ValueError, match="channels"):
        vae.transform(scaled[..., :2])
    bad = scaled.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        small_vae().fit(bad)
    with pytest.raises(ValueError, match="flow"):
        FlowVAETransformer(flow="realnvp").fit(scaled)
    with pytest.raises(ValueError, match="1 sample"):
        small_vae().fit(scaled[:1])
