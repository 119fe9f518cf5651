"""Anomaly scores from the distance to the nearest training samples."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import (
    CONTAMINATION_CONSTRAINT,
    FeatureDetectorMixin,
    capped_at_samples,
)

__all__ = ["KNeighborsDetector"]


def _check_distances_fit(X):
    """Refuse features so large that their squared distances overflow float64."""
    limit = np.sqrt(np.finfo(np.float64).max / (4 * max(X.shape[1], 1)))
    largest = float(np.abs(X).max()) if X.size else 0.0
    if largest > limit:
        raise ValueError(
            f"X holds values up to {largest:.3g}: distances between such features "
            f"overflow float64 (above about {limit:.3g}). Standardise them first, "
            "e.g. with StandardScaler."
        )


class KNeighborsDetector(FeatureDetectorMixin, OutlierMixin, BaseEstimator):
    """Outlier detection by the mean distance to the nearest training samples.

    A sample far from every training sample, measured by its mean Euclidean
    distance to its ``n_neighbors`` nearest ones, is anomalous (the kNN
    detector of Ramaswamy et al. 2000 with the mean rather than the largest
    distance, as in PyOD's ``KNN(method="mean")``). Meant for low-dimensional
    features such as :class:`~skgalaxy.representation.FlowVAETransformer`
    embeddings, standardised; it keeps the training samples.

    Scores of the training samples themselves count each one as its own
    nearest neighbour (at distance 0), like those of any other sample, so a
    score never depends on whether the sample was in ``fit``.

    Read more in the :doc:`User Guide </user_guide/anomalies>`.

    Parameters
    ----------
    n_neighbors : int, default=20
        Neighbours whose distances are averaged. Capped at the number of
        training samples, with a warning.
    contamination : "auto" or float in (0, 0.5], default="auto"
        ``"auto"``: ``offset_`` leaves 1 % of the training samples below it;
        a float sets it at that quantile of the training scores.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        The neighbour search of :class:`~sklearn.neighbors.NearestNeighbors`.

    Attributes
    ----------
    neighbors_ : sklearn.neighbors.NearestNeighbors
        The search over the training samples.
    n_neighbors_ : int
        Neighbours actually averaged.
    offset_ : float
        Threshold of :meth:`decision_function`.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen during ``fit`` (only when they are all strings).

    See Also
    --------
    sklearn.neighbors.LocalOutlierFactor : Density relative to the neighbours'.
    skgalaxy.anomaly.AHUNTDetector : Takes it as ``unsupervised=``.

    References
    ----------
    .. [1] S. Ramaswamy, R. Rastogi and K. Shim, "Efficient algorithms for
       mining outliers from large data sets", SIGMOD 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.anomaly import KNeighborsDetector
    >>> X = np.r_[np.random.default_rng(0).normal(size=(100, 2)), [[8.0, 8.0]]]
    >>> detector = KNeighborsDetector(n_neighbors=5).fit(X)
    >>> int(np.argmin(detector.score_samples(X)))
    100
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "contamination": CONTAMINATION_CONSTRAINT,
        "algorithm": [StrOptions({"auto", "ball_tree", "kd_tree", "brute"})],
    }

    def __init__(self, n_neighbors=20, contamination="auto", algorithm="auto"):
        self.n_neighbors = n_neighbors
        self.contamination = contamination
        self.algorithm = algorithm

    def _fit_features(self, X):
        _check_distances_fit(X)
        self.n_neighbors_ = capped_at_samples("n_neighbors", self.n_neighbors, len(X))
        self.neighbors_ = NearestNeighbors(
            n_neighbors=self.n_neighbors_, algorithm=self.algorithm
        ).fit(X)

    def _scores(self, X):
        _check_distances_fit(X)
        distances, _ = self.neighbors_.kneighbors(X)
        return -distances.mean(axis=1)
