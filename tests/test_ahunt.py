import warnings
from functools import partial

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import CPU, TINY, small_galaxies
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from skgalaxy import (
    AHUNTDetector,
    ArcsinhScaler,
    FlowVAETransformer,
    MorphologyTransformer,
)
from skgalaxy.active import HuntSession
from skgalaxy.anomaly import KNeighborsDetector
from skgalaxy.datasets import make_galaxies
from skgalaxy.metrics import rank_weighted_score

#: The shared tiny AHUNT on feature vectors, trained to convergence on blobs.
fast_ahunt = partial(
    TINY["ahunt"],
    hidden=(32,),
    max_epochs=30,
    epochs_per_round=5,
    lr=1e-2,
    batch_size=64,
    n_queries=10,
)


@pytest.fixture(scope="module")
def blobs():
    """Two normal classes and two rare kinds of anomaly, in 4-D feature space."""
    rng = np.random.default_rng(0)
    centres = {
        "disc": [0, 0, 0, 0],
        "bulge": [3, 0, 0, 0],
        "merger": [0, 4, 0, 0],
        "trail": [0, 0, 4, 0],
    }
    sizes = {"disc": 200, "bulge": 200, "merger": 15, "trail": 15}
    X = np.concatenate(
        [rng.normal(centres[c], 0.6, (n, 4)) for c, n in sizes.items()]
    ).astype(np.float32)
    truth = np.repeat(list(sizes), list(sizes.values())).astype(object)
    y = truth.copy()
    y[np.r_[100:200, 300:430]] = None  # labels for half the normal galaxies
    return X, y, truth


def _labelled(y, truth, *extra):
    """Indices and labels of the known labels plus the samples ``extra``."""
    known = np.flatnonzero(y != None)  # noqa: E711
    index = np.concatenate([known, *[np.atleast_1d(e) for e in extra]]).astype(int)
    return index, truth[index]


def _taught(blobs, **params):
    X, y, truth = blobs
    det = fast_ahunt(**params).fit(X, y)
    merger = np.flatnonzero(truth == "merger")[:3]
    trail = np.flatnonzero(truth == "trail")[:3]
    index, labels = _labelled(y, truth, merger, trail)
    return det.teach(X[index], labels)


