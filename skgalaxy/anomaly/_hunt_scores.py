"""How AHUNT turns a classifier into interest scores.

Three pieces, each a plain function of arrays: the geometry of the labelled
samples in the classifier's embedding (how near a sample is to what the user
labelled), the odds the unsupervised start gives where no label is near, and
the calibration of the blended score on held-out labels.
"""

import numpy as np
import torch
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from .._base import PADDED_BATCH
from .._images import ImageBatches
from .._labels import discovered_classes
from ._interest import interest_columns, interest_scores, split_query

__all__ = [
    "SCORE_BATCH",
    "InterestScoresMixin",
    "flat_batches",
    "prepared_rows",
    "prepared_subset",
    "CALIBRATION_PAIRS",
    "EVEN_ODDS_QUANTILE",
    "FAR_ODDS_CAP",
    "anomaly_odds",
    "calibrated",
    "either",
    "interest_ranking",
    "label_proximity",
    "label_spacing",
    "log_odds",
    "nearest_same_label",
    "platt",
    "recent_pairs",
]

#: The quantile of the unsupervised start's scores (on ``fit``'s samples)
#: that counts as even odds of an anomaly where no label is near.
EVEN_ODDS_QUANTILE = 0.95

#: The most the unsupervised score adds far from every label: even odds, so
#: an isolated sample never outranks one the classifier finds likely wanted.
FAR_ODDS_CAP = 0.5

#: Images scored per forward pass and flattened per unsupervised-score batch.
SCORE_BATCH = 256

#: Held-out (score, label) pairs kept for calibration: the latest rounds' queries.
CALIBRATION_PAIRS = 500


def either(p, q):
    """The probability of either of two independent events: ``p + (1 - p) q``."""
    return 1 - (1 - p) * (1 - q)


def log_odds(p):
    """``log(p / (1 - p))``, infinite at 0 and 1 so that no two scores tie."""
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


# -- geometry of the labels ---------------------------------------------------


def _float64(array):
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))


def _exact_distances(batch, reference):
    # Exact distances: the matmul shortcut's rounding depends on the batch.
    return torch.cdist(batch, reference, compute_mode="donot_use_mm_for_euclid_dist")


def _nearest(points, reference, chunk=1024):
    """Distance to, and index of, each point's nearest reference point."""
    distance = np.empty(len(points))
    index = np.empty(len(points), dtype=np.int64)
    ref = _float64(reference)
    for start in range(0, len(points), chunk):
        batch = _float64(points[start : start + chunk])
        nearest = _exact_distances(batch, ref).min(dim=1)
        distance[start : start + chunk] = nearest.values.numpy()
        index[start : start + chunk] = nearest.indices.numpy()
    return distance, index


def nearest_same_label(reference, labels, chunk=1024):
    """Distance of each sample to its nearest other sample with its label
    (inf for a class's only sample), ``chunk`` rows at a time so that memory
    stays bounded however many samples are labelled."""
    nearest = np.full(len(labels), np.inf)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        points = _float64(reference[members])
        for start in range(0, len(members), chunk):
            block = _exact_distances(points[start : start + chunk], points)
            rows = torch.arange(len(block))
            block[rows, rows + start] = float("inf")
            nearest[members[start : start + chunk]] = block.min(dim=1).values
    return nearest


def label_spacing(reference, labels, n_classes):
    """Per class: the median distance of its labelled samples to their nearest
    labelled neighbour of the same class (all classes' median where a class
    has a single label)."""
    labels = np.asarray(labels)
    nearest = nearest_same_label(reference, labels)
    finite = np.isfinite(nearest) & (nearest > 0)
    overall = float(np.median(nearest[finite])) if finite.any() else 1.0
    spacing = np.full(n_classes, overall)
    for c in range(n_classes):
        mine = finite & (labels == c)
        if mine.any():
            spacing[c] = float(np.median(nearest[mine]))
    return spacing


