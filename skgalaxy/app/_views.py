"""What the hunt page shows of a session: cards, the ranked pool, neighbours, a map.

Plain functions of a :class:`~skgalaxy.active.HuntSession` and its
catalogue; the web routes in :mod:`skgalaxy.app._server` only serve them.
"""

import math
import string
import threading

import numpy as np

#: Largest number of feature columns the map and the neighbours work on: wider
#: features (pixels) are first reduced by a PCA.
MAX_VIEW_FEATURES = 32
#: Pool rows a PCA is fitted on (all of them are then projected).
PCA_SAMPLE = 5000


def check_catalogue(catalogue, n_pool, link=None):
    """The display catalogue of a pool, checked: one row per sample, a link.

    ``catalogue`` is a DataFrame (or None); its ``id`` column, if any, names
    each galaxy, the others are shown on its card. ``link`` is a URL
    template filled from a row's columns (``{ra}``, ``{dec}``, ``{id}``).
    """
    if catalogue is not None and len(catalogue) != n_pool:
        raise ValueError(
            f"The catalogue has {len(catalogue)} rows for a pool of {n_pool}."
        )
    if link is None:
        return catalogue
    if not str(link).startswith(("https://", "http://")):
        raise ValueError(f"link must be an http(s) URL template, got {link!r}.")
    fields = {f for _, f, _, _ in string.Formatter().parse(link) if f}
    columns = set() if catalogue is None else {str(c) for c in catalogue.columns}
    absent = sorted(fields - columns - {"index"})
    if absent:
        raise ValueError(
            f"The link template names {absent}, which the catalogue lacks "
            f"(its columns: {sorted(columns)})."
        )
    return catalogue


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    return None if value is None else str(value)


class HuntViews:
    """The views of one hunt, cached until its round or interest changes.

    Parameters
    ----------
    session : skgalaxy.active.HuntSession
        The hunt.
    catalogue : pandas.DataFrame or None, default=None
        One row per pool sample: an ``id`` column and the columns to show.
    link : str or None, default=None
        A URL template filled from a row (see :func:`check_catalogue`).
    """

    def __init__(self, session, catalogue=None, link=None):
        self.session = session
        self.catalogue = check_catalogue(catalogue, len(session.X), link)
        self.link = link
        self._lock = threading.Lock()
        self._scores_key = self._scores = None
        self._space = None

    # -- scores -----------------------------------------------------------

    def scores(self):
        """Interest score of every pool sample (higher: more worth a look)."""
        key = (self.session.round_, repr(self.session.effective_interest()))
        with self._lock:
            if key != self._scores_key:
                self._scores = np.asarray(self.session.anomaly_scores(), float)
                self._scores_key = key
            return self._scores

    def score_source(self):
        """What the scores come from, in words."""
        hunter = self.session.hunter_
        if getattr(hunter, "net_", None) is None:
            return "unsupervised start (no labels learnt yet)"
        return "classifier: probability of the classes of interest"

    # -- cards ------------------------------------------------------------

    def cards(self, indices, labels=None):
        """A card (index, id, label, score, fields, link) per pool index."""
        if labels is None:
            given = self.session.labels()
            labels = dict(zip(given["index"].tolist(), given["label"].tolist()))
        scores = self.scores()
        return [self._card(int(i), labels.get(int(i)), scores[int(i)]) for i in indices]

    def _card(self, index, label, score):
        row = {} if self.catalogue is None else self.catalogue.iloc[index].to_dict()
        fields = {str(k): _jsonable(v) for k, v in row.items() if str(k) != "id"}
        card = {
            "index": index,
            "id": str(row.get("id", f"#{index}")),
            "label": _jsonable(label),
            "score": _jsonable(score),
            "fields": fields,
            "link": None,
        }
        if self.link is not None:
            card["link"] = self.link.format(
                index=index, **{str(k): v for k, v in row.items()}
            )
        return card

    def ranked(self, page, per_page):
        """One page of the pool, most interesting first."""
        order = np.argsort(-self.scores(), kind="stable")
        first = page * per_page
        return {
            "total": len(order),
            "page": page,
            "per_page": per_page,
            "items": self.cards(order[first : first + per_page]),
        }

    # -- the feature space ------------------------------------------------

    def _features(self):
        """The pool's standardised features (reduced by a PCA when wide)."""
        with self._lock:
            if self._space is None:
                self._space = _view_space(self.session.features)
            return self._space

    def similar(self, index, k):
        """The ``k`` nearest pool samples to ``index`` in the hunt's features."""
        space = self._features()
        distances = np.square(space - space[index]).sum(axis=1)
        distances[index] = np.inf
        nearest = np.argpartition(distances, min(k, len(space) - 1) - 1)[:k]
        return self.cards(nearest[np.argsort(distances[nearest], kind="stable")])

    def map(self):
        """2-D positions (the first two principal axes) and each sample's state."""
        space = self._features()
        xy = (
            space[:, :2]
            if space.shape[1] >= 2
            else np.c_[space[:, :1], space[:, :1] * 0]
        )
        given = self.session.labels()
        state = np.zeros(len(space), dtype=np.int8)  # 0 unseen
        shown = self.session.shown()
        state[shown] = 1  # shown, not labelled
        state[given["index"].to_numpy(dtype=np.int64)] = 2  # labelled
        return {
            "x": np.round(xy[:, 0], 3).tolist(),
            "y": np.round(xy[:, 1], 3).tolist(),
            "state": state.tolist(),
            "states": ["unseen", "shown", "labelled"],
        }


def _view_space(features):
    """Standardised features, projected on principal axes (at most 32).

    The first two columns are the first two principal axes, so they are the
    map; the neighbours use all of them.
    """
    from sklearn.decomposition import PCA

    X = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    n_components = min(MAX_VIEW_FEATURES, X.shape[1], len(X))
    pca = PCA(n_components=n_components, svd_solver="randomized", random_state=0)
    rows = np.random.default_rng(0).permutation(len(X))[:PCA_SAMPLE]
    return pca.fit(X[rows]).transform(X).astype(np.float32)
