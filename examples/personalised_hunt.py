"""A personalised anomaly hunt
===========================

AHUNT with a person in the loop, here played by the true labels: the user
cares about lensing arcs, not satellite trails, and says so with
``interest``. The figure shows how many lenses each round found.

Run it with ``python examples/personalised_hunt.py`` (``SKGALAXY_FAST=1`` for
a quick run).
"""

import numpy as np
from _config import size
from sklearn.pipeline import Pipeline

from skgalaxy import AHUNTDetector, ArcsinhScaler, FlowVAETransformer
from skgalaxy.active import HuntSession
from skgalaxy.datasets import make_galaxies

side = size(64, 32)
data = make_galaxies(
    size(2000, 150),
    image_size=side,
    anomalies=["lens", "satellite_trail"],
    anomaly_fraction=0.1,
    random_state=0,
)
truth = data.target_names[data.target].astype(object)
known = np.where(data.is_anomaly, None, truth)  # only normal galaxies labelled
known[len(known) // 2 :] = None  # ... and only half of them

hunt = Pipeline(
    [
        ("scale", ArcsinhScaler()),
        ("vae", FlowVAETransformer(max_epochs=size(15, 1), random_state=0)),
        (
            "hunt",
            AHUNTDetector(
                interest={"lens": 1.0, "satellite_trail": 0.0},
                n_queries=10,
                random_state=0,
            ),
        ),
    ]
)

# The session fits the pipeline, then runs rounds of query -> oracle -> teach.
# Give it directory="my-hunt" to save every label and resume after a crash.
session = HuntSession(data.images, hunt, y=known)
history = session.hunt(oracle=lambda idx: truth[idx], n_rounds=size(8, 2))
print(history[["round", "n_interest", "interest_rate", "new_classes"]])
top = np.argsort(-session.anomaly_scores())[:20]
print("top 20 of the ranking:", dict(zip(*np.unique(truth[top], return_counts=True))))
