import re

import joblib
import numpy as np
import pytest
import torch
from conftest import TINY, small_galaxies
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.classification import _class_weights
from skgalaxy.nn.rng import Dropout


@pytest.fixture(scope="module")
def galaxies():
    """Round smooth vs edge-on galaxies, 16 px, string labels."""
    images, names = small_galaxies(96)
    return ArcsinhScaler().fit_transform(images), names.astype(str)


@pytest.fixture(scope="module")
def fitted(galaxies):
    X, y = galaxies
    return TINY["clf"]().fit(X, y)


def test_learns_an_easy_morphology_task(galaxies):
    X, y = galaxies
    clf = TINY["clf"](max_epochs=12, lr=5e-3).fit(X[:64], y[:64])
    assert clf.score(X[64:], y[64:]) >= 0.8


def test_probabilities_classes_and_embeddings(fitted, galaxies):
    X, y = galaxies
    assert list(fitted.classes_) == ["edge_on_with_bulge", "round_smooth"]
    proba = fitted.predict_proba(X)
    assert proba.dtype == np.float64 and proba.shape == (96, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(1)])
    embedding = fitted.transform(X)
    assert embedding.shape == (96, 16)
    assert list(fitted.get_feature_names_out()[:2]) == [
        "galaxycnnclassifier0",
        "galaxycnnclassifier1",
    ]
    assert fitted.n_iter_ == 3


def test_flat_input_gives_the_same_predictions(fitted, galaxies):
    X, _ = galaxies
    np.testing.assert_allclose(
        fitted.predict_proba(X.reshape(96, -1)), fitted.predict_proba(X)
    )


def test_tta_makes_predictions_invariant_to_the_dihedral_group(fitted, galaxies):
    X, _ = galaxies
    rotated = np.rot90(X, 1, axes=(1, 2))
    mirrored = X[:, :, ::-1]
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(fitted.predict_proba(rotated), proba, atol=1e-5)
    np.testing.assert_allclose(fitted.predict_proba(mirrored), proba, atol=1e-5)
    plain = clone(fitted).set_params(tta=False)
    plain.net_, plain.classes_ = fitted.net_, fitted.classes_
    for attr in (
        "image_shape_",
        "input_ndim_",
        "n_features_in_",
        "input_scale_",
        "input_dtype_",
    ):
        setattr(plain, attr, getattr(fitted, attr))
    assert not np.allclose(plain.predict_proba(rotated), plain.predict_proba(X))


