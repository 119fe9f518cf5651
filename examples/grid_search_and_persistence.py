"""Tune a pipeline and save it
===========================

``GridSearchCV`` over the scaler's and the classifier's parameters, then the
best pipeline saved as a safe model file (no code inside) and loaded again.

Run it with ``python examples/grid_search_and_persistence.py``
(``SKGALAXY_FAST=1`` for a quick run).
"""

import tempfile
from pathlib import Path

import numpy as np
from _config import size
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies
from skgalaxy.io import load_model, save_model

X, y = make_galaxies(
    size(1500, 90),
    image_size=size(64, 32),
    classes=[2, 4, 8],
    random_state=0,
    return_X_y=True,
)
pipe = Pipeline(
    [
        ("scale", ArcsinhScaler()),
        ("clf", GalaxyCNNClassifier(max_epochs=size(10, 1), random_state=0)),
    ]
)
search = GridSearchCV(
    pipe, {"clf__dropout": [0.1, 0.4], "scale__softening": [5.0, 20.0]}, cv=3
)
search.fit(X, y)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")

with tempfile.TemporaryDirectory() as folder:
    path = save_model(search.best_estimator_, Path(folder) / "classifier.skgalaxy")
    restored = load_model(path)  # reads data only: safe for files from others
assert np.array_equal(restored.predict(X), search.best_estimator_.predict(X))
print("saved and reloaded classifier.skgalaxy: identical predictions")
