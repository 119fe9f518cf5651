"""The estimators together: pipelines, model selection, persistence, pandas."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skgalaxy import (
    ArcsinhScaler,
)
from skgalaxy.active import HuntSession
from skgalaxy.datasets import make_galaxies


@pytest.fixture(scope="module")
def galaxies():
    data = make_galaxies(
        72,
        image_size=16,
        classes=["round_smooth", "edge_on_with_bulge", "unbarred_loose_spiral"],
        anomalies=["saturated_star"],
        anomaly_fraction=1 / 6,
        random_state=0,
    )
    names = data.target_names[data.target].astype(object)
    return data.images, names


def hunt_pipeline():
    return Pipeline(
        [("scale", ArcsinhScaler()), ("vae", TINY["vae"]()), ("ahunt", TINY["ahunt"]())]
    )


def test_scaler_vae_ahunt_pipeline_and_the_loop_through_it(galaxies):
    X, names = galaxies
    y = names.copy()
    y[names == "saturated_star"] = None  # the anomalies are not labelled
    pipe = hunt_pipeline().fit(X, y)
    scores = pipe.score_samples(X)
    np.testing.assert_allclose(pipe.decision_function(X), scores - pipe[-1].offset_)
    np.testing.assert_array_equal(pipe.predict(X), np.where(scores < -0.5, -1, 1))
    Z = pipe[:-1].transform(X)
    known = np.flatnonzero(names != "saturated_star")
    asked = pipe[-1].query(Z, exclude=known)
    assert len(asked) == 4 and not np.isin(asked, known).any()
    index = np.r_[known, asked]
    pipe[-1].teach(Z[index], names[index])
    again = pipe[-1].query(Z, exclude=index)
    assert not np.isin(again, index).any()
    assert pipe[-1].n_labelled_ == 60 + 4
    # The same loop as a hunt session over the pipeline.
    session = HuntSession(X, pipe, y=y)
    session.run_round(lambda idx: names[idx])
    assert session.round_ == 1 and pipe[-1].n_rounds_ == 2


@pytest.mark.parametrize("name", ["clf", "cae"])
def test_image_pipelines(galaxies, name):
    X, names = galaxies
    pipe = Pipeline([("scale", ArcsinhScaler()), (name, TINY[name]())])
    if name == "clf":
        pipe.fit(X, names)
        assert pipe.predict_proba(X).shape == (72, 4)
        assert set(pipe.predict(X)) <= set(names)
    else:
        pipe.fit(X[names != "saturated_star"])
        assert set(np.unique(pipe.predict(X))) <= {-1, 1}
        assert pipe.transform(X).shape == (72, 4)


def test_grid_search_over_inner_steps_in_parallel(galaxies):
    X, names = galaxies
    clf = Pipeline([("scale", ArcsinhScaler()), ("clf", TINY["clf"]())])
    search = GridSearchCV(clf, {"clf__dropout": [0.0, 0.5]}, cv=2, n_jobs=2)
    search.fit(X, names)
    assert search.best_params_["clf__dropout"] in (0.0, 0.5)
    vae_search = GridSearchCV(
        Pipeline([("scale", ArcsinhScaler()), ("vae", TINY["vae"]())]),
        {"vae__n_components": [2, 4]},
        cv=2,
        n_jobs=2,
    ).fit(X)
    assert vae_search.best_estimator_[-1].n_components in (2, 4)
    scores = cross_val_score(clf, X, names, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_clone_of_fitted_pipelines_is_unfitted(galaxies):
    X, names = galaxies
    pipe = hunt_pipeline().fit(X, names)
    twin = clone(pipe)
    assert twin.get_params(deep=False).keys() == pipe.get_params(deep=False).keys()
    assert not hasattr(twin[-1], "classes_") and not hasattr(twin[1], "net_")
    assert twin[1].get_params() == pipe[1].get_params()


def _fitted_models(X, names):
    normal = names != "saturated_star"
    models = {
        "scaler": ArcsinhScaler().fit(X),
        "clf": TINY["clf"]().fit(X, names),
        "vae": TINY["vae"]().fit(X),
        "cae": TINY["cae"]().fit(X[normal]),
        "ahunt_images": TINY["ahunt"]().fit(X, names),
        "hunt_pipeline": hunt_pipeline().fit(X, names),
        "clf_pipeline": Pipeline(
            [("scale", ArcsinhScaler()), ("clf", TINY["clf"]())]
        ).fit(X, names),
    }
    return models


def _outputs(model, X):
    """Every output a model has, as a dict of arrays."""
    out = {}
    for method in ("predict_proba", "score_samples", "transform"):
        if hasattr(model, method):
            out[method] = np.asarray(getattr(model, method)(X))
    if hasattr(model, "sample"):
        out["sample"] = model.sample(2, random_state=0)
    return out


def test_joblib_round_trip_in_a_fresh_process(galaxies, tmp_path):
    X, names = galaxies
    models = _fitted_models(X, names)
    np.save(tmp_path / "X.npy", X)
    for name, model in models.items():
        joblib.dump(model, tmp_path / f"{name}.joblib")
        np.savez(tmp_path / f"{name}.expected.npz", **_outputs(model, X))
    script = f"""