def test_same_random_state_same_model_and_global_rng_untouched(galaxies):
    X, y = galaxies
    torch.manual_seed(1)
    expected_next = torch.rand(2)
    torch.manual_seed(1)
    a = TINY["clf"]().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(torch.rand(2), expected_next)
    b = TINY["clf"]().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = TINY["clf"](random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_class_weights():
    classes = np.array(["a", "b"])
    y = np.array([0, 0, 0, 1])  # inverse frequency: 4/6, 4/2 -> relative 1 : 3
    torch.testing.assert_close(
        _class_weights("balanced", classes, y), torch.tensor([0.5, 1.5])
    )
    sqrt = _class_weights("balanced_sqrt", classes, y)
    assert float(sqrt[1] / sqrt[0]) == pytest.approx(3**0.5)
    torch.testing.assert_close(
        _class_weights({"b": 3.0}, classes, y), torch.tensor([0.5, 1.5])
    )
    assert _class_weights(None, classes, y) is None
    with pytest.raises(ValueError, match="not in y"):
        _class_weights({"c": 2.0}, classes, y)


def test_logit_adjustment_reaches_the_loss(galaxies):
    X, y = galaxies
    clf = TINY["clf"](max_epochs=1, logit_adjustment=0.5).fit(X[:40], y[:40])
    counts = np.array([np.sum(y[:40] == c) for c in clf.classes_])
    np.testing.assert_allclose(clf.class_prior_, counts / 40)
    criterion = clf.net_.criterion_
    assert type(criterion).__name__ == "LogitAdjustedCrossEntropy"
    torch.testing.assert_close(
        criterion.offset, torch.tensor(0.5 * np.log(counts / 40), dtype=torch.float32)
    )
    default = TINY["clf"](max_epochs=1).fit(X[:40], y[:40])
    torch.testing.assert_close(
        default.net_.criterion_.offset,
        torch.tensor(0.75 * np.log(counts / 40), dtype=torch.float32),
    )  # the default, 0.75
    plain = TINY["clf"](max_epochs=1, logit_adjustment=0.0).fit(X[:40], y[:40])
    assert type(plain.net_.criterion_) is torch.nn.CrossEntropyLoss
    with pytest.raises(ValueError, match="logit_adjustment"):
        TINY["clf"](logit_adjustment=-1.0).fit(X, y)
    before = clf.net_.module_.head[-1].weight.clone()
    with pytest.raises(ValueError, match="logit_adjustment"):
        clf.set_params(logit_adjustment=-0.5).fit(X, y)
    torch.testing.assert_close(clf.net_.module_.head[-1].weight, before)
    smoothed = clf.set_params(logit_adjustment=0.5, label_smoothing=0.1)
    assert smoothed.fit(X[:40], y[:40]).net_.criterion_.label_smoothing == 0.1


def test_logit_adjustment_predicts_a_rare_class_more_often():
    images, names = small_galaxies(240, seed=3)
    X = ArcsinhScaler().fit_transform(images)
    rare = names == "edge_on_with_bulge"
    keep = ~rare | (np.cumsum(rare) <= 12)  # 12 rare among 95 training images
    train = keep & (np.arange(240) < 160)
    test = np.arange(240) >= 160
    predicted_rare = []
    for tau in (0.0, 1.0):
        clf = TINY["clf"](
            class_weight=None, logit_adjustment=tau, label_smoothing=0.0, max_epochs=8
        )
        clf.fit(X[train], names[train].astype(str))
        predicted_rare.append(np.sum(clf.predict(X[test]) == "edge_on_with_bulge"))
    assert predicted_rare[1] > predicted_rare[0]


def test_schedules_and_optimizers(galaxies):
    X, y = galaxies
    cosine = TINY["clf"]().fit(X, y)
    assert cosine.net_.optimizer_.param_groups[0]["lr"] < 0.3 * cosine.lr
    constant = TINY["clf"](
        lr_schedule="constant", optimizer="sgd", class_weight=None
    ).fit(X, y)
    assert constant.net_.optimizer_.param_groups[0]["lr"] == constant.lr
    assert isinstance(constant.net_.optimizer_, torch.optim.SGD)


def test_early_stopping_holds_out_data_and_stops(galaxies):
    X, y = galaxies
    clf = TINY["clf"](
        max_epochs=60,
        lr=5e-2,
        early_stopping=True,
        patience=2,
        validation_fraction=0.25,
    ).fit(X, y)
    assert "valid_loss" in clf.net_.history[-1]
    assert clf.n_iter_ < 60
    losses = clf.net_.history[:, "valid_loss"]
    # Stopped because the best epoch lies `patience` epochs back (or fewer).
    assert int(np.argmin(losses)) >= clf.n_iter_ - 1 - 2


def test_no_augmentation_and_no_flips(galaxies):
    X, y = galaxies
    clf = TINY["clf"](augment=False, flips=False).fit(X, y)
    assert not clf.net_.module_.augment.dihedral
    assert not clf.net_.module_.augment.flips
    assert clf.net_.module_.augment.max_shift == 0


def test_verbose_logs_a_few_lines_then_the_epoch_table(galaxies, capsys):
    X, y = galaxies
    TINY["clf"]().fit(X, y)
    assert capsys.readouterr() == ("", "")
    TINY["clf"](verbose=1).fit(X, y)  # captured output is not a terminal
    shown = capsys.readouterr()
    assert "train_loss" not in shown.out and "\r" not in shown.err
    lines = shown.err.strip().splitlines()
    # 96 images in batches of 16, 3 epochs: 18 batches; a line per quarter.
    assert 2 <= len(lines) <= 5, lines
    assert lines[-1].startswith("training: 100% (18/18 batches)")
    assert "s left" in lines[0]
    TINY["clf"](verbose=2).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


def test_a_terminal_bar_ends_at_100_percent_when_early_stopping_ends(
    galaxies, capsys, monkeypatch
):
    import sys

    X, y = galaxies
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    clf = TINY["clf"](
        verbose=1, max_epochs=40, early_stopping=True, patience=1, lr=1e-6
    ).fit(X, y)
    assert len(clf.net_.history) < 40  # stopped early
    final = capsys.readouterr().err.split("\r")[-1]
    done = re.search(r"100%.*?(\d+)/(\d+)", final)
    assert done and done[1] == done[2] and int(done[1]) < 40 * 6, final


def test_bad_inputs(fitted, galaxies):
    X, y = galaxies
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TINY["clf"]().fit(bad, y)
    with pytest.raises(ValueError, match="channels"):
        fitted.predict(X[..., :1])
    with pytest.raises(ValueError, match="shape"):
        fitted.predict(np.zeros((2, 32, 32, 3)))
    with pytest.raises(ValueError, match="1 class"):
        TINY["clf"]().fit(X, np.full(len(X), "spiral"))
    with pytest.raises(ValueError, match="optimizer"):
        GalaxyCNNClassifier(optimizer="rmsprop").fit(X, y)
    with pytest.raises(ValueError, match="pooling"):
        GalaxyCNNClassifier(pooling="max").fit(X, y)
    assert np.isnan(bad[0, 0, 0, 0])  # the caller's array is left as it was


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_a_clear_error(galaxies):
    X, y = galaxies
    clf = TINY["clf"](device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_pipeline_grid_search_and_cross_validation(galaxies):
    X, y = galaxies
    pipe = make_pipeline(ArcsinhScaler(), TINY["clf"]())
    search = GridSearchCV(pipe, {"galaxycnnclassifier__dropout": [0.0, 0.5]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["galaxycnnclassifier__dropout"] in (0.0, 0.5)
    scores = cross_val_score(TINY["clf"](), X, y, cv=2)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_joblib_round_trip_gives_identical_probabilities(fitted, galaxies, tmp_path):
    X, _ = galaxies
    path = tmp_path / "clf.joblib"
    joblib.dump(fitted, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert not hasattr(clone(fitted), "net_")


def test_hyper_parameters_reach_the_network(galaxies):
    X, y = galaxies
    clf = TINY["clf"](
        max_epochs=1,
        kernel_size=5,
        convs_per_block=2,
        dropout=0.4,
        weight_decay=0.01,
        label_smoothing=0.2,
        input_noise=0.3,
        max_shift=1,
        optimizer="adam",
        class_weight="balanced",
        pooling="centre",
    ).fit(X, y)
    module = clf.net_.module_
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert {c.kernel_size for c in convs} == {(5, 5)}
    assert sorted(c.out_channels for c in convs) == [8, 8, 16, 16]
    dropouts = [m for m in module.modules() if isinstance(m, Dropout)]
    assert dropouts and {m.p for m in dropouts} == {0.4}
    assert clf.transform(X[:3]).shape == (3, 16)  # dense_units
    # The whole image's mean and the centre's of each of the 16 last maps,
    # densely connected to the 16 units.
    assert sum(p.numel() for p in module.embedding.parameters()) == 32 * 16 + 16
    assert module.augment.noise == 0.3 and module.augment.max_shift == 1
    assert clf.net_.criterion_.label_smoothing == 0.2
    assert clf.net_.criterion_.weight is not None
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == 0.01


def test_asymmetry_doubles_the_channels_the_convolutions_see(galaxies):
    X, y = galaxies
    first_conv = {
        asymmetry: TINY["clf"](asymmetry=asymmetry, max_epochs=1)
        .fit(X, y)
        .net_.module_.features[0][0]
        for asymmetry in (True, False)
    }
    assert first_conv[True].in_channels == 2 * X.shape[-1]
    assert first_conv[False].in_channels == X.shape[-1]
    assert GalaxyCNNClassifier().asymmetry is True
    with pytest.raises(ValueError, match="asymmetry"):
        TINY["clf"](asymmetry="yes").fit(X, y)


def test_the_d4_backbone_is_invariant_without_test_time_augmentation(galaxies):
    X, y = galaxies
    clf = TINY["clf"](backbone="d4", filters=(4, 8)).fit(X, y)
    assert type(clf.net_.module_).__name__ == "D4CNN"
    proba, embedding = clf.predict_proba(X), clf.transform(X)
    for k in (1, 2, 3):
        turned = np.rot90(X, k, axes=(1, 2))
        np.testing.assert_allclose(clf.predict_proba(turned), proba, atol=1e-5)
        np.testing.assert_allclose(clf.transform(turned), embedding, atol=1e-5)
    np.testing.assert_allclose(clf.transform(X[:, :, ::-1]), embedding, atol=1e-5)
    assert clf._filters() == (4, 8)
    assert TINY["clf"](backbone="d4", filters=None)._filters() == (8, 16, 32)
    with pytest.raises(ValueError, match="backbone"):
        TINY["clf"](backbone="resnet").fit(X, y)


@pytest.mark.parametrize("first, second", [(-1.0, 1.0), (np.nan, 1.0), (0.0, 0.0)])
def test_class_weights_must_be_finite_non_negative_and_one_positive(
    small_set, first, second
):
    X, y = small_set
    weights = {"round_smooth": first, "edge_on_with_bulge": second}
    with pytest.raises(ValueError, match="finite, non-negative"):
        TINY["clf"](class_weight=weights).fit(X, y)


def test_none_among_classifier_labels_is_refused(small_set):
    X, y = small_set
    y = y.astype(object)
    y[5] = None
    with pytest.raises(ValueError, match="None"):
        TINY["clf"]().fit(X, y)
