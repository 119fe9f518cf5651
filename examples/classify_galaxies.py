"""Classify galaxy morphologies
============================

A CNN in a scikit-learn pipeline: ``ArcsinhScaler`` then
``GalaxyCNNClassifier``, fitted on labelled cutouts and scored on held-out
ones, with the confusion matrix of the test split.

Run it with ``python examples/classify_galaxies.py`` (``SKGALAXY_FAST=1`` for
a quick run).
"""

from _config import size
from sklearn.metrics import ConfusionMatrixDisplay, classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies

data = make_galaxies(size(3000, 200), image_size=size(64, 32), random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    data.images, data.target, stratify=data.target, random_state=0
)
model = make_pipeline(
    ArcsinhScaler(),
    GalaxyCNNClassifier(max_epochs=size(20, 2), random_state=0),
)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
print(
    classification_report(
        y_test,
        model.predict(X_test),
        labels=range(len(data.target_names)),
        target_names=list(data.target_names),
        zero_division=0,
    )
)
ConfusionMatrixDisplay.from_predictions(
    data.target_names[y_test],
    data.target_names[model.predict(X_test)],
    xticks_rotation="vertical",
    colorbar=False,
)
