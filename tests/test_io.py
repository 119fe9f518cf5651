"""Safe model files, ONNX export and survey-size scoring."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from conftest import TINY, small_galaxies
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgalaxy import ArcsinhScaler
from skgalaxy.anomaly import GaussianMixtureDetector, KNeighborsDetector
from skgalaxy.io import export_onnx, load_model, save_model
from skgalaxy.morphology import MorphologyTransformer

METHODS = {
    "clf": "predict_proba",
    "vae": "transform",
    "cae": "score_samples",
    "ahunt": "score_samples",
}


@pytest.fixture(scope="module")
def data():
    return small_galaxies(48)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    models = {
        name: TINY[name]().fit(X, y if name in ("clf", "ahunt") else None)
        for name in METHODS
    }
    models["pipeline"] = make_pipeline(
        ArcsinhScaler(), TINY["vae"](), StandardScaler(), PCA(2), LogisticRegression()
    ).fit(X, y)
    models["ahunt_unlabelled"] = TINY["ahunt"](
        unsupervised=IsolationForest(n_estimators=10, random_state=0)
    ).fit(X)
    models["knn"] = make_pipeline(
        ArcsinhScaler(), TINY["vae"](), KNeighborsDetector(n_neighbors=5)
    ).fit(X)
    models["mixture"] = make_pipeline(
        MorphologyTransformer(),
        StandardScaler(),
        GaussianMixtureDetector(n_components=2, random_state=0),
    ).fit(X)
    return models


def _outputs(name, model, X):
    if name == "pipeline":
        return model.predict_proba(X)
    if name in ("ahunt_unlabelled", "knn", "mixture"):
        return model.score_samples(X)
    return getattr(model, METHODS[name])(X)


def test_round_trip_in_a_fresh_process_gives_identical_outputs(fitted, data, tmp_path):
    X, _ = data
    np.save(tmp_path / "X.npy", X)
    for name, model in fitted.items():
        save_model(model, tmp_path / f"{name}.skgalaxy")
        np.save(tmp_path / f"{name}.npy", _outputs(name, model, X))
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_io import _outputs
        from skgalaxy.io import load_model
        X = np.load({str(tmp_path / "X.npy")!r})
        for name in {sorted(fitted)!r}:
            model = load_model({str(tmp_path)!r} + f"/{{name}}.skgalaxy")
            expected = np.load({str(tmp_path)!r} + f"/{{name}}.npy")
            np.testing.assert_array_equal(_outputs(name, model, X), expected)
            print("same", name)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("same") == len(fitted)


def test_a_loaded_ahunt_goes_on_learning(fitted, data, tmp_path):
    X, y = data
    restored = load_model(save_model(fitted["ahunt"], tmp_path / "a.skgalaxy"))
    assert list(restored.classes_) == list(fitted["ahunt"].classes_)
    labels = y.copy()
    labels[:3] = "merger"
    restored.teach(X, labels)
    assert restored.n_rounds_ == 1 and "merger" in restored.classes_
    unlabelled = load_model(
        save_model(fitted["ahunt_unlabelled"], tmp_path / "u.skgalaxy")
    )
    assert unlabelled.net_ is None
    assert unlabelled.teach(X[:10], y[:10]).net_ is not None


def _rewrite(path, member, data):
    """Replace one member of a model file, keeping the rest."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_a_tampered_or_foreign_file_is_refused(fitted, tmp_path):
    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    weights = next(n for n in zipfile.ZipFile(path).namelist() if "weights" in n)
    tampered = tmp_path / "tampered.skgalaxy"
    tampered.write_bytes(path.read_bytes())
    _rewrite(tampered, weights, b"\0" * 64)
    with pytest.raises(ValueError, match="changed or damaged"):
        load_model(tampered)
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    manifest["root"]["__estimator__"]["class"] = "os.system"
    foreign = tmp_path / "foreign.skgalaxy"
    foreign.write_bytes(path.read_bytes())
    _rewrite(foreign, "manifest.json", json.dumps(manifest).encode())
    with pytest.raises(ValueError, match="manifest checksum"):
        load_model(foreign)
    import hashlib

    raw = json.dumps(manifest).encode()
    _rewrite(foreign, "manifest.sha256", hashlib.sha256(raw).hexdigest().encode())
    with pytest.raises(ValueError, match="unknown estimator 'os.system'"):
        load_model(foreign)
    pickle = tmp_path / "model.skgalaxy"
    import joblib

    joblib.dump(fitted["clf"], pickle)
    with pytest.raises(ValueError, match="not a skgalaxy model file"):
        load_model(pickle)


@pytest.mark.parametrize("name, former", [("pooling", "mean"), ("asymmetry", False)])
def test_a_file_from_before_a_parameter_loads_as_it_was(data, tmp_path, name, former):
    import hashlib

    X, y = data
    clf = TINY["clf"](**{name: former}).fit(X, y)
    path = save_model(clf, tmp_path / "old.skgalaxy")
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    params = manifest["root"]["__estimator__"]["params"]["__dict__"]
    manifest["root"]["__estimator__"]["params"]["__dict__"] = [
        item for item in params if item[0] != name
    ]  # as written before the parameter existed
    raw = json.dumps(manifest).encode()
    _rewrite(path, "manifest.json", raw)
    _rewrite(path, "manifest.sha256", hashlib.sha256(raw).hexdigest().encode())
    loaded = load_model(path)
    assert getattr(loaded, name) == former
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_untrusted_scikit_learn_types_are_refused(fitted, tmp_path):
    import skops.io

    from skgalaxy.io import _Reader

    data = skops.io.dumps(make_pipeline(StandardScaler()).fit(np.ones((3, 2))))
    reader = _Reader({}, {"skops/0.skops": data})
    assert reader.skops("skops/0.skops").steps[0][0] == "standardscaler"
    from sklearn.preprocessing import FunctionTransformer

    # A transformer that would call a builtin: not on the trusted list.
    bad = skops.io.dumps(FunctionTransformer(print))
    with pytest.raises(ValueError, match="does not trust.*builtins.print"):
        _Reader({}, {"skops/1.skops": bad}).skops("skops/1.skops")


