"""skgalaxy: deep learning for galaxy images, the scikit-learn way.

The estimators are imported on first use (PEP 562), so ``import
skgalaxy.metrics`` or ``import skgalaxy.datasets`` loads neither torch nor
skorch.
"""

import importlib

__version__ = "0.1.0.dev0"

_ESTIMATORS = {
    "AHUNTDetector": "anomaly",
    "ArcsinhScaler": "preprocessing",
    "CAEAnomalyDetector": "anomaly",
    "ContrastiveTransformer": "representation",
    "FlowVAETransformer": "representation",
    "GalaxyCNNClassifier": "classification",
    "GaussianMixtureDetector": "anomaly",
    "KNeighborsDetector": "anomaly",
    "MorphologyTransformer": "morphology",
    "PretrainedEncoder": "representation",
}

__all__ = [*sorted(_ESTIMATORS), "__version__"]


def __getattr__(name):
    if name in _ESTIMATORS:
        module = importlib.import_module(f".{_ESTIMATORS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