def test_fit_trains_known_classes_plus_the_reserve(blobs):
    X, y, _ = blobs
    det = fast_ahunt().fit(X, y)
    assert list(det.classes_) == ["disc", "bulge", "anomaly"]
    assert det.n_labelled_ == 200 and det.backbone_ == "mlp"
    proba = det.predict_proba(X[:200])
    assert proba.shape == (200, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predicted = det.classes_[proba.argmax(axis=1)]
    labelled = np.flatnonzero(y[:200] != None)  # noqa: E711
    assert len(labelled) == 100
    assert np.mean(predicted[labelled] == y[labelled]) > 0.95
    assert np.mean(predicted[np.r_[100:200]] == "disc") > 0.95  # unlabelled discs


def test_a_new_class_grows_the_model_and_keeps_what_it_learnt(blobs):
    X, y, truth = blobs
    det = fast_ahunt().fit(X, y)
    before = det.predict_proba(X[:400])[:, :2].argmax(axis=1)
    head = det.net_.module_.head[-1].weight.detach().clone()
    merger = np.flatnonzero(truth == "merger")[:3]
    index, labels = _labelled(y, truth, merger)
    det.teach(X[index], labels)
    assert list(det.classes_) == ["disc", "bulge", "anomaly", "merger"]
    assert det.net_.module_.head[-1].out_features == 4
    assert det.predict_proba(X).shape == (len(X), 4)
    after = det.predict_proba(X[:400])[:, :2].argmax(axis=1)
    assert np.mean(before == after) > 0.95  # the known classes are still known
    assert not torch.equal(det.net_.module_.head[-1].weight[:3].detach(), head)
    unseen_mergers = np.flatnonzero(truth == "merger")[3:]
    proba = det.predict_proba(X[unseen_mergers])
    assert np.mean(det.classes_[proba.argmax(axis=1)] == "merger") > 0.8


def test_balance_oversamples_every_class_to_the_largest(blobs):
    """Each fine-tuning epoch covers every labelled class as often as the
    largest: 100 discs and 100 bulges, 3 mergers and 3 trails give 4 x 100
    rows; without balance, the 206 rows as they are."""
    det = _taught(blobs, batch_size=16, balance="oversample")
    unbalanced = _taught(blobs, batch_size=16, balance=False)
    as_true = _taught(blobs, batch_size=16, balance=True)  # True means "oversample"
    assert det.n_labelled_ == unbalanced.n_labelled_ == 206
    for model, rows in ((det, 400), (as_true, 400), (unbalanced, 206)):
        for epoch in model.net_.history[-model.epochs_per_round :]:
            assert len(epoch["batches"]) == rows // 16
    rare = np.isin(blobs[2], ["merger", "trail"])
    lifted = -det.score_samples(blobs[0][rare])
    assert lifted.mean() > -unbalanced.score_samples(blobs[0][rare]).mean()


def test_balance_draw_keeps_epochs_as_long_as_the_labels(blobs):
    """balance="draw" (the default): every class drawn equally often within
    epochs of the 206 labelled rows (not 4 x 100); the rare kinds lifted."""
    det = _taught(blobs, batch_size=16)  # the default
    unbalanced = _taught(blobs, batch_size=16, balance=False)
    for epoch in det.net_.history[-det.epochs_per_round :]:
        assert len(epoch["batches"]) == 206 // 16
    rare = np.isin(blobs[2], ["merger", "trail"])
    lifted = -det.score_samples(blobs[0][rare])
    assert lifted.mean() > -unbalanced.score_samples(blobs[0][rare]).mean()


def test_balance_rejects_an_unknown_scheme(blobs):
    with pytest.raises(ValueError, match="balance"):
        fast_ahunt(balance="undersample").fit(*blobs[:2])


def test_interest_weights_change_the_ranking(blobs):
    X, _, truth = blobs
    for wanted, other in (("merger", "trail"), ("trail", "merger")):
        det = _taught(blobs, interest={wanted: 1.0, other: 0.0})
        score = det.anomaly_score(X)
        top = truth[np.argsort(-score)[:12]]
        assert np.sum(top == wanted) >= 9 and np.sum(top == other) <= 1
        assert rank_weighted_score(truth == wanted, score) > 0.7
        assert rank_weighted_score(truth == other, score) < 0.2


def test_the_blended_score_finds_a_kind_the_classifier_alone_misses(blobs):
    """Trails were never labelled: far from every label, the unsupervised
    start's score lifts them; the classifier alone ranks by merger odds."""
    X, _, truth = blobs
    found = {}
    for blend in ("neighbours", "none"):
        det = _taught(blobs, blend=blend, interest={"merger": 1.0})
        top = truth[np.argsort(-det.anomaly_score(X))[:30]]
        found[blend] = (np.sum(top == "merger"), np.sum(top == "trail"))
    assert found["neighbours"][0] == found["none"][0] == 15, found  # mergers kept
    assert found["neighbours"][1] >= 5 and found["none"][1] <= 1, found


def test_far_from_the_labels_the_unsupervised_odds_are_at_most_even(blobs):
    """The blend lifts a score ``p`` at most to ``1 - (1 - p) / 2``: an
    isolated trail never outranks a sample the classifier finds likely wanted.
    Both detectors train the same network (same seed), so ``p`` is shared."""
    X, _, truth = blobs
    params = dict(interest={"merger": 1.0}, calibrate=False)
    blended = _taught(blobs, **params).anomaly_score(X)
    alone = _taught(blobs, blend="none", **params).anomaly_score(X)
    np.testing.assert_array_less(blended, 1 - (1 - alone) / 2 + 1e-12)
    trails = truth == "trail"
    assert np.max(blended[trails] - alone[trails]) > 0.3  # isolated trails are lifted
    mergers = np.sort(blended[truth == "merger"])
    assert np.sum(blended[~(truth == "merger")] > mergers[-10]) == 0


def test_query_budget_is_split_by_interest(blobs):
    X, _, truth = blobs
    det = _taught(blobs, interest={"merger": 3, "trail": 1}, n_queries=8)
    asked = truth[det.query(X)]
    assert np.sum(asked == "merger") == 6 and np.sum(asked == "trail") == 2


def test_query_strategies_and_unsupervised_start(blobs):
    X, _, truth = blobs
    # No labels: the isolation forest ranks; its top candidates are anomalies.
    det = fast_ahunt().fit(X)
    assert det.net_ is None and list(det.classes_) == ["anomaly"]
    top = det.query(X, n_queries=10)
    assert np.mean(np.isin(truth[top], ["merger", "trail"])) >= 0.6
    assert np.all(det.score_samples(X) <= 0)
    with pytest.raises(NotFittedError, match="no classifier"):
        det.predict_proba(X)
    random_a = fast_ahunt(query_strategy="random").fit(X)
    random_b = clone(random_a).fit(X)
    np.testing.assert_array_equal(random_a.query(X), random_b.query(X))
    # Excluded samples are never proposed, as indices or as a mask.
    everything_but_five = np.arange(len(X) - 5)
    assert set(det.query(X, exclude=everything_but_five)) == set(
        range(len(X) - 5, len(X))
    )
    mask = np.ones(len(X), dtype=bool)
    mask[:3] = False
    assert set(det.query(X, exclude=mask)) == {0, 1, 2}
    assert len(det.query(X, exclude=np.ones(len(X), dtype=bool))) == 0
    unsure = _taught(blobs, query_strategy="uncertain")
    proba = unsure.predict_proba(X)
    entropy = -(proba * np.log(proba)).sum(axis=1)
    picked = unsure.query(X, n_queries=5)
    assert entropy[picked].min() >= np.sort(entropy)[-40]


def test_outlier_semantics(blobs):
    X, y, truth = blobs
    det = _taught(blobs)
    scores = det.score_samples(X)
    assert scores.dtype == np.float64 and scores.min() >= -1 and scores.max() <= 0
    assert det.offset_ == -0.5
    np.testing.assert_allclose(det.decision_function(X), scores + 0.5)
    labels = det.predict(X)
    np.testing.assert_array_equal(labels == -1, scores < -0.5)
    anomalous = np.isin(truth, ["merger", "trail"])
    assert np.mean(labels[anomalous] == -1) > 0.7
    assert np.mean(labels[~anomalous] == -1) < 0.1
    # A float contamination: that fraction of the taught samples is flagged.
    fixed = _taught(blobs, contamination=0.1)
    labelled = np.r_[np.flatnonzero(y != None), 400:403, 415:418]  # noqa: E711
    assert np.mean(fixed.predict(X[labelled]) == -1) == pytest.approx(0.1, abs=0.01)


def test_a_pluggable_unsupervised_start(blobs):
    from sklearn.neighbors import LocalOutlierFactor

    X, _, truth = blobs
    lof = LocalOutlierFactor(n_neighbors=20, novelty=True)
    det = fast_ahunt(unsupervised=lof).fit(X)
    assert isinstance(det.unsupervised_, LocalOutlierFactor)
    assert det.unsupervised_ is not lof  # cloned
    raw = -det.unsupervised_.score_samples(det.scaler_.transform(X))
    # Before any label the score is the quantile of the start's score, with
    # even odds (0.5) at its 95th percentile.
    quantile = np.interp(raw, det.unsupervised_quantiles_, np.linspace(0, 1, 101))
    np.testing.assert_allclose(
        det.anomaly_score(X), quantile ** (np.log(0.5) / np.log(0.95))
    )
    assert np.mean(det.predict(X) == -1) == pytest.approx(0.05, abs=0.01)
    assert np.argsort(raw)[-1] == np.argsort(quantile)[-1]
    top = det.query(X, n_queries=10)
    assert np.mean(np.isin(truth[top], ["merger", "trail"])) >= 0.6
    with pytest.raises(ValueError, match="unsupervised"):
        AHUNTDetector(unsupervised="forest").fit(X)


def test_the_default_start_is_a_forest_and_a_neighbour_distance_plugs_in(blobs):
    from sklearn.ensemble import IsolationForest

    X, _, _ = blobs
    assert isinstance(fast_ahunt().fit(X).unsupervised_, IsolationForest)
    images, _ = small_galaxies(24)
    assert isinstance(TINY["ahunt"]().fit(images).unsupervised_, IsolationForest)
    # A KNeighborsDetector start: the mean distance to the 20 nearest
    # standardised samples of fit.
    det = fast_ahunt(unsupervised=KNeighborsDetector()).fit(X)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    distances = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))
    nearest = np.sort(distances, axis=1)[:, :20].mean(axis=1)
    np.testing.assert_allclose(
        det._unsupervised_scores(det._prepare(X, reset=False)), nearest, rtol=1e-4
    )


