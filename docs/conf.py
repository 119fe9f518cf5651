"""Sphinx configuration of the skgalaxy documentation."""

import skgalaxy

project = "skgalaxy"
author = "the skgalaxy developers"
copyright = "2026, the skgalaxy developers"
version = release = skgalaxy.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
# scikit-learn attaches metadata-routing setters to every estimator class;
# they are not part of skgalaxy's API.
_ROUTING = [
    f"set_{method}_request"
    for method in (
        "fit",
        "predict",
        "predict_proba",
        "score",
        "transform",
        "inverse_transform",
        "score_samples",
        "decision_function",
        "partial_fit",
    )
]
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ",".join(_ROUTING),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
intersphinx_mapping = {}
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "alabaster"
html_static_path = []
nitpicky = False
