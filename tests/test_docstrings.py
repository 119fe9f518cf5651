"""numpydoc's validation of every public docstring, as scikit-learn runs it."""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")
from numpydoc.docscrape import ClassDoc  # noqa: E402

PUBLIC_MODULES = [
    "skgalaxy",
    "skgalaxy.active",
    "skgalaxy.app",
    "skgalaxy.anomaly",
    "skgalaxy.classification",
    "skgalaxy.cli",
    "skgalaxy.datasets",
    "skgalaxy.io",
    "skgalaxy.metrics",
    "skgalaxy.plotting",
    "skgalaxy.preprocessing",
    "skgalaxy.representation",
    "skgalaxy.scoring",
]

# Ignored everywhere, as in scikit-learn: GL01/GL02 (blank-line placement),
# RT02 (a return value may be named). Also ignored here: ES01 (extended
# summary) and SA01 (See Also), which the short summaries do not need.
IGNORED = {"GL01", "GL02", "RT02", "ES01", "SA01"}
# Methods and properties need no Examples section (scikit-learn's rule too).
IGNORED_FOR_MEMBERS = {"EX01"}


def _public_objects():
    """(import path, object) of every public class and function."""
    seen = {}
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return seen


def _members(cls):
    """Public methods and properties defined by skgalaxy on ``cls`` and its bases."""
    names = set()
    for base in cls.__mro__:
        if not base.__module__.startswith("skgalaxy"):
            continue
        for name, value in vars(base).items():
            if not name.startswith("_") and (
                inspect.isfunction(value) or isinstance(value, property)
            ):
                names.add(name)
    return sorted(names)


def _targets():
    for path, obj in sorted(_public_objects().items()):
        yield pytest.param(path, False, id=path)
        if inspect.isclass(obj):
            for name in _members(obj):
                yield pytest.param(f"{path}.{name}", True, id=f"{path}.{name}")


@pytest.mark.parametrize("import_path, member", list(_targets()))
def test_docstring_passes_numpydoc_validation(import_path, member):
    result = numpydoc_validate.validate(import_path)
    ignored = IGNORED | (IGNORED_FOR_MEMBERS if member else set())
    errors = [f"{code}: {msg}" for code, msg in result["errors"] if code not in ignored]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize(
    "cls",
    [obj for obj in _public_objects().values() if inspect.isclass(obj)],
    ids=lambda c: c.__name__,
)
def test_every_attribute_is_described(cls):
    undescribed = [
        attribute.name
        for attribute in ClassDoc(cls, config={"show_class_members": False})[
            "Attributes"
        ]
        if not "".join(attribute.desc).strip()
    ]
    assert not undescribed, f"{cls.__name__}: attributes without a description"