@pytest.mark.parametrize("missing", [None, np.nan, np.float32("nan"), pd.NA])
def test_every_kind_of_missing_label_means_unlabelled(blobs, missing):
    X, y, _ = blobs
    y = np.where(y == None, missing, y).astype(object)  # noqa: E711
    det = fast_ahunt().fit(X, y)
    assert list(det.classes_) == ["disc", "bulge", "anomaly"]
    assert det.n_labelled_ == 200


def test_images_are_hunted_on_their_morphology_by_default(small_set):
    X, y = small_set
    y = np.where(np.arange(len(y)) < 60, y, None)
    on_images = TINY["ahunt"]().fit(X, y)
    assert on_images.backbone_ == "morphology"
    assert on_images.scaler_.n_features_in_ == 17  # statistics of RGB images
    route = make_pipeline(MorphologyTransformer(), TINY["ahunt"]()).fit(X, y)
    np.testing.assert_array_equal(on_images.score_samples(X), route.score_samples(X))
    np.testing.assert_array_equal(
        on_images.query(X, exclude=np.arange(60)),
        route[-1].query(route[0].transform(X), exclude=np.arange(60)),
    )
    assert on_images.n_features_in_ == 16 * 16 * 3  # what it was given


def test_each_image_is_measured_once_and_in_n_jobs_processes(small_set, monkeypatch):
    from skgalaxy.morphology import _memo

    X, y = small_set
    measured = []

    def measure(images, n_jobs=None):
        measured.append((len(images), n_jobs))
        return _measure(images, n_jobs=n_jobs)

    _measure = _memo.measure_morphology
    monkeypatch.setattr(_memo, "measure_morphology", measure)
    det = TINY["ahunt"](n_jobs=2).fit(X, y)
    scores = det.score_samples(X)
    np.testing.assert_array_equal(det.score_samples(X[::-1]), scores[::-1])
    assert measured == [(len(X), 2)]  # scoring the pool again measures nothing
    turned = np.rot90(X[:5], 1, axes=(1, 2))
    det.score_samples(np.concatenate([X[:10], turned]))
    assert measured[1:] == [(5, 2)]  # only the new images


