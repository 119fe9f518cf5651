"""Safe model files and ONNX export."""

import json
import os
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

    from skgalaxy.io._model_file import _Reader

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


@pytest.mark.parametrize(
    "name, params, method",
    [
        ("clf", {}, "predict_proba"),
        ("clf", {"backbone": "d4"}, "predict_proba"),  # no test-time augmentation
        ("clf", {}, "transform"),
        ("vae", {}, "transform"),
        ("ssl", {}, "transform"),
        ("cae", {}, "score_terms"),
        ("ahunt", {"backbone": "cnn"}, "predict_proba"),
    ],
)
def test_onnx_export_matches_the_estimator(tmp_path, name, params, method):
    ort = pytest.importorskip("onnxruntime")
    X, y = small_galaxies(24, size=64)
    model = make_pipeline(ArcsinhScaler(), TINY[name](**params)).fit(
        X, y if name in ("clf", "ahunt") else None
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


def test_onnx_export_of_ahunt_on_features_takes_the_features(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (60, 5)), rng.normal(3, 1, (6, 5))] * 40 + 7
    y = np.array(["normal"] * 60 + ["odd"] * 6, dtype=object)
    detector = TINY["ahunt"]().fit(X, y)
    assert export_onnx(detector, tmp_path / "a.onnx") == ["proba"]
    session = ort.InferenceSession(str(tmp_path / "a.onnx"))
    assert [i.name for i in session.get_inputs()] == ["features"]
    got = session.run(None, {"features": X.astype(np.float32)})[0]
    np.testing.assert_allclose(got, detector.predict_proba(X), atol=1e-5, rtol=0)


