"""Anomaly hunts: the resumable hunt session and the AHUNT paper's simulations.

:class:`HuntSession` is *the* hunt: a pool of samples, a detector with
``query`` and ``teach`` (:class:`~skgalaxy.anomaly.AHUNTDetector`, or a
Pipeline ending in one), the samples shown each round, the labels given, the
per-round history. It saves to a directory as it goes — every label is
committed to an append-only SQLite store before it counts as given, and the
model is checkpointed atomically after each round — so a hunt killed at any
moment resumes where it stopped. The labelling web page (``skgalaxy hunt``)
and the simulations below both drive a HuntSession.

The simulations follow the protocol of the AHUNT paper. Data arrive in
rounds ("nights") into a cumulative pool. Every round each method may ask an
oracle — here the true labels — about a few samples, then ranks the whole
pool; the ranking is scored against the true anomalies of interest.
:func:`simulate_hunt` runs several methods side by side and returns one row
per round and method; :func:`~skgalaxy.plotting.plot_hunt_curves` draws the
curves.

A method is a *hunter*: an object with ``start(indices, labels)`` (the
initially labelled samples), ``step(pool, oracle)`` (one round; returns the
indices it asked about) and ``anomaly_scores(pool)``. Three are provided:
:class:`ActiveHunter` (a HuntSession of an active learner such as
:class:`~skgalaxy.anomaly.AHUNTDetector`), :class:`UnsupervisedHunter` (e.g.
an IsolationForest refitted on the pool every round) and
:class:`RandomLabelHunter` (a detector trained from scratch on as many random
labels as the active learner has, without choosing them).
"""

from .._labels import MAX_LABEL_LENGTH, validate_label
from ._session import NOT_INTERESTING, HuntSession
from ._simulation import (
    ActiveHunter,
    Hunter,
    RandomLabelHunter,
    UnsupervisedHunter,
    make_nights,
    simulate_hunt,
)

__all__ = [
    "MAX_LABEL_LENGTH",
    "NOT_INTERESTING",
    "ActiveHunter",
    "HuntSession",
    "Hunter",
    "RandomLabelHunter",
    "UnsupervisedHunter",
    "make_nights",
    "simulate_hunt",
    "validate_label",
]
