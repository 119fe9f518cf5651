"""The AHUNT paper's simulated hunts: nights, an oracle, hunters side by side."""

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, validate_params

from ..metrics import anomaly_ranking_report
from ._session import HuntSession, _anomaly_scores


class Hunter:
    """The interface of the hunters :func:`simulate_hunt` runs side by side.

    Subclasses implement ``_start(indices, labels)``, ``_step(pool,
    oracle)`` and ``_scores(pool)``, which receive the indices as int64
    arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.active import Hunter
    >>> class Brightest(Hunter):
    ...     def __init__(self, X):
    ...         self.X = X
    ...     def _start(self, indices, labels):
    ...         pass
    ...     def _step(self, pool, oracle):
    ...         return np.array([], dtype=np.int64)
    ...     def _scores(self, pool):
    ...         return self.X[pool].sum(axis=1)
    >>> hunter = Brightest(np.array([[0.0], [5.0], [1.0]]))
    >>> hunter.anomaly_scores([0, 1, 2]).tolist()
    [0.0, 5.0, 1.0]
    """

    def start(self, indices, labels):
        """Start the hunt from the initially labelled samples.

        Parameters
        ----------
        indices : array-like of int
            The labelled samples.
        labels : array-like
            Their classes.
        """
        self._start(np.asarray(indices, dtype=np.int64), labels)

    def step(self, pool, oracle):
        """Take one round's step on the current pool.

        Parameters
        ----------
        pool : ndarray of int
            The samples that have arrived so far.
        oracle : callable
            ``oracle(indices)`` returns the classes of those samples.

        Returns
        -------
        asked : ndarray of int
            The samples this hunter chose to ask about (empty if none).
        """
        return self._step(np.asarray(pool, dtype=np.int64), oracle)

    def anomaly_scores(self, pool):
        """Score the pool.

        Parameters
        ----------
        pool : ndarray of int
            The samples to score.

        Returns
        -------
        scores : ndarray of shape (len(pool),)
            Higher for more anomalous samples.
        """
        return self._scores(np.asarray(pool, dtype=np.int64))


class ActiveHunter(Hunter):
    """A :class:`HuntSession` of an active learner, for :func:`simulate_hunt`.

    Parameters
    ----------
    detector : estimator
        E.g. :class:`~skgalaxy.anomaly.AHUNTDetector`; cloned and fitted on
        the initially labelled samples at ``start``.
    X : array-like
        All samples (images or features), indexed by the simulation.

    Attributes
    ----------
    session_ : HuntSession
        The hunt (in memory).

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy import AHUNTDetector
    >>> from skgalaxy.active import ActiveHunter
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 3)), rng.normal(4, 1, (5, 3))]
    >>> y = np.array(["galaxy"] * 100 + ["odd"] * 5)
    >>> detector = AHUNTDetector(n_queries=3, max_epochs=2, random_state=0)
    >>> hunter = ActiveHunter(detector, X)
    >>> hunter.start(np.arange(50), y[:50])
    >>> len(hunter.step(np.arange(105), lambda idx: y[idx]))
    3
    """

    def __init__(self, detector, X):
        self.detector = detector
        self.X = X

    def _start(self, indices, labels):
        indices = np.asarray(indices, dtype=np.int64)
        fitted = clone(self.detector).fit(self.X[indices], labels)
        y = np.full(len(self.X), None, dtype=object)
        y[indices] = np.asarray(labels, dtype=object)
        self.session_ = HuntSession(self.X, fitted, y=y)

    def _step(self, pool, oracle):
        return self.session_.run_round(oracle, candidates=pool)

    def _scores(self, pool):
        return self.session_.anomaly_scores(pool)


