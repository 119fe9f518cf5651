"""What every outlier detector of skgalaxy shares: scikit-learn's score semantics."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "AUTO_FALSE_ALARM_RATE",
    "CONTAMINATION_CONSTRAINT",
    "FeatureDetectorMixin",
    "OutlierScoresMixin",
    "capped_at_samples",
]

CONTAMINATION_CONSTRAINT = [
    StrOptions({"auto"}),
    Interval(Real, 0, 0.5, closed="right"),
]

#: False-alarm rate on the training data that ``contamination="auto"`` means
#: for detectors whose scores have no natural threshold.
AUTO_FALSE_ALARM_RATE = 0.01


def capped_at_samples(name, requested, n_samples):
    """``min(requested, n_samples)``, with a warning when it caps."""
    if requested <= n_samples:
        return requested
    warnings.warn(
        f"{name}={requested} exceeds the {n_samples} training samples; "
        f"using {n_samples}.",
        UserWarning,
        stacklevel=3,
    )
    return n_samples


class OutlierScoresMixin:
    """``decision_function``, ``predict`` and ``anomaly_score`` from ``score_samples``.

    Estimators implement ``score_samples`` (higher = more normal) and call
    ``_set_offset`` with the training scores at the end of ``fit``. The
    threshold for ``contamination="auto"`` is ``_auto_offset(scores)``: by
    default the training scores' ``AUTO_FALSE_ALARM_RATE`` quantile, for
    scores with no natural unit to put a fixed threshold on.
    """

    def _auto_offset(self, train_scores):
        return np.percentile(train_scores, 100 * AUTO_FALSE_ALARM_RATE)

    def _set_offset(self, train_scores):
        train_scores = np.asarray(train_scores, dtype=float)
        if not np.isfinite(train_scores).all():
            raise ValueError(
                f"{type(self).__name__} gives non-finite scores on its training "
                "data, so no threshold can be set; the data likely holds extreme "
                "values (scale the images first, e.g. with ArcsinhScaler)."
            )
        if self.contamination == "auto":
            self.offset_ = float(self._auto_offset(train_scores))
        else:
            self.offset_ = float(np.percentile(train_scores, 100 * self.contamination))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            NaN where a score could not be computed.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        A sample whose score is NaN (it could not be computed, e.g. for
        values far outside the training data) is an outlier, with a warning.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int
            +1 or -1 per sample.
        """
        decision = self.decision_function(X)
        undefined = np.isnan(decision)
        if undefined.any():
            warnings.warn(
                f"{int(undefined.sum())} sample(s) have no finite score; they are "
                "predicted as outliers (-1).",
                RuntimeWarning,
                stacklevel=2,
            )
        return np.where(undefined | (decision < 0), -1, 1)

    def anomaly_score(self, X):
        """``-score_samples(X)``: higher = more anomalous.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher for more anomalous samples.
        """
        return -self.score_samples(X)


class FeatureDetectorMixin(OutlierScoresMixin):
    """The fit/score shape of detectors on a plain feature matrix.

    Subclasses implement ``_fit_features(X)`` (fit on validated features)
    and ``_scores(X)`` (higher = more normal), and say in their docstring
    what the score is.
    """

    _FLOAT_DTYPES = [np.float64, np.float32]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the detector on training samples, mostly normal; set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = validate_data(self, X, dtype=self._FLOAT_DTYPES)
        self._fit_features(X)
        self._set_offset(self._scores(X))
        return self

    def score_samples(self, X):
        """Score each sample under the fitted model (see the class description).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher = more normal.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._FLOAT_DTYPES)
        return self._scores(X)
