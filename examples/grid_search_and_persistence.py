"""Tune a pipeline with GridSearchCV, save it with joblib, load it again.

python examples/grid_search_and_persistence.py   # SKGALAXY_FAST=1: quick
"""

import joblib
import numpy as np
from _config import size
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies

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

joblib.dump(search.best_estimator_, "galaxy_classifier.joblib")
restored = joblib.load("galaxy_classifier.joblib")
assert np.array_equal(restored.predict(X), search.best_estimator_.predict(X))
print("saved and reloaded galaxy_classifier.joblib: identical predictions")