def label_proximity(embedding, reference, reference_labels, spacing):
    """How much the classifier is to be trusted at each embedded sample.

    ``exp(-d / s)`` for the distance ``d`` to the nearest labelled sample and
    ``s`` the spacing of the labelled samples of its class: 1 on a label,
    falling off over one typical gap between labels.
    """
    distance, nearest = _nearest(embedding, reference)
    return np.exp(-distance / spacing[reference_labels[nearest]])


# -- the unsupervised start's odds --------------------------------------------


def anomaly_odds(scores, quantiles):
    """Unsupervised anomaly scores as odds of an anomaly, in [0, 1].

    Each score's quantile among ``quantiles`` (fit's scores at every
    percent), raised to the power that puts even odds (0.5) at the quantile
    ``EVEN_ODDS_QUANTILE``: only the most anomalous few percent count as
    more likely anomalous than not.
    """
    quantile = np.interp(scores, quantiles, np.linspace(0, 1, 101))
    return quantile ** (np.log(0.5) / np.log(EVEN_ODDS_QUANTILE))


def interest_ranking(proba, far, columns, weights, reserve, n):
    """The ``n`` best candidates for the classes of interest, best first.

    A class seen before ranks by its probability; one not seen yet is looked
    for through the ``reserve`` column, blended with the odds ``far`` that the
    unsupervised start adds away from the labels, and so is the rest of the
    budget.
    """
    ranked = proba.copy()
    ranked[:, reserve] = either(proba[:, reserve], far)
    fill = either(interest_scores(proba, columns, weights), far)
    return split_query(ranked, columns, weights, n, fill=fill)


# -- calibration --------------------------------------------------------------


def platt(scores, targets):
    """Platt scaling of held-out interest scores on their log-odds.

    Returns ``(slope, intercept)`` with the slope capped at 1 (a temperature
    of at least 1: calibration never sharpens, so no two scores come to tie
    at 0 or 1), or None while the pairs hold one kind only or the fit would
    invert the ranking.
    """
    if len(np.unique(targets)) < 2:
        return None
    features = log_odds(np.clip(scores, 1e-9, 1 - 1e-9))[:, None]
    model = LogisticRegression().fit(features, targets)
    slope = float(model.coef_[0, 0])
    return (min(slope, 1.0), float(model.intercept_[0])) if slope > 0 else None


def recent_pairs(kept, new):
    """``kept`` then ``new``, the latest ``CALIBRATION_PAIRS`` values only."""
    return np.r_[kept, new][-CALIBRATION_PAIRS:]


def calibrated(scores, calibration):
    """Interest scores through a Platt calibration (None: unchanged)."""
    if calibration is None:
        return scores
    slope, intercept = calibration
    return expit(slope * log_odds(scores) + intercept)


# -- prepared data ------------------------------------------------------------


def prepared_rows(X_t, index):
    """The samples ``index`` of prepared data, prepared alike."""
    if isinstance(X_t, ImageBatches):
        return ImageBatches(np.asarray(X_t.images[index]), X_t.scale, X_t.check)
    return X_t[torch.from_numpy(np.asarray(index, dtype=np.int64))]


def prepared_subset(X_t, index):
    """The samples ``index`` (increasing) of prepared data, read lazily."""
    if isinstance(X_t, ImageBatches):
        return X_t.subset(index)
    return prepared_rows(X_t, index)


def flat_batches(X_t):
    """Prepared data as flat float32 rows, batch by batch."""
    for start in range(0, len(X_t), SCORE_BATCH):
        yield X_t[start : start + SCORE_BATCH].flatten(1).numpy()


