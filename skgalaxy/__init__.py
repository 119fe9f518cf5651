"""skgalaxy: deep learning for galaxy images, the scikit-learn way."""

__version__ = "0.1.0.dev0"

from .anomaly import AHUNTDetector, CAEAnomalyDetector  # noqa: E402
from .classification import GalaxyCNNClassifier  # noqa: E402
from .preprocessing import ArcsinhScaler  # noqa: E402
from .representation import FlowVAETransformer  # noqa: E402

__all__ = [
    "AHUNTDetector",
    "ArcsinhScaler",
    "CAEAnomalyDetector",
    "FlowVAETransformer",
    "GalaxyCNNClassifier",
    "__version__",
]
