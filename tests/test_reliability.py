"""Reliability: shared inference, no silent NaN, bounded memory, honest loaders.

Each test here failed on the code before the reliability work (see the
project's reliability issue); they run at small sizes.
"""

import http.server
import threading
import time
import tracemalloc

import h5py
import numpy as np
import pytest
import torch
from conftest import TINY, small_galaxies
from sklearn.base import clone

from skgalaxy import (
    ArcsinhScaler,
)
from skgalaxy.cli import build_parser, main
from skgalaxy.datasets import fetch_galaxy10, load_galaxy10, load_npz_images


@pytest.fixture(scope="module")
def data():
    X, y = small_galaxies(96, seed=0)
    return X, y


def _fitted(name, X, y):
    estimator = TINY[name]()
    return estimator.fit(X, y if name in ("clf", "ahunt") else None)


INFERENCE = {
    "clf": ("predict_proba", "transform"),
    "vae": ("transform", "score_samples"),
    "cae": ("score_samples", "transform"),
    "ahunt": ("score_samples", "predict_proba"),
}


def _state(estimator):
    return {k: v.clone() for k, v in estimator.net_.module_.state_dict().items()}


@pytest.mark.parametrize("name", sorted(INFERENCE))
def test_concurrent_inference_equals_one_thread_and_changes_nothing(data, name):
    X, y = data
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


def test_concurrent_fits_and_samples_are_reproducible(data):
    X, _ = data
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
def test_a_huge_finite_pixel_stops_fit_with_a_clear_error(data, name):
    X, _ = data
    X = ArcsinhScaler().fit_transform(X)
    X[3, 2, 2, 1] = 1e30
    estimator = TINY[name]()
    with pytest.raises(FloatingPointError, match="training loss became"):
        estimator.fit(X)
    assert not hasattr(estimator, "net_")  # left unfitted


def test_a_too_high_learning_rate_stops_fit(data):
    X, y = data
    with pytest.raises(FloatingPointError, match="lr=1000000.0"):
        TINY["clf"](lr=1e6, optimizer="sgd").fit(X, y)


@pytest.mark.parametrize("first, second", [(-1.0, 1.0), (np.nan, 1.0), (0.0, 0.0)])
def test_class_weights_must_be_finite_non_negative_and_one_positive(
    data, first, second
):
    X, y = data
    weights = {"round_smooth": first, "edge_on_with_bulge": second}
    with pytest.raises(ValueError, match="finite, non-negative"):
        TINY["clf"](class_weight=weights).fit(X, y)


def test_values_beyond_float32_are_refused(data):
    X, y = data
    big = X.astype(np.float64)
    big[0, 0, 0, 0] = 1e39
    for name in ("clf", "cae", "vae", "ahunt"):
        with pytest.raises(ValueError, match="float32's range"):
            TINY[name]().fit(big, y if name in ("clf", "ahunt") else None)


def test_a_tiny_softening_is_refused(data):
    X, _ = data
    with pytest.raises(ValueError, match="softening"):
        ArcsinhScaler(softening=1e-300).fit(X)


def test_a_nan_score_is_an_outlier_never_normal(data, monkeypatch):
    X, _ = data
    cae = TINY["cae"]().fit(X)
    scores = cae.score_samples(X[:4])
    scores[1] = np.nan
    monkeypatch.setattr(type(cae), "score_samples", lambda self, X: scores)
    with pytest.warns(RuntimeWarning, match="no finite score"):
        labels = cae.predict(X[:4])
    assert labels[1] == -1


def test_non_finite_training_scores_refuse_to_set_a_threshold(data, monkeypatch):
    X, _ = data
    cae = TINY["cae"]()
    monkeypatch.setattr(
        type(cae), "_score_from_terms", lambda self, terms: np.full(len(X), np.nan)
    )
    with pytest.raises(ValueError, match="non-finite scores"):
        cae.fit(X)


def _peak_bytes(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "name, method",
    [
        ("cae", "score_samples"),
        ("vae", "transform"),
        ("clf", "predict_proba"),
        ("ahunt", "score_samples"),
        ("scaler", "transform"),
    ],
)
def test_peak_memory_does_not_grow_with_the_images_beyond_the_outputs(
    data, name, method
):
    X, y = data
    model = ArcsinhScaler().fit(X) if name == "scaler" else _fitted(name, X, y)
    small, large = np.tile(X, (10, 1, 1, 1)), np.tile(X, (40, 1, 1, 1))
    call = getattr(model, method)
    call(small[:300])  # warm up caches and lazy imports
    grown = _peak_bytes(call, large) - _peak_bytes(call, small)
    n_more = len(large) - len(small)
    # Outputs: float32/64 rows; a whole-array float32 copy would add 4 bytes
    # per input value (12 KiB per 16x16x3 image here).
    per_image_output = 3 * 16 * 16 * 4 if name == "scaler" else 1024
    assert grown < n_more * per_image_output + 2**20, grown


