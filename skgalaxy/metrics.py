"""Metrics for galaxy models."""

import numpy as np
from scipy import linalg
from sklearn.utils.validation import check_array

__all__ = ["frechet_distance"]


def frechet_distance(X, Y):
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``||mean_X - mean_Y||² + Tr(C_X + C_Y - 2 (C_X C_Y)^½)``: the FID when the
    features come from a trained network (here, e.g., the embeddings of a
    :class:`~skgalaxy.classification.GalaxyCNNClassifier`).

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features)

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
