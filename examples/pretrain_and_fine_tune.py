"""Pretrain without labels, fine-tune with a few
=============================================

A ContrastiveTransformer trains the classifier's CNN on unlabelled images; a
GalaxyCNNClassifier starts from it and fine-tunes on 10 % of the labels,
beside the same classifier trained from scratch on those labels and a linear
model on the self-supervised features.

Run it with ``python examples/pretrain_and_fine_tune.py``
(``SKGALAXY_FAST=1`` for a quick run).
"""

from _config import size
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, ContrastiveTransformer, GalaxyCNNClassifier
from skgalaxy.datasets import make_galaxies

X, y = make_galaxies(
    size(3000, 200), image_size=size(64, 32), random_state=0, return_X_y=True
)
X_pool, X_test, y_pool, y_test = train_test_split(X, y, stratify=y, random_state=0)
# Everything in the pool is unlabelled but a tenth of it.
X_few, _, y_few, _ = train_test_split(
    X_pool, y_pool, train_size=0.1, stratify=y_pool, random_state=0
)

scaler = FrozenEstimator(ArcsinhScaler().fit(X_pool))  # fitted on all the pool
encoder = ContrastiveTransformer(max_epochs=size(30, 1), random_state=0)
encoder.fit(scaler.transform(X_pool))

models = {
    "linear model on the contrastive features": make_pipeline(
        scaler, FrozenEstimator(encoder), LogisticRegression(max_iter=2000)
    ),
    "CNN from scratch": make_pipeline(
        scaler, GalaxyCNNClassifier(max_epochs=size(30, 1), random_state=0)
    ),
    "CNN fine-tuned from the encoder": make_pipeline(
        scaler,
        GalaxyCNNClassifier(
            encoder=FrozenEstimator(encoder), max_epochs=size(30, 1), random_state=0
        ),
    ),
}
print(f"{len(y_few)} labelled images of {len(y_pool)}; test on {len(y_test)}")
for name, model in models.items():
    predicted = model.fit(X_few, y_few).predict(X_test)
    print(f"{name}: macro-F1 {f1_score(y_test, predicted, average='macro'):.3f}")
