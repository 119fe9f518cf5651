"""Sphinx configuration of the skgalaxy documentation."""

import os
import sys
from pathlib import Path

import skgalaxy

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

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
    "benchmark_tables",
    "sphinx_gallery.gen_gallery",
]
# The gallery runs every example at its small size (see examples/_config.py)
# unless SKGALAXY_FAST=0 asks for the full one.
os.environ.setdefault("SKGALAXY_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/[a-z]",
    "ignore_pattern": r"_config\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
}
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
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb"]
html_theme = "alabaster"
html_static_path = []
nitpicky = False
