import numpy as np
import pytest

from skgalaxy.metrics import frechet_distance


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
