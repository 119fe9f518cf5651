"""scikit-learn's common checks over every public estimator of skgalaxy."""

import inspect

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skgalaxy

# Parameters that keep the torch estimators fast under the checks (tiny nets,
# few epochs). Estimators absent here are checked with their defaults.
FAST_PARAMS = {
    "AHUNTDetector": dict(
        hidden=(16,),
        max_epochs=10,
        epochs_per_round=2,
        batch_size=32,
        device="cpu",
        random_state=0,
    ),
    "GalaxyCNNClassifier": dict(
        filters=(8, 16),
        convs_per_block=1,
        dense_units=16,
        max_epochs=15,
        batch_size=32,
        lr=1e-2,
        input_noise=0.0,
        device="cpu",
        random_state=0,
    ),
    "CAEAnomalyDetector": dict(
        n_components=2,
        filters=(4, 8),
        max_epochs=3,
        batch_size=32,
        device="cpu",
        random_state=0,
    ),
    "FlowVAETransformer": dict(
        n_components=3,
        filters=(4, 8),
        flow_transforms=2,
        flow_hidden=8,
        max_epochs=3,
        batch_size=32,
        device="cpu",
        random_state=0,
    ),
}

# The one table of checks that cannot apply, with the reason, per estimator.
EXPECTED_FAILED_CHECKS = {}


def public_estimators():
    """Every estimator class that ``skgalaxy`` exports."""
    return [
        obj
        for name in skgalaxy.__all__
        if inspect.isclass(obj := getattr(skgalaxy, name))
        and issubclass(obj, BaseEstimator)
    ]


def _instances():
    return [cls(**FAST_PARAMS.get(cls.__name__, {})) for cls in public_estimators()]


def test_every_public_estimator_is_checked():
    assert {type(est).__name__ for est in _instances()} >= {"ArcsinhScaler"}
    unknown = set(EXPECTED_FAILED_CHECKS) - {c.__name__ for c in public_estimators()}
    assert not unknown, f"expected failures listed for unknown estimators {unknown}"


@parametrize_with_checks(
    _instances(),
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", public_estimators(), ids=lambda c: c.__name__)
def test_docstring_has_numpydoc_sections(cls):
    doc = inspect.getdoc(cls)
    for section in ("Parameters", "Attributes", "Examples"):
        assert f"\n{section}\n---" in doc, f"{cls.__name__} lacks {section}"


PUBLIC_MODULES = [
    "skgalaxy",
    "skgalaxy.active",
    "skgalaxy.cli",
    "skgalaxy.datasets",
    "skgalaxy.metrics",
    "skgalaxy.plotting",
]


def _public_callables():
    import importlib

    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield pytest.param(obj, id=f"{module_name}.{name}")


@pytest.mark.parametrize("obj", _public_callables())
def test_every_public_name_has_a_runnable_example(obj):
    """The Examples sections run as doctests (``--doctest-modules``)."""
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in doc and ">>> " in doc
