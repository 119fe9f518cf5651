import pickle
import threading
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import TINY
from sklearn.base import clone
from skorch.dataset import Dataset
from torch.utils.data import Subset

from skgalaxy import ArcsinhScaler
from skgalaxy._base import TorchEstimatorMixin
from skgalaxy._device import draw_seed, resolve_device, torch_seed
from skgalaxy._loaders import batch_loader
from skgalaxy._training import TrainingNet, check_filters, keep_state_on_error, make_net
from skgalaxy.nn import rng


class Tiny(torch.nn.Module):
    def __init__(self, n_in=4, n_out=2):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, X):
        return self.dropout(self.linear(X))


def _fitted_net(**params):
    X = torch.randn(20, 4)
    y = torch.randn(20, 2)
    net = make_net(
        TrainingNet,
        Tiny,
        device="cpu",
        verbose=0,
        batch_size=8,
        criterion=torch.nn.MSELoss,
        max_epochs=2,
        **params,
    )
    return net.fit(X, y), X


def test_resolve_device_auto_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device(torch.device("cpu")) == "cpu"


def test_resolve_device_rejects_missing_cuda_and_unknown_names(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="'auto', 'cpu'"):
        resolve_device("gpu")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(0)


def test_draw_seed_is_reproducible():
    assert draw_seed(3) == draw_seed(3)
    assert draw_seed(3) != draw_seed(4)
    assert 0 <= draw_seed(None) < 2**31


def test_torch_seed_leaves_the_callers_rng_state_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch_seed(7):
        inside = torch.rand(3)
    np.testing.assert_array_equal(torch.rand(3), expected)
    with torch_seed(7):
        np.testing.assert_array_equal(torch.rand(3), inside)


def test_fitting_a_net_inside_torch_seed_keeps_global_state_and_is_repeatable():
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    weights = []
    for _ in range(2):
        with torch_seed(0):
            net, _ = _fitted_net()
        weights.append(net.module_.linear.weight.detach().clone())
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(weights[0], weights[1])


def test_batch_loader_visits_every_sample_once_per_epoch_in_whole_batches():
    X = torch.arange(10).float()[:, None]
    y = torch.arange(10)
    with rng.seeded(0):
        batches = list(batch_loader(Dataset(X, y), batch_size=4, shuffle=True))
    with rng.seeded(0):
        again = list(batch_loader(Dataset(X, y), batch_size=4, shuffle=True))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))  # shuffled (fixed by the seed)
    assert torch.equal(seen, torch.cat([b[1] for b in again]))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0], yb)


def test_batch_loader_balance_draws_every_class_equally_often():
    y = torch.tensor([0] * 180 + [1] * 20)
    X = torch.arange(200).float()[:, None]
    with rng.seeded(0):
        batches = list(batch_loader(Dataset(X, y), batch_size=50, balance="draw"))
    with rng.seeded(0):
        again = list(batch_loader(Dataset(X, y), batch_size=50, balance="draw"))
    drawn = torch.cat([b[1] for b in batches])
    assert len(drawn) == 200  # an epoch is as long as the data
    assert 0.4 < drawn.float().mean() < 0.6  # the 10 % class drawn half the time
    assert torch.equal(drawn, torch.cat([b[1] for b in again]))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0] >= 180, yb == 1)


def test_batch_loader_oversample_copies_the_rarer_classes_up_to_the_largest():
    y = torch.tensor([0] * 180 + [1] * 20)
    X = torch.arange(200).float()[:, None]
    with rng.seeded(0):
        loader = batch_loader(Dataset(X, y), batch_size=60, balance="oversample")
        first, second = (torch.cat([b[0][:, 0] for b in loader]) for _ in range(2))
    for drawn in (first, second):
        assert len(drawn) == 360  # 2 classes x the 180 of the largest
        common, rare = drawn[drawn < 180], drawn[drawn >= 180]
        assert sorted(common.tolist()) == list(range(180))  # each once
        assert len(rare) == 180 and set(rare.tolist()) == set(range(180, 200))
    assert not torch.equal(first, second)  # new copies and order each epoch


def test_batch_loader_rejects_an_unknown_balance():
    X = torch.zeros(4, 1)
    with pytest.raises(ValueError, match="balance"):
        batch_loader(Dataset(X, torch.tensor([0, 0, 0, 1])), balance="undersample")