class UnsupervisedHunter(Hunter):
    """An unsupervised detector refitted on the whole pool every round.

    Parameters
    ----------
    estimator : estimator
        E.g. :class:`~sklearn.ensemble.IsolationForest`.
    X : array-like
        All samples; images are flattened.

    Attributes
    ----------
    estimator_ : estimator
        The clone fitted on the last pool.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skgalaxy.active import UnsupervisedHunter
    >>> X = np.r_[np.zeros((20, 2)), [[5.0, 5.0]]]
    >>> hunter = UnsupervisedHunter(IsolationForest(random_state=0), X)
    >>> hunter.start([], [])
    >>> int(np.argmax(hunter.anomaly_scores(np.arange(21))))
    20
    """

    def __init__(self, estimator, X):
        self.estimator = estimator
        self.X = np.asarray(X).reshape(len(X), -1)

    def _start(self, indices, labels):
        self.estimator_ = None

    def _step(self, pool, oracle):
        self.estimator_ = clone(self.estimator).fit(self.X[pool])
        return np.array([], dtype=np.int64)

    def _scores(self, pool):
        if self.estimator_ is None:
            self.step(pool, None)
        return _anomaly_scores(self.estimator_, self.X[pool])


class RandomLabelHunter(Hunter):
    """A detector trained once, from scratch, on random labels (no active learning).

    Each round it draws as many extra labelled samples from the pool as an
    active learner asking ``n_queries`` per round would have, and fits a fresh
    clone on those plus the initial labels.

    Parameters
    ----------
    detector : estimator
        Fitted as ``detector.fit(X, labels)``.
    X : array-like
        All samples (images or features), indexed by the simulation.
    n_queries : int
        Labels added per round.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws of the random labels.

    Attributes
    ----------
    detector_ : estimator
        The clone fitted on the latest labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy import AHUNTDetector
    >>> from skgalaxy.active import RandomLabelHunter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = np.array(["galaxy"] * 55 + ["odd"] * 5)
    >>> hunter = RandomLabelHunter(AHUNTDetector(max_epochs=2, random_state=0), X,
    ...                            n_queries=5, random_state=0)
    >>> hunter.start(np.arange(20), y[:20])
    >>> hunter.step(np.arange(60), lambda idx: y[idx]).size  # asks nothing itself
    0
    >>> hunter.detector_.n_labelled_
    25
    """

    def __init__(self, detector, X, n_queries, random_state=None):
        self.detector = detector
        self.X = X
        self.n_queries = n_queries
        self.random_state = random_state

    def _start(self, indices, labels):
        self._initial = (np.asarray(indices), np.asarray(labels, dtype=object))
        self._rng = check_random_state(self.random_state)
        self._rounds = 0
        self.detector_ = clone(self.detector).fit(self.X[indices], labels)

    def _step(self, pool, oracle):
        self._rounds += 1
        initial, labels = self._initial
        candidates = np.setdiff1d(pool, initial)
        n = min(self.n_queries * self._rounds, len(candidates))
        drawn = self._rng.choice(candidates, n, replace=False)
        indices = np.concatenate([initial, drawn])
        all_labels = np.concatenate([labels, np.asarray(oracle(drawn), dtype=object)])
        self.detector_ = clone(self.detector).fit(self.X[indices], all_labels)
        return np.array([], dtype=np.int64)  # no choice was made: nothing "asked"

    def _scores(self, pool):
        return _anomaly_scores(self.detector_, self.X[pool])