def test_onnx_export_of_ahunt_on_images_takes_their_statistics(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    X, y = small_galaxies(40, size=32)
    detector = TINY["ahunt"]().fit(X, y)
    export_onnx(detector, tmp_path / "a.onnx")
    session = ort.InferenceSession(str(tmp_path / "a.onnx"))
    statistics = MorphologyTransformer().fit_transform(X).astype(np.float32)
    got = session.run(None, {"features": statistics})[0]
    np.testing.assert_allclose(got, detector.predict_proba(X), atol=1e-5, rtol=0)


def test_onnx_methods_lists_what_each_estimator_exports():
    from skgalaxy.io import ONNX_METHODS

    assert ONNX_METHODS["GalaxyCNNClassifier"] == {
        "predict_proba": ["proba"],
        "transform": ["embedding"],
    }
    assert "MorphologyTransformer" not in ONNX_METHODS
    assert next(iter(ONNX_METHODS["CAEAnomalyDetector"])) == "score_terms"


def test_onnx_export_refuses_what_it_cannot_export(fitted, tmp_path):
    with pytest.raises(ValueError, match="Cannot export"):
        export_onnx(fitted["vae"], tmp_path / "x.onnx", "score_samples")
    with pytest.raises(ValueError, match="Pipeline of ArcsinhScaler"):
        export_onnx(fitted["pipeline"], tmp_path / "x.onnx")
    unlabelled = TINY["ahunt"]().fit(small_galaxies(24, size=32)[0])
    with pytest.raises(ValueError, match="no classifier to export"):
        export_onnx(unlabelled, tmp_path / "x.onnx")


# -- files crafted against their user ------------------------------------------


def _resealed(path, target, edit=None, parts=None, compress=zipfile.ZIP_STORED):
    """Copy of a model file with its manifest edited (``edit(manifest)``) and
    parts replaced (``parts``), checksums recomputed as an attacker would."""
    import hashlib

    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    members.pop("manifest.sha256")
    members.update(parts or {})
    manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    if edit is not None:
        edit(manifest)
    raw = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w", compression=compress) as archive:
        archive.writestr("manifest.json", raw)
        archive.writestr("manifest.sha256", hashlib.sha256(raw).hexdigest())
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def _set_param(name, value):
    def edit(manifest):
        params = manifest["root"]["__estimator__"]["params"]["__dict__"]
        for item in params:
            if item[0] == name:
                item[1] = value

    return edit


def _load_in_bounded_memory(paths, headroom_mb):
    """Load each file in a fresh process whose address space may grow by
    ``headroom_mb`` only; return what each load raised (or "loaded")."""
    script = textwrap.dedent(
        f"""
        import json, resource
        import torch, skgalaxy.io, skgalaxy.classification
        from skgalaxy.io import load_model
        with open("/proc/self/status") as f:
            size = next(int(l.split()[1]) for l in f if l.startswith("VmSize"))
        limit = (size + {headroom_mb} * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        results = []
        for path in {[str(p) for p in paths]!r}:
            try:
                load_model(path)
                results.append(["loaded", ""])
            except Exception as exc:
                results.append([type(exc).__name__, str(exc)])
        print(json.dumps(results))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_bombs_and_huge_networks_are_refused_in_bounded_memory(fitted, tmp_path):
    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    bomb = tmp_path / "bomb.skgalaxy"
    _resealed(path, bomb, compress=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("weights/9.safetensors", "w", force_zip64=True) as entry:
            block = bytes(2**20)
            for _ in range(600):  # 600 MB of zeros in a file of about 600 kB
                entry.write(block)
    assert bomb.stat().st_size < 2 * 2**20
    huge = _resealed(
        path,
        tmp_path / "huge.skgalaxy",
        _set_param("filters", {"__tuple__": [8000, 8000]}),
    )
    results = _load_in_bounded_memory([bomb, huge, path], headroom_mb=300)
    assert results[0][0] == "ValueError" and "compressed" in results[0][1]
    assert results[1][0] == "ValueError" and "larger than" in results[1][1]
    assert results[2] == ["loaded", ""]


def test_weights_must_be_those_of_the_network_described(fitted, tmp_path):
    import torch
    from safetensors.torch import load, save

    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    name = next(n for n in zipfile.ZipFile(path).namelist() if "weights" in n)
    state = load(zipfile.ZipFile(path).read(name))
    wider = _resealed(
        path, tmp_path / "w.skgalaxy", _set_param("filters", {"__tuple__": [8, 17]})
    )
    with pytest.raises(ValueError, match="do not match the network"):
        load_model(wider)
    ints = {
        k: v.to(torch.int32) if v.is_floating_point() else v for k, v in state.items()
    }
    as_int = _resealed(path, tmp_path / "i.skgalaxy", parts={name: save(ints)})
    with pytest.raises(ValueError, match="stored as int32"):
        load_model(as_int)
    header_lies = bytearray(zipfile.ZipFile(path).read(name))
    header_lies[:8] = (2**40).to_bytes(8, "little")
    lies = _resealed(path, tmp_path / "l.skgalaxy", parts={name: bytes(header_lies)})
    with pytest.raises(ValueError, match="header is longer"):
        load_model(lies)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("batch_size", 0, "batch_size"),
        ("max_epochs", -5, "max_epochs"),
        ("optimizer", "evil", "optimizer"),
        ("dropout", 7.0, "dropout"),
    ],
)
def test_absurd_parameters_are_refused(fitted, tmp_path, name, value, match):
    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    bad = _resealed(path, tmp_path / "bad.skgalaxy", _set_param(name, value))
    with pytest.raises(ValueError, match=match):
        load_model(bad)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["root"]["__estimator__"].pop("params"),
        lambda m: m["root"]["__estimator__"].update(params=5),
        lambda m: m["root"]["__estimator__"].update(attributes=[1, {"x": 2}]),
        lambda m: m.update(root={"__array__": "absent"}),
        lambda m: m.update(root=[["not", "a model"]]),
        lambda m: m.update(root={"__tuple__": 5}),
    ],
)
def test_a_malformed_manifest_is_one_clear_error(fitted, tmp_path, edit):
    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    bad = _resealed(path, tmp_path / "bad.skgalaxy", edit)
    with pytest.raises(ValueError, match=f"{bad.name} is not a skgalaxy model file"):
        load_model(bad)


def test_a_huge_manifest_or_a_lying_array_is_refused(fitted, tmp_path):
    from skgalaxy.io import MAX_MANIFEST_BYTES

    path = save_model(fitted["clf"], tmp_path / "clf.skgalaxy")
    padded = _resealed(
        path, tmp_path / "m.skgalaxy", lambda m: m.update(pad="x" * MAX_MANIFEST_BYTES)
    )
    with pytest.raises(ValueError, match="manifest is over"):
        load_model(padded)
    arrays = zipfile.ZipFile(path).read("arrays.npz")
    with zipfile.ZipFile(arrays_path := tmp_path / "a.npz", "w") as archive:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(3))
        header["shape"] = (10**12,)
        with archive.open("a0.npy", "w") as entry:
            np.lib.format.write_array_header_1_0(entry, header)
            entry.write(bytes(24))
    assert arrays != arrays_path.read_bytes()
    lying = _resealed(
        path, tmp_path / "l.skgalaxy", parts={"arrays.npz": arrays_path.read_bytes()}
    )
    with pytest.raises(ValueError, match="not what its header says"):
        load_model(lying)


def test_a_crafted_forest_is_refused_not_a_crash(data, tmp_path):
    X, _ = data
    forest = IsolationForest(n_estimators=3, random_state=0).fit(X.reshape(len(X), -1))
    model = make_pipeline(
        ArcsinhScaler(), TINY["ahunt"](unsupervised=forest, random_state=0)
    ).fit(X)
    path = save_model(model, tmp_path / "forest.skgalaxy")
    assert load_model(path) is not None
    name = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("skops"))
    import skops.io

    from skgalaxy.io import TRUSTED_TYPES

    part = skops.io.loads(zipfile.ZipFile(path).read(name), trusted=TRUSTED_TYPES)
    tree = part.estimators_[0].tree_
    state = tree.__getstate__()
    state["nodes"]["left_child"][0] = 10**9
    tree.__setstate__(state)
    crafted = _resealed(
        path, tmp_path / "c.skgalaxy", parts={name: skops.io.dumps(part)}
    )
    with pytest.raises(ValueError, match="tree whose nodes point out of range"):
        load_model(crafted)


def test_a_crafted_neighbour_search_is_refused_not_a_crash(data, tmp_path):
    X, _ = data
    model = make_pipeline(
        MorphologyTransformer(), KNeighborsDetector(n_neighbors=3, algorithm="kd_tree")
    ).fit(X)
    path = save_model(model, tmp_path / "knn.skgalaxy")
    name = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("skops"))
    import skops.io

    from skgalaxy.io import TRUSTED_TYPES

    part = skops.io.loads(zipfile.ZipFile(path).read(name), trusted=TRUSTED_TYPES)
    state = list(part._tree.__getstate__())
    state[1] = state[1] + 10**9  # every index far outside the data
    part._tree.__setstate__(tuple(state))
    crafted = _resealed(
        path, tmp_path / "c.skgalaxy", parts={name: skops.io.dumps(part)}
    )
    with pytest.raises(ValueError, match="neighbour search whose nodes point out"):
        load_model(crafted)
