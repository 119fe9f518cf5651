"""A personalised anomaly hunt
===========================

AHUNT with a person in the loop, here played by the true labels: the user
cares about lensing arcs, not satellite trails, and says so with
``interest``. The figure shows the lenses found round after round, against
what as many galaxies drawn at random would hold.

Run it with ``python examples/personalised_hunt.py`` (``SKGALAXY_FAST=1`` for
a quick run).
"""

import matplotlib.pyplot as plt
import numpy as np
from _config import size
from sklearn.pipeline import make_pipeline

from skgalaxy import AHUNTDetector, MorphologyTransformer
from skgalaxy.active import HuntSession
from skgalaxy.datasets import make_galaxies

data = make_galaxies(
    size(2000, 150),
    image_size=size(64, 32),
    anomalies=["lens", "satellite_trail"],
    anomaly_fraction=0.1,
    random_state=0,
)
truth = data.target_names[data.target].astype(object)
known = np.where(data.is_anomaly, None, truth)  # only normal galaxies labelled
known[len(known) // 2 :] = None  # ... and only half of them

# The hunt's default route: the morphology statistics of the images as
# observed, measured once, and AHUNT on them (what `skgalaxy hunt` runs).
hunter = make_pipeline(
    MorphologyTransformer(),
    AHUNTDetector(interest={"lens": 1.0, "satellite_trail": 0.0}, random_state=0),
)
# The session fits the pipeline, then runs rounds of query -> oracle -> teach.
# Give it directory="my-hunt" to save every label and resume after a crash.
session = HuntSession(data.images, hunter, y=known)
history = session.hunt(oracle=lambda idx: truth[idx], n_rounds=size(8, 2))
print(history[["round", "n_interest", "interest_rate", "new_classes"]])
top = np.argsort(-session.anomaly_scores())[:20]
print("top 20 of the ranking:", dict(zip(*np.unique(truth[top], return_counts=True))))

lens_share = np.mean(truth == "lens")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(history["round"], history["n_interest"].cumsum(), "o-", label="the hunt")
ax.plot(
    history["round"],
    history["n_shown"].cumsum() * lens_share,
    "--",
    label="galaxies drawn at random",
)
ax.set_xlabel("round")
ax.set_ylabel("lenses found so far")
ax.legend()
fig.tight_layout()