import numpy as np, joblib, sys
sys.path.insert(0, {str(tmp_path)!r})
X = np.load({str(tmp_path / "X.npy")!r})
for name in {list(models)!r}:
    model = joblib.load({str(tmp_path)!r} + "/" + name + ".joblib")
    out = {{}}
    for method in ("predict_proba", "score_samples", "transform"):
        if hasattr(model, method):
            out[method] = np.asarray(getattr(model, method)(X))
    if hasattr(model, "sample"):
        out["sample"] = model.sample(2, random_state=0)
    np.savez({str(tmp_path)!r} + "/" + name + ".loaded.npz", **out)
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    for name in models:
        expected = np.load(tmp_path / f"{name}.expected.npz")
        loaded = np.load(tmp_path / f"{name}.loaded.npz")
        assert expected.files and sorted(expected.files) == sorted(loaded.files)
        for key in expected.files:
            np.testing.assert_array_equal(loaded[key], expected[key], err_msg=name)


def test_models_fitted_on_a_gpu_load_and_predict_on_the_cpu(galaxies, monkeypatch):
    """Simulated: nets marked as CUDA-fitted are unpickled without a GPU."""
    X, names = galaxies
    models = _fitted_models(X, names)
    expected = {name: _outputs(model, X) for name, model in models.items()}
    for model in models.values():
        steps = model.steps if isinstance(model, Pipeline) else [(None, model)]
        for _, step in steps:
            if hasattr(step, "net_"):
                step.net_.device = "cuda"
                step.set_params(device="cuda")
    blobs = {name: pickle.dumps(model) for name, model in models.items()}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name, blob in blobs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skorch: "moving to CPU"
            restored = pickle.loads(blob)
        for key, value in _outputs(restored, X).items():
            np.testing.assert_allclose(value, expected[name][key], rtol=1e-5)


def test_pandas_output_on_the_two_d_parts(galaxies):
    X, names = galaxies
    flat = X.reshape(len(X), -1).astype(np.float32)
    vae = Pipeline([("scale", ArcsinhScaler()), ("vae", TINY["vae"]())])
    vae.set_output(transform="pandas")
    Z = vae.fit_transform(flat)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [f"flowvaetransformer{i}" for i in range(4)]
    scaled = ArcsinhScaler().set_output(transform="pandas").fit_transform(flat)
    assert isinstance(scaled, pd.DataFrame) and scaled.shape == flat.shape
    codes = TINY["cae"]().set_output(transform="pandas").fit(flat).transform(flat)
    assert list(codes.columns) == [f"caeanomalydetector{i}" for i in range(4)]
    embedded = TINY["clf"]().set_output(transform="pandas").fit(flat, names)
    assert isinstance(embedded.transform(flat), pd.DataFrame)
    ahunt = TINY["ahunt"]().fit(Z, names)  # a DataFrame in, like any estimator
    assert list(ahunt.feature_names_in_) == list(Z.columns)
    assert ahunt.score_samples(Z).shape == (72,)
