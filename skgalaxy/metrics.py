"""Metrics for galaxy models."""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.metrics import matthews_corrcoef
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, RealNotInt, validate_params
from sklearn.utils.validation import check_array, check_consistent_length

__all__ = [
    "anomaly_ranking_report",
    "frechet_distance",
    "precision_at_k",
    "rank_weighted_score",
    "recall_at_k",
    "top_k_mcc",
]


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True
)
def frechet_distance(X, Y):
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``||mean_X - mean_Y||² + Tr(C_X + C_Y - 2 (C_X C_Y)^½)``: the FID when the
    features come from a trained network (here, e.g., the embeddings of a
    :class:`~skgalaxy.classification.GalaxyCNNClassifier`).

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        The first set of feature vectors.
    Y : array-like of shape (n_samples_Y, n_features)
        The second set, with the same features.

    Returns
    -------
    distance : float
        0 for identical feature statistics; larger is further apart.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.metrics import frechet_distance
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> round(frechet_distance(X, X), 6)
    0.0
    >>> frechet_distance(X, X + 2.0) > 11.9
    True
    """
    X = check_array(X, dtype=np.float64, ensure_min_samples=2)
    Y = check_array(Y, dtype=np.float64, ensure_min_samples=2)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y need the same number of features, got {X.shape[1]} and "
            f"{Y.shape[1]}."
        )
    mean_diff = X.mean(axis=0) - Y.mean(axis=0)
    cov_x = np.atleast_2d(np.cov(X, rowvar=False))
    cov_y = np.atleast_2d(np.cov(Y, rowvar=False))
    root = linalg.sqrtm(cov_x @ cov_y)
    if np.iscomplexobj(root):
        root = root.real  # numerical noise of a nearly singular product
    distance = mean_diff @ mean_diff + np.trace(cov_x + cov_y - 2.0 * root)
    return float(max(distance, 0.0))


def _anomaly_ranking(y_true, y_score, pos_label):
    """Validated 0/1 anomaly indicators sorted by decreasing score."""
    y_true = column_or_1d(y_true)
    y_score = column_or_1d(check_array(y_score, ensure_2d=False, dtype=np.float64))
    check_consistent_length(y_true, y_score)
    labels = np.unique(y_true)
    if len(labels) > 2 or (len(labels) == 2 and pos_label not in labels):
        raise ValueError(
            f"y_true must be binary with pos_label={pos_label!r} marking the "
            f"anomalies; got labels {labels.tolist()}."
        )
    # A stable sort keeps the input order among tied scores.
    order = np.argsort(-y_score, kind="stable")
    return (y_true[order] == pos_label).astype(np.int64)


#: Constraints of the metrics' arguments (scikit-learn's parameter validation).
_RANKING = {
    "y_true": ["array-like"],
    "y_score": ["array-like"],
    "pos_label": [Real, str],
}
_TOP_K = {
    **_RANKING,
    "k": [
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="neither"),
    ],
}


def _check_k(k, n_samples):
    """An integer number of top items from an int or a fraction of n_samples."""
    if isinstance(k, bool):
        raise ValueError(f"k must be a number of items or a fraction, got {k!r}.")
    if isinstance(k, Integral):
        if k > n_samples:
            raise ValueError(f"k must be in [1, {n_samples}], got {k}.")
        return int(k)
    return max(1, int(round(k * n_samples)))


def _top_k_hits(y_true, y_score, k, pos_label):
    """Anomaly indicators by decreasing score, and ``k`` as a number of items."""
    hits = _anomaly_ranking(y_true, y_score, pos_label)
    return hits, _check_k(k, len(hits))


@validate_params(_RANKING, prefer_skip_nested_validation=True)
def rank_weighted_score(y_true, y_score, *, pos_label=1):
    """Rank-weighted score (RWS) of an anomaly ranking.

    With ``n`` true anomalies, the ``n`` highest-scored items get the weights
    ``n, n - 1, ..., 1`` (the top item the largest); the score is the weight
    carried by true anomalies divided by the total weight ``n (n + 1) / 2``.
    1 means every anomaly is ranked above every normal item, with the most
    weight on the very top (Vafaei Sadr, Bassett et al. 2023).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; ``pos_label`` marks the anomalies.
    y_score : array-like of shape (n_samples,)
        Anomaly scores, higher = more anomalous. Ties keep the input order.
    pos_label : int, str or bool, default=1
        The label of the anomalies in ``y_true``.

    Returns
    -------
    score : float in [0, 1]
        0 when there is no anomaly in ``y_true``.

    Examples
    --------
    >>> from skgalaxy.metrics import rank_weighted_score
    >>> rank_weighted_score([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2])
    0.6666666666666666
    """
    hits = _anomaly_ranking(y_true, y_score, pos_label)
    n = int(hits.sum())
    if n == 0:
        return 0.0
    weights = np.arange(n, 0, -1)
    return float(weights @ hits[:n] / weights.sum())


@validate_params(_TOP_K, prefer_skip_nested_validation=True)
def precision_at_k(y_true, y_score, k, *, pos_label=1):
    """Fraction of anomalies among the ``k`` highest-scored items.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; ``pos_label`` marks the anomalies.
    y_score : array-like of shape (n_samples,)
        Higher = more anomalous.
    k : int or float in (0, 1)
        Number of top items, or a fraction of ``n_samples``.
    pos_label : int, str or bool, default=1
        The label of the anomalies in ``y_true``.

    Returns
    -------
    precision : float
        In [0, 1].

    Examples
    --------
    >>> from skgalaxy.metrics import precision_at_k
    >>> precision_at_k([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2], k=2)
    0.5
    """
    hits, k = _top_k_hits(y_true, y_score, k, pos_label)
    return float(hits[:k].mean())


@validate_params(_TOP_K, prefer_skip_nested_validation=True)
def recall_at_k(y_true, y_score, k, *, pos_label=1):
    """Fraction of all anomalies found among the ``k`` highest-scored items.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; ``pos_label`` marks the anomalies.
    y_score : array-like of shape (n_samples,)
        Higher = more anomalous.
    k : int or float in (0, 1)
        Number of top items, or a fraction of ``n_samples``.
    pos_label : int, str or bool, default=1
        The label of the anomalies in ``y_true``.

    Returns
    -------
    recall : float
        0 when there is no anomaly in ``y_true``.

    Examples
    --------
    >>> from skgalaxy.metrics import recall_at_k
    >>> recall_at_k([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2], k=2)
    0.5
    """
    hits, k = _top_k_hits(y_true, y_score, k, pos_label)
    total = hits.sum()
    return float(hits[:k].sum() / total) if total else 0.0


@validate_params(_TOP_K, prefer_skip_nested_validation=True)
def top_k_mcc(y_true, y_score, k, *, pos_label=1):
    """Compute the Matthews correlation of calling the top ``k`` items anomalies.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; ``pos_label`` marks the anomalies.
    y_score : array-like of shape (n_samples,)
        Higher = more anomalous.
    k : int or float in (0, 1)
        Number of top items, or a fraction of ``n_samples``.
    pos_label : int, str or bool, default=1
        The label of the anomalies in ``y_true``.

    Returns
    -------
    mcc : float in [-1, 1]
        0 for a ranking no better than chance.

    Examples
    --------
    >>> from skgalaxy.metrics import top_k_mcc
    >>> top_k_mcc([0, 1, 0, 1], [0.1, 0.9, 0.3, 0.8], k=2)
    1.0
    """
    hits, k = _top_k_hits(y_true, y_score, k, pos_label)
    called = np.zeros_like(hits)
    called[:k] = 1
    return float(matthews_corrcoef(hits, called))


@validate_params(_TOP_K, prefer_skip_nested_validation=True)
def anomaly_ranking_report(y_true, y_score, k, *, pos_label=1):
    """Compute the four ranking metrics of an anomaly hunt at once.

    The rank-weighted score of the whole ranking, and recall, precision and
    Matthews correlation of its top ``k``: the figures that
    :func:`~skgalaxy.active.simulate_hunt` reports every round.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; ``pos_label`` marks the anomalies.
    y_score : array-like of shape (n_samples,)
        Higher = more anomalous.
    k : int or float in (0, 1)
        Number of top items, or a fraction of ``n_samples``.
    pos_label : int, str or bool, default=1
        The label of the anomalies in ``y_true``.

    Returns
    -------
    report : dict
        ``{"rws", "recall", "precision", "mcc"}``, as
        :func:`rank_weighted_score`, :func:`recall_at_k`,
        :func:`precision_at_k` and :func:`top_k_mcc` give them.

    Examples
    --------
    >>> from skgalaxy.metrics import anomaly_ranking_report
    >>> anomaly_ranking_report([0, 1, 0, 1], [0.1, 0.9, 0.3, 0.8], k=2)
    {'rws': 1.0, 'recall': 1.0, 'precision': 1.0, 'mcc': 1.0}
    """
    arguments = (y_true, y_score)
    return {
        "rws": rank_weighted_score(*arguments, pos_label=pos_label),
        "recall": recall_at_k(*arguments, k, pos_label=pos_label),
        "precision": precision_at_k(*arguments, k, pos_label=pos_label),
        "mcc": top_k_mcc(*arguments, k, pos_label=pos_label),
    }