@validate_params(
    {
        "y": ["array-like"],
        "n_nights": [Interval(Integral, 1, None, closed="left")],
        "anomaly_labels": ["array-like"],
        "n_initial": [Interval(Integral, 0, None, closed="left")],
        "anomaly_fraction": [Interval(RealNotInt, 0, 1, closed="right"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_nights(
    y, n_nights, *, anomaly_labels, n_initial, anomaly_fraction=None, random_state=None
):
    """Split samples into initially labelled ones and nights of new arrivals.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels.
    n_nights : int
        Number of nights (rounds of arrivals).
    anomaly_labels : list
        Labels of the anomalies; every other label is normal.
    n_initial : int
        Normal samples labelled at the start.
    anomaly_fraction : float or None, default=None
        Fraction of anomalies among the arrivals: normal samples are dropped
        to reach it (all anomalies are used). None keeps every sample.
    random_state : int, RandomState instance or None, default=None
        Seeds the split and the orders.

    Returns
    -------
    initial : ndarray of int
        The initially labelled (normal) samples.
    nights : list of ndarray of int
        Each night gets an equal share of the normal samples and of the
        anomalies, in random order.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.active import make_nights
    >>> y = np.array(["normal"] * 90 + ["merger"] * 10)
    >>> initial, nights = make_nights(y, 5, anomaly_labels=["merger"],
    ...                               n_initial=40, random_state=0)
    >>> len(initial), [len(n) for n in nights]
    (40, [12, 12, 12, 12, 12])
    """
    y = np.asarray(y)
    rng = check_random_state(random_state)
    is_anomaly = np.isin(y, anomaly_labels)
    normal = rng.permutation(np.flatnonzero(~is_anomaly))
    anomalies = rng.permutation(np.flatnonzero(is_anomaly))
    if not 0 <= n_initial < len(normal):
        raise ValueError(
            f"n_initial must be in [0, {len(normal)}) (the normal samples), got "
            f"{n_initial}."
        )
    initial, normal = normal[:n_initial], normal[n_initial:]
    if anomaly_fraction is not None:
        n_normal = int(
            round(len(anomalies) * (1 - anomaly_fraction) / anomaly_fraction)
        )
        normal = normal[:n_normal]
    nights = [
        rng.permutation(np.concatenate([n, a]))
        for n, a in zip(
            np.array_split(normal, n_nights), np.array_split(anomalies, n_nights)
        )
    ]
    return initial, nights


def simulate_hunt(hunters, y, initial, nights, *, interest_labels, k=50, verbose=0):
    """Run hunters side by side over the nights and score them every round.

    Round 0 scores the hunters right after their start on the initial labels;
    round ``r`` adds night ``r`` to the pool, lets every hunter take its step
    (ask the oracle, learn), then ranks the whole cumulative pool — samples
    shown to the oracle included — by each hunter's anomaly scores.

    Parameters
    ----------
    hunters : dict
        ``{name: hunter}`` (see the module docstring).
    y : array-like of shape (n_samples,)
        True labels; the oracle reveals them.
    initial : array-like of int
        Samples labelled before the first night.
    nights : list of array-like of int
        The samples arriving each night, as from :func:`make_nights`.
    interest_labels : list
        Labels of the anomalies the hunt is after.
    k : int, default=50
        Top of the ranking used for recall, precision and MCC.
    verbose : int, default=0
        1 or more: a progress bar over the nights.

    Returns
    -------
    results : pandas.DataFrame
        Columns ``round``, ``method``, ``rws``, ``recall``, ``precision``,
        ``mcc`` (the last three at ``k``), ``query_rate`` (fraction of the
        round's queries that were anomalies of interest; NaN for methods that
        ask nothing), ``n_pool``, ``n_anomalies``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skgalaxy.active import UnsupervisedHunter, make_nights, simulate_hunt
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (190, 2)), rng.normal(5, 1, (10, 2))]
    >>> y = np.array(["normal"] * 190 + ["odd"] * 10)
    >>> initial, nights = make_nights(y, 2, anomaly_labels=["odd"], n_initial=50,
    ...                               random_state=0)
    >>> hunters = {"forest": UnsupervisedHunter(IsolationForest(random_state=0), X)}
    >>> results = simulate_hunt(hunters, y, initial, nights, interest_labels=["odd"])
    >>> results[["round", "method", "n_pool", "n_anomalies"]].values.tolist()
    [[0, 'forest', 50, 0], [1, 'forest', 125, 5], [2, 'forest', 200, 10]]
    """
    import pandas as pd
    from tqdm.auto import tqdm

    y = np.asarray(y)
    initial = np.asarray(initial, dtype=np.int64)

    def oracle(indices):
        return y[indices]

    for hunter in hunters.values():
        hunter.start(initial, y[initial])
    rows = []
    pool = initial
    for round_ in tqdm(range(len(nights) + 1), disable=not verbose, desc="nights"):
        if round_:
            pool = np.concatenate(
                [pool, np.asarray(nights[round_ - 1], dtype=np.int64)]
            )
        truth = np.isin(y[pool], interest_labels)
        top = min(k, len(pool))
        for name, hunter in hunters.items():
            asked = hunter.step(pool, oracle) if round_ else np.array([], dtype=int)
            scores = hunter.anomaly_scores(pool)
            rows.append(
                {
                    "round": round_,
                    "method": name,
                    **anomaly_ranking_report(truth, scores, top),
                    "query_rate": (
                        np.isin(y[asked], interest_labels).mean()
                        if len(asked)
                        else np.nan
                    ),
                    "n_pool": len(pool),
                    "n_anomalies": int(truth.sum()),
                }
            )
    return pd.DataFrame(rows)