def two_classes_and(anomalies, n, fraction):
    """``make_galaxies`` of two 16 px classes, ``fraction`` of them anomalies."""
    return make_galaxies(
        n,
        image_size=16,
        classes=["round_smooth", "edge_on_with_bulge"],
        anomalies=anomalies,
        anomaly_fraction=fraction,
        random_state=0,
    )


def test_image_input_uses_a_cnn():
    data = two_classes_and(["satellite_trail"], 60, 0.2)
    is_anomaly = data.is_anomaly.astype(bool)
    y = data.target_names[data.target].astype(object)
    y[is_anomaly] = None
    det = TINY["ahunt"](backbone="cnn", max_epochs=3, epochs_per_round=1, batch_size=64)
    det.fit(data.images, y)
    assert det.backbone_ == "cnn" and det.input_scale_ == 255.0
    truth = np.where(is_anomaly, "trail", data.target_names[data.target])
    session = HuntSession(data.images, det, y=y)
    history = session.hunt(oracle=lambda idx: truth[idx], n_rounds=2)
    assert len(history) == 2 and det.n_labelled_ == 48 + 8
    assert det.predict(data.images).shape == (60,)
    assert det.embed(data.images).shape == (60, 16)


def test_pipeline_on_vae_embeddings_and_the_loop_through_it():
    data = two_classes_and(["saturated_star"], 80, 0.1)
    truth = np.where(
        data.is_anomaly.astype(bool), "star", data.target_names[data.target]
    ).astype(object)
    y = truth.copy()
    y[data.is_anomaly.astype(bool)] = None
    pipe = make_pipeline(
        ArcsinhScaler(),
        FlowVAETransformer(
            n_components=4, filters=(8, 16), max_epochs=2, device="cpu", random_state=0
        ),
        fast_ahunt(n_queries=4),
    ).fit(data.images, y)
    assert pipe.predict(data.images).shape == (80,)
    assert pipe.decision_function(data.images).shape == (80,)
    Z = pipe[:-1].transform(data.images)
    known = np.flatnonzero(y != None)  # noqa: E711
    asked = pipe[-1].query(Z, exclude=known)
    index = np.r_[known, asked]
    pipe[-1].teach(Z[index], truth[index])
    assert pipe[-1].n_rounds_ == 1 and pipe.score_samples(data.images).shape == (80,)


