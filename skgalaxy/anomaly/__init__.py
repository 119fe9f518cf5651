"""Anomaly detectors for galaxy images, with scikit-learn's outlier semantics.

``score_samples``: higher = more normal; ``decision_function = score_samples
- offset_``; ``predict``: +1 inlier, -1 outlier; ``anomaly_score =
-score_samples``.
"""

from ._ahunt import AHUNTDetector
from ._cae import CAEAnomalyDetector
from ._mixture import GaussianMixtureDetector
from ._neighbours import KNeighborsDetector

__all__ = [
    "AHUNTDetector",
    "CAEAnomalyDetector",
    "GaussianMixtureDetector",
    "KNeighborsDetector",
]
