import numpy as np
import pytest

from skgalaxy.metrics import (
    anomaly_ranking_report,
    frechet_distance,
    precision_at_k,
    rank_weighted_score,
    recall_at_k,
    top_k_mcc,
)


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 2))
    Y = rng.normal(size=(20000, 2)) * 2.0 + [3.0, 0.0]
    # mean term 9; covariance term tr(I + 4I - 2*2I) = 2 -> 11
    assert frechet_distance(X, Y) == pytest.approx(11.0, rel=0.03)
    assert frechet_distance(X, X) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_is_symmetric_and_validates():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(200, 4)), rng.normal(size=(300, 4)) + 0.5
    assert frechet_distance(X, Y) == pytest.approx(frechet_distance(Y, X))
    with pytest.raises(ValueError, match="same number of features"):
        frechet_distance(X, Y[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), Y[:, :2])


# Ranking by score: items 3, 0, 4, 1, 2 (scores .9 .8 .7 .3 .1); anomalies: 0, 1.
Y_TRUE = np.array([1, 1, 0, 0, 0])
Y_SCORE = np.array([0.8, 0.3, 0.1, 0.9, 0.7])


def test_rank_weighted_score_hand_computed():
    # n = 2 anomalies: top-2 ranks weigh 2 and 1; only rank 2 (item 0) is one.
    assert rank_weighted_score(Y_TRUE, Y_SCORE) == pytest.approx(1 / 3)
    # Three anomalies at ranks 1, 3, 4 of five: weights 3, 2, 1 on ranks 1-3.
    y = [1, 0, 1, 1, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5]
    assert rank_weighted_score(y, s) == pytest.approx((3 + 1) / 6)
    assert rank_weighted_score([0, 1, 1], [0.0, 0.5, 0.4]) == 1.0
    assert rank_weighted_score([1, 1, 0, 0], [0.0, 0.1, 0.5, 0.6]) == 0.0
    assert rank_weighted_score([0, 0, 0], [0.1, 0.2, 0.3]) == 0.0


def test_rank_weighted_score_puts_the_most_weight_on_the_top():
    top_hit = rank_weighted_score([1, 0, 1, 0], [0.9, 0.1, 0.2, 0.8])
    second_hit = rank_weighted_score([0, 1, 1, 0], [0.9, 0.8, 0.2, 0.1])
    assert top_hit == pytest.approx(2 / 3) and second_hit == pytest.approx(1 / 3)


def test_precision_recall_and_mcc_at_k_hand_computed():
    assert precision_at_k(Y_TRUE, Y_SCORE, 2) == 0.5
    assert precision_at_k(Y_TRUE, Y_SCORE, 4) == 0.5
    assert recall_at_k(Y_TRUE, Y_SCORE, 1) == 0.0
    assert recall_at_k(Y_TRUE, Y_SCORE, 2) == 0.5
    assert recall_at_k(Y_TRUE, Y_SCORE, 4) == 1.0
    # Top 2 called anomalous: TP=1, FP=1, FN=1, TN=2.
    expected = (1 * 2 - 1 * 1) / np.sqrt(2 * 2 * 3 * 3)
    assert top_k_mcc(Y_TRUE, Y_SCORE, 2) == pytest.approx(expected)
    assert top_k_mcc([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], 2) == 1.0


def test_k_as_a_fraction_and_pos_label():
    assert precision_at_k(Y_TRUE, Y_SCORE, 0.4) == 0.5  # 0.4 * 5 = 2 items
    labels = np.where(Y_TRUE == 1, "merger", "normal")
    assert recall_at_k(labels, Y_SCORE, 2, pos_label="merger") == 0.5
    assert rank_weighted_score(labels, Y_SCORE, pos_label="merger") == pytest.approx(
        1 / 3
    )


def test_anomaly_ranking_report_hand_computed():
    labels = np.where(Y_TRUE == 1, "merger", "normal")
    report = anomaly_ranking_report(labels, Y_SCORE, 2, pos_label="merger")
    # Top 2 (items 3, 0): one of the two anomalies; TP=1, FP=1, FN=1, TN=2.
    assert report == pytest.approx(
        {"rws": 1 / 3, "recall": 0.5, "precision": 0.5, "mcc": 1 / 6}
    )
    assert anomaly_ranking_report(Y_TRUE, Y_SCORE, 0.8)["recall"] == 1.0


@pytest.mark.parametrize(
    "metric", [precision_at_k, recall_at_k, top_k_mcc, anomaly_ranking_report]
)
@pytest.mark.parametrize("k", [0, 6, 1.5, -0.2, "3", True])
def test_bad_k_is_refused(metric, k):
    with pytest.raises(ValueError, match="k must|'k' parameter"):
        metric(Y_TRUE, Y_SCORE, k)


def test_bad_labels_and_lengths_are_refused():
    with pytest.raises(ValueError, match="binary"):
        rank_weighted_score([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="pos_label"):
        recall_at_k(["a", "b"], [0.1, 0.2], 1)
    with pytest.raises(ValueError, match="inconsistent"):
        precision_at_k([0, 1, 1], [0.1, 0.2], 1)
    with pytest.raises(ValueError, match="0 sample"):
        rank_weighted_score([], [])
    with pytest.raises(ValueError):
        rank_weighted_score([0, 1], [0.1, np.nan])