def test_clone_grid_search_and_joblib_continue_teaching(blobs, tmp_path):
    X, y, truth = blobs
    det = _taught(blobs)
    copy = clone(det)
    assert not hasattr(copy, "classes_") and copy.get_params() == det.get_params()
    anomalous = np.isin(truth, ["merger", "trail"])
    search = GridSearchCV(
        fast_ahunt(max_epochs=10, interest={"merger": 1, "trail": 1}),
        {"hidden": [(8,), (32,)]},
        scoring=lambda est, X_, y_: rank_weighted_score(
            np.isin(y_, ["merger", "trail"]), est.anomaly_score(X_)
        ),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X, truth)
    assert search.best_params_["hidden"] in [(8,), (32,)]
    assert search.best_score_ > 0.8 and anomalous.sum() == 30
    path = tmp_path / "ahunt.joblib"
    joblib.dump(det, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.score_samples(X), det.score_samples(X))
    np.testing.assert_array_equal(restored.query(X), det.query(X))
    nxt = restored.query(X)
    index, labels = _labelled(y, truth, np.r_[400:403, 415:418], nxt)
    restored.teach(X[index], labels)
    det.teach(X[index], labels)
    assert restored.n_rounds_ == 2 and restored.n_labelled_ == det.n_labelled_
    np.testing.assert_allclose(
        restored.score_samples(X), det.score_samples(X), atol=1e-5
    )


def test_bad_inputs_change_nothing(blobs):
    X, y, truth = blobs
    det = _taught(blobs)
    state = (list(det.classes_), det.n_labelled_, det.n_rounds_, det.n_iter_)
    weights = {k: v.clone() for k, v in det.net_.module_.state_dict().items()}
    with pytest.raises(ValueError, match="label for every sample"):
        det.teach(X[:2], [None, "disc"])
    with pytest.raises(ValueError, match="labels"):
        det.teach(X[:3], ["disc"])
    with pytest.raises(ValueError, match="features"):
        det.teach(X[:2, :3], ["disc", "disc"])
    with pytest.raises(ValueError, match="n_queries"):
        det.query(X, n_queries=0)
    with pytest.raises(ValueError, match="exclude"):
        det.query(X, exclude=[len(X)])
    with pytest.raises(ValueError, match="mask"):
        det.query(X, exclude=np.ones(3, dtype=bool))
    assert (list(det.classes_), det.n_labelled_, det.n_rounds_, det.n_iter_) == state
    after = det.net_.module_.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)
    with pytest.raises(ValueError, match="weights"):
        AHUNTDetector(interest={"merger": -1}).fit(X, y)
    with pytest.raises(ValueError, match="weights"):
        AHUNTDetector(interest={"merger": float("nan")}).fit(X, y)
    with pytest.raises(ValueError, match="positive weight"):
        AHUNTDetector(interest={"merger": 0}).fit(X, y)
    with pytest.raises(ValueError, match="query_strategy"):
        AHUNTDetector(query_strategy="greedy").fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        AHUNTDetector(hidden=(0,)).fit(X, y)


