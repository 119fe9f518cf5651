import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skgalaxy.anomaly import KNeighborsDetector


@pytest.fixture
def cloud():
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(size=(200, 3)), [[6.0, 6.0, 6.0]]]


def test_score_is_minus_the_mean_distance_to_the_nearest_training_samples(cloud):
    detector = KNeighborsDetector(n_neighbors=7).fit(cloud)
    queries = np.random.default_rng(1).normal(size=(15, 3))
    pairwise = np.sqrt(((queries[:, None, :] - cloud[None, :, :]) ** 2).sum(-1))
    expected = -np.sort(pairwise, axis=1)[:, :7].mean(axis=1)
    np.testing.assert_allclose(detector.score_samples(queries), expected, rtol=1e-10)
    # A training sample is its own nearest neighbour, at distance 0.
    own = -np.sort(np.sqrt(((cloud[:5, None] - cloud[None]) ** 2).sum(-1)), axis=1)[
        :, :7
    ].mean(axis=1)
    np.testing.assert_allclose(detector.score_samples(cloud[:5]), own, rtol=1e-10)


def test_the_isolated_sample_is_the_outlier(cloud):
    detector = KNeighborsDetector(n_neighbors=5).fit(cloud)
    scores = detector.score_samples(cloud)
    assert np.argmin(scores) == len(cloud) - 1
    assert detector.predict(cloud)[-1] == -1
    # "auto": 1 % of the training samples fall below the threshold.
    assert np.mean(detector.predict(cloud) == -1) == pytest.approx(0.01, abs=0.006)
    np.testing.assert_allclose(detector.anomaly_score(cloud), -scores)
    fixed = KNeighborsDetector(n_neighbors=5, contamination=0.1).fit(cloud)
    assert np.mean(fixed.predict(cloud) == -1) == pytest.approx(0.1, abs=0.01)


def test_more_neighbours_than_samples_are_capped_with_a_warning():
    X = np.arange(12.0).reshape(6, 2)
    with pytest.warns(UserWarning, match="exceeds the 6 training samples"):
        detector = KNeighborsDetector(n_neighbors=20).fit(X)
    assert detector.n_neighbors_ == 6
    assert detector.score_samples(X).shape == (6,)


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        ({"n_neighbors": 0}, np.zeros((5, 2)), InvalidParameterError, "n_neighbors"),
        ({"algorithm": "annoy"}, np.zeros((5, 2)), InvalidParameterError, "algorithm"),
        ({}, np.array([[0.0, np.nan], [1.0, 1.0]]), ValueError, "NaN"),
    ],
)
def test_bad_input_raises_and_leaves_the_detector_unfitted(params, X, error, match):
    detector = KNeighborsDetector(**params)
    with pytest.raises(error, match=match):
        detector.fit(X)
    assert not hasattr(detector, "neighbors_")


def test_scoring_checks_the_number_of_features(cloud):
    detector = KNeighborsDetector().fit(cloud)
    with pytest.raises(ValueError, match="3 features"):
        detector.score_samples(np.zeros((2, 4)))


def test_features_whose_distances_overflow_are_refused(cloud):
    detector = KNeighborsDetector(n_neighbors=3).fit(cloud)
    huge = np.zeros((1, cloud.shape[1]))
    huge[0, 0] = 1e300
    with pytest.raises(ValueError, match="overflow float64"):
        detector.score_samples(huge)
    huge[0, 0] = 1e100  # large, but its distance is exact
    np.testing.assert_allclose(detector.score_samples(huge), [-1e100])
    with pytest.raises(ValueError, match="overflow float64"):
        KNeighborsDetector().fit(np.full((5, 2), 1e200))
