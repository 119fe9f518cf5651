import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.utils._param_validation import InvalidParameterError

from skgalaxy.anomaly import GaussianMixtureDetector


@pytest.fixture
def correlated():
    """Two features that move together, and one sample where they do not."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    X = np.c_[x, x + 0.1 * rng.normal(size=400)]
    return np.r_[X, [[1.5, -1.5]]]


def test_one_component_scores_the_gaussian_log_density(correlated):
    detector = GaussianMixtureDetector(n_components=1, reg_covar=0.01).fit(correlated)
    # Maximum-likelihood mean and covariance, plus reg_covar on the diagonal.
    mean = correlated.mean(axis=0)
    cov = np.cov(correlated, rowvar=False, bias=True) + 0.01 * np.eye(2)
    queries = np.random.default_rng(1).normal(size=(10, 2))
    np.testing.assert_allclose(
        detector.score_samples(queries),
        multivariate_normal(mean, cov).logpdf(queries),
        rtol=1e-6,
    )


def test_a_combination_no_training_sample_shows_is_the_outlier(correlated):
    normal, odd = correlated[:-1], correlated[-1:]
    queries = np.r_[normal[:50], odd]
    detector = GaussianMixtureDetector(random_state=0).fit(normal)
    scores = detector.score_samples(queries)
    assert np.argmin(scores) == len(queries) - 1
    assert detector.predict(odd)[0] == -1
    # Each of its values alone is ordinary: a diagonal density misses it.
    diagonal = GaussianMixtureDetector(
        n_components=1, covariance_type="diag", random_state=0
    ).fit(normal)
    assert diagonal.predict(odd)[0] == 1
    np.testing.assert_allclose(detector.anomaly_score(queries), -scores)


def test_contamination_sets_the_fraction_flagged_on_the_training_data(correlated):
    auto = GaussianMixtureDetector(random_state=0).fit(correlated)
    assert np.mean(auto.predict(correlated) == -1) == pytest.approx(0.01, abs=0.005)
    fixed = GaussianMixtureDetector(contamination=0.1, random_state=0).fit(correlated)
    assert np.mean(fixed.predict(correlated) == -1) == pytest.approx(0.1, abs=0.005)


def test_the_same_seed_gives_the_same_scores(correlated):
    first, second = (
        GaussianMixtureDetector(n_components=3, random_state=5)
        .fit(correlated)
        .score_samples(correlated)
        for _ in range(2)
    )
    np.testing.assert_array_equal(first, second)


def test_more_components_than_samples_are_capped_with_a_warning():
    X = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.warns(UserWarning, match="n_components=4 exceeds the 3 training"):
        detector = GaussianMixtureDetector().fit(X)
    assert detector.n_components_ == 3
    assert detector.mixture_.n_components == 3


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        ({"n_components": 0}, np.zeros((5, 2)), InvalidParameterError, "n_components"),
        ({"covariance_type": "banded"}, np.zeros((5, 2)), InvalidParameterError, "cov"),
        ({"reg_covar": -1.0}, np.zeros((5, 2)), InvalidParameterError, "reg_covar"),
        ({"contamination": 0.7}, np.zeros((5, 2)), InvalidParameterError, "contam"),
        ({}, np.array([[0.0, np.nan], [1.0, 1.0]]), ValueError, "NaN"),
    ],
)
def test_bad_input_raises_and_leaves_the_detector_unfitted(params, X, error, match):
    detector = GaussianMixtureDetector(**params)
    with pytest.raises(error, match=match):
        detector.fit(X)
    assert not hasattr(detector, "mixture_")


def test_scoring_checks_the_number_of_features(correlated):
    detector = GaussianMixtureDetector(random_state=0).fit(correlated)
    with pytest.raises(ValueError, match="2 features"):
        detector.score_samples(np.zeros((2, 3)))
