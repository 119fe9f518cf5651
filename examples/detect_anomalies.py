"""Find anomalies without labels
=============================

A convolutional autoencoder, trained on normal galaxies only, ranks satellite
trails, saturated stars and lensing arcs above them. The figure shows the
most anomalous test images, each titled with what it really is.

Run it with ``python examples/detect_anomalies.py`` (``SKGALAXY_FAST=1`` for
a quick run).
"""

import numpy as np
from _config import size
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from skgalaxy import ArcsinhScaler, CAEAnomalyDetector
from skgalaxy.datasets import make_galaxies
from skgalaxy.plotting import plot_image_rows

side = size(64, 32)
normal = make_galaxies(size(2000, 120), image_size=side, random_state=0).images
test = make_galaxies(
    size(1000, 60), image_size=side, anomaly_fraction=0.1, random_state=1
)
detector = make_pipeline(
    ArcsinhScaler(), CAEAnomalyDetector(max_epochs=size(20, 2), random_state=0)
)
detector.fit(normal)  # normal galaxies only

scores = detector[-1].anomaly_score(detector[0].transform(test.images))
flagged = detector.predict(test.images) == -1
print(f"ROC AUC {roc_auc_score(test.is_anomaly, scores):.3f}")
print(
    f"flagged {flagged.sum()} images, {test.is_anomaly[flagged].mean():.0%} anomalies"
)
top = np.argsort(-scores)[:8]
print("most anomalous:", list(test.target_names[test.target[top]]))
plot_image_rows(
    {"most anomalous": detector[0].transform(test.images[top])},
    titles={"most anomalous": list(test.target_names[test.target[top]])},
)