class InterestScoresMixin:
    """The scores of :class:`~skgalaxy.anomaly.AHUNTDetector`.

    Its classifier's class probabilities, blended with the unsupervised
    start's odds away from the labels and calibrated on held-out labels.
    Expects the detector's fitted attributes (``net_``, ``classes_``,
    ``unsupervised_``, ``reference_``, ``calibration_``, ...).
    """

    def _held_out_scores(self, X_t, fingerprints):
        """The samples of ``X_t`` not trained on yet and their raw scores.

        Scores of the classifier only: the unsupervised start's odds before
        the first training say nothing about the classifier's calibration.
        """
        if not self.calibrate or self.net_ is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        new = np.flatnonzero(~np.isin(fingerprints, self.trained_fingerprints_))
        if not len(new):
            return new, np.empty(0)
        return new, self._raw_interest_scores(prepared_subset(X_t, new))

    def _update_calibration(self, scores, labels):
        """Add held-out pairs (the interest as it stands now) and refit."""
        wanted = [c for c, w in self._interest_classes().items() if w > 0]
        targets = np.isin(labels, np.array(wanted, dtype=object))
        self.calibration_scores_ = recent_pairs(self.calibration_scores_, scores)
        self.calibration_targets_ = recent_pairs(self.calibration_targets_, targets)
        self.calibration_ = platt(self.calibration_scores_, self.calibration_targets_)

    def _interest_classes(self):
        """``{class: weight}`` of the interest, the default filled in."""
        if self.interest is not None:
            return dict(self.interest)
        known = [*self.initial_classes_, self.reserve_label]
        discovered = discovered_classes(self.classes_, known)
        return {c: 1.0 for c in discovered or [self.reserve_label]}

    def _interest_columns(self):
        return interest_columns(
            self._interest_classes(), self.classes_, self.reserve_label
        )

    _onnx_outputs = {"predict_proba": ["proba"]}

    def _inference_forward(self, method):
        if self.net_ is None:
            raise ValueError(
                "This AHUNTDetector has no classifier to export yet: fit it with "
                "labels or teach it some first."
            )
        return lambda xb: self._embed_and_logits(xb)[1].softmax(dim=1)

    def _embed_and_logits(self, xb):
        embedding = self.net_.module_.embed(xb)
        return embedding, self.net_.module_.head(embedding)

    def _proba(self, X_t, with_embedding=False):
        # Padded: the distance to the labels must not depend on the batch.
        embedding, logits = self._infer(
            self._embed_and_logits, X_t, batch_size=PADDED_BATCH, pad=True
        )
        proba = torch.softmax(logits.double(), dim=1).numpy()
        return (proba, embedding.numpy()) if with_embedding else proba

    def _unsupervised_quantile(self, X_t):
        """The unsupervised score as odds of an anomaly (:func:`anomaly_odds`)."""
        return anomaly_odds(
            self._unsupervised_scores(X_t), self.unsupervised_quantiles_
        )

    def _blend(self, X_t):
        """Class probabilities, the weight of the classifier, the unsupervised odds.

        An interest score ``p`` of the classifier becomes ``1 - (1 - p) * (1
        - (1 - weight) * u)``: the unsupervised odds ``u``, capped at
        ``FAR_ODDS_CAP``, fill what the classifier leaves, the more so the
        farther the sample is from the labels (:func:`label_proximity`; see
        ``blend``). Without blending, ``weight`` is 1.
        """
        proba, embedding = self._proba(X_t, with_embedding=True)
        if self.blend == "none" or self.reference_ is None or not len(self.reference_):
            return proba, np.ones(len(proba)), np.zeros(len(proba))
        weight = label_proximity(
            embedding, self.reference_, self.reference_labels_, self.scale_
        )
        unsupervised = np.minimum(self._unsupervised_quantile(X_t), FAR_ODDS_CAP)
        return proba, weight, unsupervised

    def _unsupervised_scores(self, X_t):
        """The unsupervised start's anomaly scores (higher = more anomalous)."""
        return -np.concatenate(
            [self.unsupervised_.score_samples(rows) for rows in flat_batches(X_t)]
        )

    def _raw_interest_scores(self, X_t):
        if self.net_ is None:
            return self._unsupervised_quantile(X_t)
        proba, weight, unsupervised = self._blend(X_t)
        classified = interest_scores(proba, *self._interest_columns())
        return either(classified, (1 - weight) * unsupervised)

    def _interest_scores(self, X_t):
        return calibrated(self._raw_interest_scores(X_t), self.calibration_)