def test_an_interrupted_fit_leaves_the_previous_model(data, monkeypatch):
    X, y = data
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
def test_bad_filters_are_refused_by_every_estimator(data, bad):
    X, y = data
    for name in ("clf", "vae", "cae"):
        with pytest.raises(ValueError, match="filters"):
            TINY[name](filters=bad).fit(X, y if name == "clf" else None)
    with pytest.raises(ValueError, match="filters"):
        TINY["ahunt"](filters=bad, backbone="cnn").fit(X, y)


def test_none_among_classifier_labels_is_refused(data):
    X, y = data
    y = y.astype(object)
    y[5] = None
    with pytest.raises(ValueError, match="None"):
        TINY["clf"]().fit(X, y)


def test_image_shape_contradicting_4d_input_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="contradicts"):
        TINY["cae"](image_shape=(8, 8, 12)).fit(X)


def test_a_huge_smoothing_finishes_quickly(data):
    X, _ = data
    cae = TINY["cae"]().fit(X)
    start = time.perf_counter()
    cae.set_params(smoothing=1e6).score_samples(X[:8])
    assert time.perf_counter() - start < 10


# -- loaders -----------------------------------------------------------------


def _npz(path, **arrays):
    images = np.zeros((4, 8, 8, 3), np.uint8)
    np.savez(path, **{"images": images, **arrays})
    return path


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"labels": np.array([0, 1, 0])}, "one per image"),
        ({"labels": np.array([0.0, np.nan, 1.0, 0.0])}, "integers"),
        ({"labels": np.array([0, -1, 1, 0])}, ">= 0"),
        (
            {"labels": np.array([0, 1, 2, 0]), "class_names": np.array(["a", "b"])},
            "no class name",
        ),
        ({"labels": np.array([0, 10**9, 1, 0])}, "class_names"),
    ],
)
def test_npz_labels_are_checked(tmp_path, arrays, match):
    path = _npz(tmp_path / "cutouts.npz", **arrays)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        load_npz_images(path)
    assert time.perf_counter() - start < 2  # no class list of 10**9 names


def test_truncated_and_renamed_files_are_clear_errors(tmp_path, capsys):
    path = _npz(tmp_path / "good.npz", labels=np.array([0, 1, 0, 1]))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    renamed = tmp_path / "renamed.npz"
    np.save(tmp_path / "plain.npy", np.zeros(3))
    (tmp_path / "plain.npy").rename(renamed)
    for bad in (truncated, renamed):
        with pytest.raises(ValueError, match="Cannot read"):
            load_npz_images(bad)
        out = tmp_path / "m.joblib"
        assert main(["train", "cae", "--data", str(bad), "--out", str(out)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Cannot read" in err[0]


def _h5(path, images, ans):
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["ans"] = ans
    return path


@pytest.mark.parametrize(
    "images, ans, match",
    [
        (np.random.default_rng(0).random((4, 69, 69, 3)), np.arange(4), "uint8"),
        (np.full((4, 69, 69, 3), 300, np.uint16), np.arange(4), "uint8"),
        (np.zeros((4, 69, 69, 3), np.uint8), np.arange(4) + 0.5, "integer label"),
        (np.zeros((4, 69, 69, 3), np.uint8), np.zeros((4, 2), int), "integer label"),
    ],
)
def test_galaxy10_contents_are_checked(tmp_path, images, ans, match):
    with pytest.raises(ValueError, match=match):
        load_galaxy10(_h5(tmp_path / "g.h5", images, ans))


def test_galaxy10_images_as_a_group_is_a_clear_error(tmp_path):
    path = tmp_path / "group.h5"
    with h5py.File(path, "w") as f:
        f.create_group("images")
        f["ans"] = np.arange(3)
    with pytest.raises(ValueError, match="not a Galaxy10 file"):
        load_galaxy10(path)


class _ShortBody(http.server.BaseHTTPRequestHandler):
    """Announces more bytes than it sends, then closes the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x89HDF\r\n\x1a\n" + b"x" * 1000)

    def log_message(self, *args):
        pass


def test_a_truncated_download_is_discarded_and_retried(tmp_path, galaxy10_writer):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortBody)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/Galaxy10.h5?token=abc"
        with pytest.raises(OSError, match="incomplete"):
            fetch_galaxy10("sdss", data_home=tmp_path, url=url, verbose=False)
        assert list(tmp_path.iterdir()) == []  # nothing that looks complete
    finally:
        server.shutdown()
        server.server_close()


def test_query_strings_stay_out_of_the_cache_name(
    http_folder, tmp_path, galaxy10_writer
):
    folder, base = http_folder
    galaxy10_writer(folder / "Galaxy10.h5")
    cache = tmp_path / "cache"
    fetch_galaxy10(
        "sdss", data_home=cache, url=f"{base}/Galaxy10.h5?x=1", verbose=False
    )
    assert [p.name for p in cache.iterdir()] == ["Galaxy10.h5"]


def test_no_download_creates_nothing(tmp_path):
    home = tmp_path / "never"
    with pytest.raises(OSError, match="download_if_missing"):
        fetch_galaxy10("sdss", data_home=home, download_if_missing=False)
    assert not home.exists()


def test_the_predict_command_warns_that_a_joblib_file_is_a_program():
    parser = build_parser()
    predict = parser._subparsers._group_actions[0].choices["predict"]
    assert "trust" in predict.format_help()