def test_batch_loader_drop_last_subset_and_missing_y():
    X = np.arange(10, dtype=np.float32)[:, None]
    subset = Subset(Dataset(X), [1, 3, 5, 7, 9])
    loader = batch_loader(subset, batch_size=2, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    np.testing.assert_array_equal(
        torch.cat([torch.as_tensor(b[0]) for b in batches])[:, 0], [1, 3, 5, 7]
    )
    assert len(batch_loader(Dataset(X), batch_size=-1)) == 1


def test_seeded_generators_belong_to_the_thread_and_leave_the_global_one():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    with rng.seeded(3):
        first = rng.randn((4,), torch.zeros(1))
    with rng.seeded(3):
        second = rng.randn((4,), torch.zeros(1))
    assert torch.equal(first, second)
    assert torch.equal(torch.get_rng_state(), state)
    assert rng.generator() is None  # outside a scope: torch's global generator


def test_dropout_draws_from_the_seeded_generator_and_is_identity_in_eval():
    layer = rng.Dropout(0.5)
    x = torch.ones(1000)
    with rng.seeded(1):
        a = layer(x)
    with rng.seeded(1):
        b = layer(x)
    assert torch.equal(a, b)
    assert set(a.unique().tolist()) == {0.0, 2.0}
    assert 400 < int((a == 0).sum()) < 600
    assert torch.equal(layer.eval()(x), x)


def test_finite_loss_stops_training_with_a_clear_error():
    with pytest.raises(FloatingPointError, match="lr="):
        _fitted_net(lr=1e30)


def test_training_net_lets_keyboard_interrupt_through():
    class Interrupt(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, X):
            raise KeyboardInterrupt

    net = make_net(
        TrainingNet,
        Interrupt,
        device="cpu",
        verbose=0,
        batch_size=8,
        criterion=torch.nn.MSELoss,
    )
    with pytest.raises(KeyboardInterrupt):
        net.fit(torch.randn(20, 4), torch.randn(20, 2))


def test_keep_state_on_error_restores_every_attribute():
    class Model:
        @keep_state_on_error
        def fit(self, fail):
            self.coef_ = 2
            self.a = "changed"
            if fail:
                raise KeyboardInterrupt
            return self

    model = Model()
    model.a = "before"
    with pytest.raises(KeyboardInterrupt):
        model.fit(True)
    assert model.__dict__ == {"a": "before"}
    assert model.fit(False).coef_ == 2


@pytest.mark.parametrize("bad", [(), (0,), (-4, 8), ("a",), (4.5, 8), (True,)])
def test_check_filters_refuses_bad_channel_counts(bad):
    with pytest.raises(ValueError, match="positive integers"):
        check_filters(bad)
    assert check_filters([np.int64(4), 8]) == (4, 8)


def test_make_net_takes_a_class_not_an_instance():
    with pytest.raises(TypeError, match="module class"):
        make_net(
            TrainingNet,
            Tiny(),
            device="cpu",
            verbose=0,
            batch_size=4,
            criterion=torch.nn.MSELoss,
        )


def test_make_net_uses_the_batch_loader():
    net, _ = _fitted_net()
    assert net.iterator_train is batch_loader
    assert net.iterator_valid is batch_loader
    assert len(net.history) == 2


class Holder(TorchEstimatorMixin):
    def __init__(self, net):
        self.net_ = net


def test_infer_batches_without_gradients_and_never_switches_the_mode():
    net, X = _fitted_net()
    net.module_.eval()
    holder = Holder(net)
    modes = []

    def forward(xb):
        modes.append(net.module_.training)
        out = net.module_(xb)
        assert not out.requires_grad
        return out, out.sum(dim=1)

    out, total = holder._infer(forward, X, batch_size=7)
    assert modes == [False, False, False]
    assert not net.module_.training
    with torch.no_grad():
        expected = net.module_(X)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(total, expected.sum(dim=1))


def test_net_saved_from_a_gpu_loads_on_the_cpu(monkeypatch):
    """Simulate a CUDA-fitted net unpickled where no GPU exists."""
    net, X = _fitted_net()
    net.module_.eval()
    expected = net.module_(X).detach()
    net.device = "cuda"
    blob = pickle.dumps(net)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(Warning, match="cuda|CUDA"):
        restored = pickle.loads(blob)
    assert str(restored.device) == "cpu"
    restored.module_.eval()
    torch.testing.assert_close(restored.module_(X), expected)


INFERENCE = {
    "clf": ("predict_proba", "transform"),
    "vae": ("transform", "score_samples"),
    "cae": ("score_samples", "transform"),
    "ahunt": ("score_samples", "predict_proba"),
}


def _fitted(name, X, y):
    estimator = TINY[name]()
    return estimator.fit(X, y if name in ("clf", "ahunt") else None)


def _state(estimator):
    return {k: v.clone() for k, v in estimator.net_.module_.state_dict().items()}


@pytest.mark.parametrize("name", sorted(INFERENCE))
def test_concurrent_inference_equals_one_thread_and_changes_nothing(small_set, name):
    X, y = small_set
    model = _fitted(name, X, y)
    before = _state(model)
    expected = {m: getattr(model, m)(X) for m in INFERENCE[name]}
    results, errors = [], []

    def work():
        try:
            for _ in range(6):
                for method in INFERENCE[name]:
                    results.append((method, getattr(model, method)(X)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 * 6 * len(INFERENCE[name])
    for method, out in results:
        np.testing.assert_array_equal(out, expected[method])
    after = model.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.net_.module_.training


def test_concurrent_fits_and_samples_are_reproducible(small_set):
    X, _ = small_set
    sequential = TINY["cae"]().fit(X).score_samples(X)
    vae = TINY["vae"]().fit(X)
    samples = vae.sample(4, random_state=0)
    out = {}

    def fit(key):
        out[key] = TINY["cae"]().fit(X).score_samples(X)

    def sample(key):
        out[key] = vae.sample(4, random_state=0)

    threads = [threading.Thread(target=fit, args=(f"fit{i}",)) for i in range(2)]
    threads += [threading.Thread(target=sample, args=(f"sample{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        np.testing.assert_array_equal(out[f"fit{i}"], sequential)
        np.testing.assert_array_equal(out[f"sample{i}"], samples)


@pytest.mark.parametrize("name", ["vae", "cae"])
def test_a_huge_finite_pixel_stops_fit_with_a_clear_error(small_set, name):
    X, _ = small_set
    X = ArcsinhScaler().fit_transform(X)
    X[3, 2, 2, 1] = 1e30
    estimator = TINY[name]()
    with pytest.raises(FloatingPointError, match="training loss became"):
        estimator.fit(X)
    assert not hasattr(estimator, "net_")  # left unfitted


def test_a_too_high_learning_rate_stops_fit(small_set):
    X, y = small_set
    with pytest.raises(FloatingPointError, match="lr=1000000.0"):
        TINY["clf"](lr=1e6, optimizer="sgd").fit(X, y)


def _peak_bytes(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "name, method, copies",
    [
        ("cae", "score_samples", (10, 40)),
        ("vae", "transform", (10, 40)),
        ("clf", "predict_proba", (10, 40)),
        # Fewer: the morphology statistics it measures run in Python per image.
        ("ahunt", "score_samples", (3, 12)),
        ("scaler", "transform", (10, 40)),
    ],
)
def test_peak_memory_does_not_grow_with_the_images_beyond_the_outputs(
    small_set, name, method, copies
):
    X, y = small_set
    model = ArcsinhScaler().fit(X) if name == "scaler" else _fitted(name, X, y)
    small, large = (np.tile(X, (n, 1, 1, 1)) for n in copies)
    call = getattr(model, method)
    call(small[:100])  # warm up caches and lazy imports
    grown = _peak_bytes(call, large) - _peak_bytes(call, small)
    n_more = len(large) - len(small)
    # Outputs: float32/64 rows; a whole-array float32 copy would add 4 bytes
    # per input value (12 KiB per 16x16x3 image here).
    per_image_output = 3 * 16 * 16 * 4 if name == "scaler" else 1024
    assert grown < n_more * per_image_output + 2**20, grown


def test_an_interrupted_fit_leaves_the_previous_model(small_set, monkeypatch):
    X, y = small_set
    for name in ("clf", "vae", "cae", "ahunt"):
        model = _fitted(name, X, y)
        net = model.net_
        first = clone(model)
        monkeypatch.setattr(
            type(net),
            "fit_loop",
            lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt),
        )
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y if name in ("clf", "ahunt") else None)
        with pytest.raises(KeyboardInterrupt):
            first.fit(X, y if name in ("clf", "ahunt") else None)
        monkeypatch.undo()
        assert model.net_ is net  # the previous fit, untouched
        assert not hasattr(first, "net_")  # still unfitted


@pytest.mark.parametrize("bad", [(), (0,), (-4, 8), ("a",), (4.5, 8)])
def test_bad_filters_are_refused_by_every_estimator(small_set, bad):
    X, y = small_set
    for name in ("clf", "vae", "cae"):
        with pytest.raises(ValueError, match="filters"):
            TINY[name](filters=bad).fit(X, y if name == "clf" else None)
    with pytest.raises(ValueError, match="filters"):
        TINY["ahunt"](filters=bad, backbone="cnn").fit(X, y)