def test_an_interrupted_teach_leaves_the_detector_as_it_was(blobs, monkeypatch):
    X, y, truth = blobs
    det = _taught(blobs)
    expected = det.score_samples(X)
    classes = list(det.classes_)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    index, labels = _labelled(y, truth, [404, 405, 420])
    labels[-1] = "new kind"  # would grow the head
    monkeypatch.setattr(type(det.net_), "fit_loop", interrupt)
    with pytest.raises(KeyboardInterrupt):
        det.teach(X[index], labels)
    monkeypatch.undo()
    assert list(det.classes_) == classes and det.n_rounds_ == 1
    np.testing.assert_array_equal(det.score_samples(X), expected)


def test_teaching_a_new_class_is_seeded_and_leaves_global_state_alone(blobs):
    X, y, truth = blobs
    merger = np.flatnonzero(truth == "merger")[:3]
    scores = []
    for _ in range(2):
        det = fast_ahunt().fit(X, y)
        torch.manual_seed(11)
        expected = torch.rand(2)
        torch.manual_seed(11)
        index, labels = _labelled(y, truth, merger)
        det.teach(X[index], labels)  # grows the output layer
        np.testing.assert_array_equal(torch.rand(2), expected)
        scores.append(det.score_samples(X))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_the_d4_backbone_grows_and_scores_turned_images_alike():
    X, y = small_galaxies(48, size=16)
    # The classifier alone: the unsupervised start (a forest on pixels) is
    # not invariant, so blending it in would not be either.
    det = TINY["ahunt"](backbone="d4", filters=(4, 8), blend="none").fit(X, y)
    labels = y.copy()
    labels[:3] = "merger"
    det.teach(X, labels)
    assert det.backbone_ == "d4" and type(det.net_.module_).__name__ == "D4CNN"
    assert list(det.classes_)[-1] == "merger"
    scores = det.score_samples(X)
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            det.score_samples(np.rot90(X, k, axes=(1, 2))), scores, atol=1e-6
        )


def test_label_spacing_in_blocks_matches_the_full_distance_matrix():
    from skgalaxy.anomaly._hunt_scores import nearest_same_label as _nearest_same_label

    rng = np.random.default_rng(0)
    points = rng.normal(size=(23, 4))
    labels = rng.integers(0, 3, size=23)
    labels[0] = 5  # a class of one sample: no neighbour
    full = np.linalg.norm(points[:, None] - points[None], axis=-1)
    full[np.arange(23), np.arange(23)] = np.inf
    full[labels[:, None] != labels[None, :]] = np.inf
    for chunk in (1, 4, 1024):
        nearest = _nearest_same_label(points, labels, chunk=chunk)
        np.testing.assert_allclose(nearest, full.min(axis=1), rtol=1e-5)
    assert np.isinf(nearest[0])


def test_default_filters_depend_on_the_backbone():
    X, y = small_galaxies(32, size=16)
    widths = {}
    for backbone in ("cnn", "d4"):
        det = AHUNTDetector(backbone=backbone, max_epochs=1, dense_units=8, **CPU).fit(
            X, y
        )
        linear = [m for m in det.net_.module_.embedding if hasattr(m, "in_features")]
        widths[backbone] = linear[0].in_features
    # The D4 maps hold 8 copies per channel: (4, 8, 16) per group element is
    # 32, 64, 128 channels, not the 128, 256, 512 of the CNN's own filters.
    assert widths == {"cnn": 64, "d4": 16}


def _overlapping_hunt(calibrate, n_rounds=6):
    """A hunt for a rare kind that overlaps the normal galaxies: balanced
    training makes the classifier overstate its probability."""
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, (600, 2)), rng.normal(1.5, 1, (30, 2))]
    truth = np.array(["disc"] * 600 + ["merger"] * 30, dtype=object)
    y = np.where(np.arange(630) < 200, truth, None)
    det = fast_ahunt(interest={"merger": 1}, calibrate=calibrate).fit(X, y)
    labelled = np.arange(200)
    held_out = []
    for _ in range(n_rounds):
        asked = det.query(X, exclude=labelled)
        # what the detector said about them before they were labelled
        held_out.append((asked, -det.score_samples(X[asked])))
        labelled = np.r_[labelled, asked]
        det.teach(X[labelled], truth[labelled])
    return det, X, truth, held_out