def test_what_cannot_be_saved_safely_says_so(data):
    X, y = data
    model = make_pipeline(ArcsinhScaler(), TINY["vae"]()).fit(X)
    model[-1].custom_ = lambda x: x
    with pytest.raises(TypeError, match="joblib"):
        save_model(model, "never-written.skgalaxy")
    assert not os.path.exists("never-written.skgalaxy")


def test_no_torch_load_without_weights_only():
    import pathlib

    import skgalaxy

    root = pathlib.Path(skgalaxy.__file__).parent
    for source in root.rglob("*.py"):
        text = source.read_text()
        for line in text.splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{source}: {line}"


@pytest.mark.parametrize(
    "name, method",
    [
        ("clf", "predict_proba"),
        ("clf", "transform"),
        ("vae", "transform"),
        ("cae", "score_terms"),
    ],
)
def test_onnx_export_matches_the_estimator(tmp_path, name, method):
    ort = pytest.importorskip("onnxruntime")
    X, y = small_galaxies(24, size=64)
    model = make_pipeline(ArcsinhScaler(), TINY[name]()).fit(
        X, y if name == "clf" else None
    )
    path = tmp_path / "model.onnx"
    outputs = export_onnx(model, path, method)
    session = ort.InferenceSession(str(path))
    if method == "score_terms":
        cae = model[-1]
        terms = cae._score_terms(cae._image_batches(model[0].transform(X), reset=False))
        expected = [terms[k] for k in outputs]
    else:
        expected = [getattr(model, method)(X)]
    for batch in (X[:1], X[:5], X):  # one graph, any batch size
        got = session.run(None, {"images": batch.astype(np.float32)})
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e[: len(batch)], atol=1e-4, rtol=0)


def test_onnx_export_refuses_what_it_cannot_export(fitted, tmp_path):
    with pytest.raises(ValueError, match="Cannot export"):
        export_onnx(fitted["vae"], tmp_path / "x.onnx", "score_samples")
    with pytest.raises(ValueError, match="Pipeline of ArcsinhScaler"):
        export_onnx(fitted["pipeline"], tmp_path / "x.onnx")


_KILLED_SCORE = textwrap.dedent(
    """
    import sys, time
    import skgalaxy.scoring as scoring
    original = scoring._score_part
    def slow(*args):
        done = original(*args)
        print("part", args[3], flush=True)
        time.sleep(0.5)
        return done
    scoring._score_part = slow
    scoring.score_survey(sys.argv[1], sys.argv[2], sys.argv[3], chunk_size=20,
                         progress=False)
    """
)


def test_an_interrupted_survey_resumes_without_recomputing(fitted, data, tmp_path):
    import h5py
    import pandas as pd

    from skgalaxy.scoring import score_survey

    X, _ = data
    survey = tmp_path / "survey.h5"
    with h5py.File(survey, "w") as f:
        f["images"] = np.concatenate([X] * 5)  # 240 images, 12 parts
    model = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    out = tmp_path / "scores.parquet"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SCORE, str(model), str(survey), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("part 3"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert 4 <= len(written) < 12 and not (out / "_SUCCESS").exists()
    score_survey(model, survey, out, chunk_size=20, progress=False)
    for name, mtime in written.items():
        assert (out / name).stat().st_mtime_ns == mtime  # not recomputed
    assert (out / "_SUCCESS").is_file()
    assert not list(out.glob(".*.tmp"))
    table = pd.read_parquet(out)
    np.testing.assert_array_equal(table["index"], np.arange(240))
    expected = fitted["cae"].score_samples(np.concatenate([X] * 5))
    np.testing.assert_allclose(table["score_samples"], expected, rtol=1e-6)


def test_survey_scoring_on_dask_workers_matches(fitted, data, tmp_path):
    distributed = pytest.importorskip("distributed")
    import h5py
    import pandas as pd

    from skgalaxy.scoring import score_survey

    X, _ = data
    survey = tmp_path / "survey.h5"
    with h5py.File(survey, "w") as f:
        f["images"] = X
    model = save_model(fitted["cae"], tmp_path / "cae.skgalaxy")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = score_survey(model, survey, tmp_path / "s", chunk_size=16, client=client)
    table = pd.read_parquet(out).sort_values("index")
    np.testing.assert_allclose(
        table["score_samples"], fitted["cae"].score_samples(X), rtol=1e-6
    )


def test_peak_memory_of_survey_scoring_is_bounded_by_the_chunk(fitted, data, tmp_path):
    import tracemalloc

    import h5py

    from skgalaxy.scoring import score_survey

    X, _ = data

    def peak(n_copies):
        survey = tmp_path / f"survey{n_copies}.h5"
        with h5py.File(survey, "w") as f:
            f["images"] = np.concatenate([X] * n_copies)
        tracemalloc.start()
        score_survey(
            fitted["cae"],
            survey,
            tmp_path / f"s{n_copies}",
            chunk_size=48,
            progress=False,
        )
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    small, large = peak(2), peak(20)
    # 18 more chunks of 48 images: an all-in-memory run would hold 864 more
    # 16x16x3 images (663 KB as uint8, 2.6 MB as float32).
    assert large - small < 300_000, large - small
