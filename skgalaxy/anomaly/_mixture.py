"""Anomaly scores from a Gaussian-mixture density of the features."""

from numbers import Integral, Real

from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import (
    CONTAMINATION_CONSTRAINT,
    FeatureDetectorMixin,
    capped_at_samples,
)

__all__ = ["GaussianMixtureDetector"]


class GaussianMixtureDetector(FeatureDetectorMixin, OutlierMixin, BaseEstimator):
    """Outlier detection by the log-density of a Gaussian mixture.

    A mixture of ``n_components`` Gaussians is fitted to the training
    features; a sample is as normal as its log-density under the mixture.
    With full covariances the density knows which features go together, so
    a combination that no training sample shows is rare even when each
    feature alone is ordinary: a compact smooth galaxy whose autoencoder code
    says "ring", for example (PyOD's ``GMM`` detector scores the same way).
    Meant for a few dozen standardised features, such as
    :class:`~skgalaxy.MorphologyTransformer` statistics beside
    :class:`~skgalaxy.CAEAnomalyDetector` codes.

    Read more in the :doc:`User Guide </user_guide/anomalies>`.

    Parameters
    ----------
    n_components : int, default=4
        Gaussians in the mixture. Capped at the number of training samples,
        with a warning.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Covariance of each component, as in
        :class:`~sklearn.mixture.GaussianMixture`.
    reg_covar : float, default=1e-3
        Added to the diagonal of every covariance, so that features that
        (nearly) depend on others in the training data cannot give a
        singular density. On standardised features it is a thousandth of
        each feature's variance.
    n_init : int, default=1
        Initialisations tried; the best fit is kept.
    contamination : "auto" or float in (0, 0.5], default="auto"
        ``"auto"``: ``offset_`` leaves 1 % of the training samples below it;
        a float sets it at that quantile of the training scores.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture's initialisation.

    Attributes
    ----------
    mixture_ : sklearn.mixture.GaussianMixture
        The fitted density.
    n_components_ : int
        Gaussians actually fitted.
    offset_ : float
        Threshold of :meth:`decision_function`.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen during ``fit`` (only when they are all strings).

    See Also
    --------
    skgalaxy.anomaly.KNeighborsDetector : Distance to the nearest training samples.
    sklearn.mixture.GaussianMixture : The density it fits.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.anomaly import GaussianMixtureDetector
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> X = np.c_[x, x + 0.1 * rng.normal(size=300)]
    >>> X = np.r_[X, [[1.0, -1.0]]]  # each value ordinary, the pair not
    >>> detector = GaussianMixtureDetector(n_components=1).fit(X)
    >>> int(np.argmin(detector.score_samples(X)))
    300
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "contamination": CONTAMINATION_CONSTRAINT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=4,
        covariance_type="full",
        reg_covar=1e-3,
        n_init=1,
        contamination="auto",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.contamination = contamination
        self.random_state = random_state

    def _fit_features(self, X):
        self.n_components_ = capped_at_samples(
            "n_components", self.n_components, len(X)
        )
        self.mixture_ = GaussianMixture(
            n_components=self.n_components_,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            n_init=self.n_init,
            random_state=self.random_state,
        ).fit(X)

    def _scores(self, X):
        return self.mixture_.score_samples(X)