def test_calibration_fits_the_scores_queries_had_before_their_labels():
    det, X, truth, _ = _overlapping_hunt(calibrate=True)
    # Calibration changes neither training nor queries: the plain hunt's
    # scores are the raw scores, before and after each round.
    plain, _, _, held_out = _overlapping_hunt(calibrate=False)
    raw = -plain.score_samples(X)
    asked = np.concatenate([a for a, _ in held_out])
    before = np.concatenate([s for _, s in held_out])
    np.testing.assert_allclose(det.calibration_scores_, before)
    np.testing.assert_array_equal(det.calibration_targets_, truth[asked] == "merger")
    assert plain.calibration_ is None and len(plain.calibration_scores_) == 0

    clipped = np.clip(before, 1e-9, 1 - 1e-9)
    platt = LogisticRegression().fit(
        np.log(clipped / (1 - clipped))[:, None], truth[asked] == "merger"
    )
    slope, intercept = min(platt.coef_[0, 0], 1.0), platt.intercept_[0]
    assert det.calibration_ == pytest.approx((slope, intercept))
    with np.errstate(divide="ignore"):
        expected = expit(slope * np.log(raw / (1 - raw)) + intercept)
    np.testing.assert_allclose(-det.score_samples(X), expected, rtol=1e-6)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(expected[order]) >= 0)  # the ranking stays


def test_calibration_makes_auto_flag_what_is_more_likely_wanted():
    det, X, truth, _ = _overlapping_hunt(calibrate=True)
    plain, *_ = _overlapping_hunt(calibrate=False)
    merger = truth == "merger"
    flagged_raw = plain.predict(X) == -1
    flagged = det.predict(X) == -1
    # Balanced training flags many normal galaxies as more likely mergers
    # than not; calibrated, most flagged samples are mergers.
    assert merger[flagged_raw].mean() < 0.5
    assert merger[flagged].mean() >= 0.5
    assert flagged.sum() < flagged_raw.sum()


def test_teaching_the_same_labels_again_adds_no_held_out_pair(blobs):
    X, y, truth = blobs
    det = _taught(blobs)
    pairs = det.calibration_scores_.copy()
    assert len(pairs) == 6  # the 3 mergers and 3 trails taught
    index, labels = _labelled(
        y,
        truth,
        np.flatnonzero(truth == "merger")[:3],
        np.flatnonzero(truth == "trail")[:3],
    )
    det.teach(X[index], labels)
    np.testing.assert_array_equal(det.calibration_scores_, pairs)


def _blobs():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (120, 4)), rng.normal(4, 1, (8, 4))]
    truth = np.array(["galaxy"] * 120 + ["merger"] * 8, dtype=object)
    return X, truth


def test_teach_warns_when_it_would_forget_earlier_labels():
    X, truth = _blobs()
    y = np.where(np.arange(len(X)) < 60, truth, None)
    detector = TINY["ahunt"]().fit(X, y)
    asked = detector.query(X, exclude=np.arange(60))
    with pytest.warns(UserWarning, match="without 60 of the 60"):
        detector.teach(X[asked], truth[asked])  # the latest round alone
    every_label = np.r_[np.arange(60), asked]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detector.teach(X[every_label], truth[every_label])  # nothing left out


def test_query_leaves_out_what_was_taught_unless_told_otherwise():
    X, truth = _blobs()
    y = np.where(np.arange(len(X)) < 60, truth, None)
    detector = TINY["ahunt"](n_queries=100).fit(X, y)
    assert not set(detector.query(X)) & set(range(60))
    assert len(detector.query(X)) == len(X) - 60
    assert set(detector.query(X, exclude=[])) & set(range(60))
