"""The resumable hunt session: a pool, a detector, a person's labels."""

import math
import threading
import time
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from .._labels import (
    as_kind,
    check_interest,
    discovered_classes,
    is_unlabelled,
    label_kind,
    ordered_unique,
    spreadsheet_safe,
    validate_label,
)
from .._utils import check_sample_indices
from ._folder import (
    STORE,
    check_same_pool,
    lock_directory,
    pool_fingerprint,
    read_checkpoint,
    remove_old_checkpoints,
    saved_hunt_in,
    write_checkpoint,
)
from ._store import _Store

#: The label of a shown sample that is of no interest (a normal galaxy, an
#: artefact the user does not care about). It trains the model like any
#: class but never counts as a class of interest by default.
NOT_INTERESTING = "not interesting"

#: The columns of :meth:`HuntSession.history`.
HISTORY_COLUMNS = [
    "round",
    "n_shown",
    "n_labelled",
    "n_interest",
    "interest_rate",
    "new_classes",
    "n_labels",
    "seconds",
]


def _anomaly_scores(estimator, X):
    if hasattr(estimator, "anomaly_score"):
        return estimator.anomaly_score(X)
    return -estimator.score_samples(X)


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


class HuntSession:
    """An anomaly hunt over a pool of samples, saved as it goes and resumable.

    Each round, :meth:`query` proposes samples never shown before; a person
    (or an oracle) labels them with :meth:`label`; :meth:`teach` trains the
    detector on every label so far and checkpoints it. :meth:`run_round`
    and :meth:`hunt` run the loop with a callable oracle.

    With a ``directory``, every label is committed to an append-only SQLite
    store (``session.sqlite``) before :meth:`label` returns, the round's
    queries are stored when proposed, and the model is written atomically
    after each round as a safe model file (``checkpoint-<round>.skgalaxy``,
    see :func:`skgalaxy.io.save_model`: data, never code), so killing the
    process at any moment loses at most the label being written. Opening the
    same directory again resumes the hunt: the last round's model, every
    committed label, and the pending round's queries. The folder is locked
    while the session is open (until :meth:`close`): a second session or
    server on it is refused.

    Labels are kept of one kind: in a hunt whose known labels are integers,
    a label given as text that spells an integer (``"1"``, as the labelling
    page sends it) is that integer; in any other hunt integers are stored as
    text.

    Read more in the :doc:`User Guide </user_guide/hunt>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        The pool: images or features, as the detector takes them. Resuming
        needs the same pool (checked by length, shape and a content hash).
    detector : estimator or None, default=None
        An :class:`~skgalaxy.anomaly.AHUNTDetector`, or a Pipeline ending in
        one (the pool is then transformed once by the steps before it).
        Fitted on ``X`` and ``y`` if it is not fitted yet. None to resume
        the session saved in ``directory``.
    y : array-like of shape (n_samples,) or None, default=None
        Labels known at the start (None/NaN for unlabelled samples), used in
        every round's training; also the ``y`` of the detector's ``fit``.
    directory : str or path-like or None, default=None
        Where the session is saved; resumed if it holds one.
    n_queries : int or None, default=None
        Samples per round; None: the detector's ``n_queries``.
    interest : dict or None, default=None
        ``{class: weight}`` passed to the detector. None: the detector's own
        ``interest`` when a new hunt starts with one set, else every class
        labelled in the hunt that was not known at the start, except
        :data:`NOT_INTERESTING`, equally weighted (the detector's reserve
        output while there is none).
    allow_pickle : bool, default=False
        Allow a checkpoint that is a joblib pickle, for a detector the safe
        format cannot hold (a custom step in its pipeline), and resuming
        from one (as hunts saved by skgalaxy 0.1 are). A pickle runs code
        when loaded: allow it only for folders you made or trust.
    verbose : int, default=0
        1 or more: a progress bar over the rounds of :meth:`hunt`.

    Attributes
    ----------
    detector_ : estimator
        The fitted detector (or pipeline).
    round_ : int
        Rounds completed (calls of :meth:`teach`).
    history_ : list of dict
        One entry per completed round (see :meth:`history`).

    See Also
    --------
    skgalaxy.anomaly.AHUNTDetector : The detector a hunt trains.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy import AHUNTDetector
    >>> from skgalaxy.active import HuntSession
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 3)), rng.normal(4, 1, (5, 3))]
    >>> truth = np.array(["galaxy"] * 100 + ["odd"] * 5, dtype=object)
    >>> y = np.where(np.arange(105) < 50, truth, None)
    >>> session = HuntSession(X, AHUNTDetector(n_queries=3, max_epochs=2,
    ...                                         random_state=0), y=y)
    >>> shown = session.query()
    >>> session.label(shown, truth[shown])  # stored under round 1
    1
    >>> session.teach().round_
    1
    >>> session.history()[["round", "n_shown", "n_labelled"]].values.tolist()
    [[1, 3, 3]]
    """

    def __init__(
        self,
        X,
        detector=None,
        *,
        y=None,
        directory=None,
        n_queries=None,
        interest=None,
        allow_pickle=False,
        verbose=0,
    ):
        self.X = X
        self.directory = None if directory is None else Path(directory)
        self.n_queries = n_queries
        self.interest = interest
        self.allow_pickle = allow_pickle
        self.verbose = verbose
        self._lock = threading.RLock()
        self._folder_lock = None
        self._store = None
        try:
            if self.directory is not None:
                self._folder_lock = lock_directory(self.directory)
            self._store = _Store(
                None if self.directory is None else self.directory / STORE
            )
            saved = self._store.get_meta("fingerprint") is not None
            _check_new_or_saved(saved, detector, self.directory)
            if saved:
                self._resume()
            else:
                self._start(detector, y)
            self._features = self._transform(self.X)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def saved_in(directory):
        """Whether ``directory`` holds a hunt to resume.

        Parameters
        ----------
        directory : str or path-like
            A hunt folder.

        Returns
        -------
        saved : bool
        """
        return saved_hunt_in(directory)

    # -- life cycle ---------------------------------------------------------

    def _start(self, detector, y):
        fingerprint = pool_fingerprint(self.X)
        known = _known_labels(y, fingerprint["n_samples"])
        if not _is_fitted(detector):
            detector = clone(detector).fit(self.X, y)
        self.detector_ = detector
        self._label_type = label_kind(
            [v for _, v in known] or list(getattr(self.hunter_, "initial_classes_", []))
        )
        if self.interest is None and getattr(self.hunter_, "interest", None):
            self.interest = dict(self.hunter_.interest)
        self.interest = self._normalised_interest(self.interest)
        self.round_ = 0
        self.history_ = []
        self._store.set_meta("label_type", self._label_type)
        self._store.set_meta("interest", _jsonable_interest(self.interest))
        self._store.set_meta("n_queries", self.n_queries)
        self._store.add_labels([i for i, _ in known], [v for _, v in known], 0)
        self._checkpoint()
        self._store.set_meta("fingerprint", fingerprint)  # last: the hunt exists

    def _resume(self):
        check_same_pool(self._store.get_meta("fingerprint"), self.X, self.directory)
        self._label_type = self._store.get_meta("label_type", "str")
        self.detector_, self.round_, self.history_ = read_checkpoint(
            self.directory, self._store.get_meta("checkpoint"), self.allow_pickle
        )
        self.interest = _interest_from_json(self._store.get_meta("interest"))
        self.n_queries = self._store.get_meta("n_queries")

    def _checkpoint(self):
        """Checkpoint the model (see :func:`write_checkpoint`; a no-op in memory)."""
        if self.directory is None:
            return
        record = write_checkpoint(
            self.directory,
            self.detector_,
            self.round_,
            self.history_,
            self.allow_pickle,
        )
        self._store.set_meta("checkpoint", record)
        remove_old_checkpoints(self.directory, record)

    def close(self):
        """Close the label store and release the folder (its data stays there)."""
        if self._store is not None:
            self._store.close()
        if self._folder_lock is not None:
            self._folder_lock.close()
            self._folder_lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def as_label(self, label):
        """Return ``label`` as this hunt stores it.

        Checked by :func:`validate_label`, then made of the hunt's one kind
        (see the class).

        Parameters
        ----------
        label : str, int, bool, numpy scalar or None
            A label as given.

        Returns
        -------
        label : str, int, bool or None
            The label :meth:`label` would store.
        """
        return as_kind(label, self._label_type)

    def _normalised_interest(self, interest):
        interest = check_interest(interest)
        if interest is None:
            return None
        return {self.as_label(k): w for k, w in interest.items()}

    # -- the detector ---------------------------------------------------------

    @property
    def hunter_(self):
        """The estimator with ``query`` and ``teach`` (the pipeline's last step)."""
        steps = getattr(self.detector_, "steps", None)
        return self.detector_ if steps is None else steps[-1][1]

    def _transform(self, X):
        steps = getattr(self.detector_, "steps", None)
        return X if steps is None else self.detector_[:-1].transform(X)

    def _rows(self, indices):
        return self._features[np.asarray(indices, dtype=np.int64)]

    def effective_interest(self):
        """Return the ``{class: weight}`` the detector hunts with now.

        Returns
        -------
        interest : dict or None
            The session's ``interest``, or the default described in the
            class; None while that is empty (the detector then hunts with
            its reserve output).
        """
        if self.interest is not None:
            return dict(self.interest)
        known = getattr(self.hunter_, "initial_classes_", ())
        labels = sorted(self.label_names(), key=str)
        discovered = discovered_classes(labels, known, ignored=[NOT_INTERESTING])
        return {c: 1.0 for c in discovered} or None

    def set_interest(self, interest):
        """Change the classes of interest (and weights) of the rest of the hunt.

        Parameters
        ----------
        interest : dict or None
            ``{class: weight}``; None for the default (see the class).
        """
        interest = self._normalised_interest(interest)
        with self._lock:
            self.interest = interest
            self._store.set_meta("interest", _jsonable_interest(self.interest))

    def _sync_interest(self):
        self.hunter_.set_params(interest=self.effective_interest())

    # -- a round ---------------------------------------------------------------

    @property
    def features(self):
        """The pool as the detector sees it (its pipeline's transform of ``X``)."""
        return self._features

    def shown(self):
        """Return every sample shown so far, in any round.

        Returns
        -------
        indices : ndarray of int
            In the order they were shown.
        """
        return self._store.shown()

    def pending(self):
        """Return the current round's shown samples.

        Returns
        -------
        indices : ndarray of int
            Empty before :meth:`query`.
        """
        return self._store.shown(self.round_ + 1)

    def query(self, candidates=None):
        """The samples to show this round (the same ones until :meth:`teach`).

        Samples shown or labelled before are never proposed again.

        Parameters
        ----------
        candidates : array-like of int or None, default=None
            Restrict the proposals to these indices (e.g. the samples that
            have arrived so far); None: the whole pool.

        Returns
        -------
        indices : ndarray of int
            Best candidate first.
        """
        with self._lock:
            pending = self.pending()
            if len(pending):
                return pending
            exclude = _never_again(
                len(self._features),
                [*self._store.shown(), *self._store.labels()],
                candidates,
            )
            self._sync_interest()
            indices = self.hunter_.query(
                self._features, n_queries=self.n_queries, exclude=exclude
            )
            self._store.add_shown(self.round_ + 1, indices)
            return np.asarray(indices, dtype=np.int64)

    def label(self, indices, labels):
        """Record labels; each is committed to the store before this returns.

        Parameters
        ----------
        indices : int or array-like of int
            Samples of the pool.
        labels : label or array-like of labels
            Their classes (see :func:`validate_label`, and the class on the
            kind labels are kept of); None withdraws a label (the sample is
            then skipped).

        Returns
        -------
        round : int
            The round the labels are stored under (the one after the last
            :meth:`teach` to finish: a label given while a round is being
            taught counts for the next one).
        """
        scalar = np.ndim(indices) == 0
        indices = np.atleast_1d(np.asarray(indices))
        labels = [labels] if scalar else list(labels)
        if len(labels) != len(indices):
            raise ValueError(f"{len(indices)} indices but {len(labels)} labels.")
        check_sample_indices(indices, len(self._features))
        labels = [self.as_label(v) for v in labels]
        with self._lock:
            self._store.add_labels(indices.tolist(), labels, self.round_ + 1)
            return self.round_ + 1

    def labels(self):
        """Every label given, the latest per sample.

        Returns
        -------
        labels : pandas.DataFrame
            Columns ``index``, ``label``, ``round`` (0: known at the start)
            and ``time`` (seconds since the epoch), one row per labelled
            sample, in index order.
        """
        import pandas as pd

        rows = [
            {"index": i, "label": lab, "round": r, "time": t}
            for i, (lab, r, t) in sorted(self._store.labels().items())
            if lab is not None
        ]
        return pd.DataFrame(rows, columns=["index", "label", "round", "time"])

    def label_names(self):
        """Return the distinct labels given, in the order they were first given.

        Labels known at the start come first.

        Returns
        -------
        names : list
            The classes, oldest first.
        """
        with self._lock:
            rows = self._store.labels().values()
        ordered = sorted(rows, key=lambda row: (row[1], row[2]))
        return list(dict.fromkeys(lab for lab, _, _ in ordered if lab is not None))

    def export_labels(self, path=None):
        """Write :meth:`labels` as CSV, safe to open in a spreadsheet.

        A text label that a spreadsheet would run as a formula (starting
        with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
        written with a leading ``'``.

        Parameters
        ----------
        path : str or path-like or None, default=None
            The CSV file; None returns the text instead.

        Returns
        -------
        csv : str or None
            The CSV text when ``path`` is None.
        """
        table = self.labels()
        table["label"] = table["label"].map(spreadsheet_safe)
        return table.to_csv(path, index=False)

    def teach(self):
        """Train on every label so far, checkpoint, and close the round.

        Returns
        -------
        self : HuntSession
            The session, one round further.
        """
        with self._lock:
            labelled = self.labels()
            shown = self.pending()
            given = self._store.labels()
            answers = [given[i][0] for i in shown.tolist() if i in given]
            answers = [v for v in answers if v is not None]
            before = set(self.hunter_.classes_)
            start = time.perf_counter()
            self._sync_interest()
            self.hunter_.teach(
                self._rows(labelled["index"]), labelled["label"].to_numpy(dtype=object)
            )
            seconds = time.perf_counter() - start
            interest = self.effective_interest() or {self.hunter_.reserve_label: 1}
            self.round_ += 1
            self.history_.append(
                _round_record(self.round_, shown, answers, interest, before)
            )
            self.history_[-1].update(n_labels=len(labelled), seconds=seconds)
            self._checkpoint()
            return self

    def run_round(self, oracle, candidates=None):
        """Query, ask ``oracle`` about the queried samples, label, teach.

        Parameters
        ----------
        oracle : callable
            ``oracle(indices)`` returns the classes of ``X[indices]``.
        candidates : array-like of int or None, default=None
            See :meth:`query`.

        Returns
        -------
        indices : ndarray of int
            The samples asked about (empty when the pool is exhausted; then
            no round is taught).
        """
        indices = self.query(candidates)
        if len(indices):
            self.label(indices, list(oracle(indices)))
            self.teach()
        return indices

    @validate_params(
        {
            "oracle": [callable],
            "n_rounds": [Interval(Integral, 1, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def hunt(self, oracle, n_rounds=1):
        """Run rounds of :meth:`run_round` with a callable oracle.

        Parameters
        ----------
        oracle : callable
            ``oracle(indices)`` returns the classes of ``X[indices]``.
        n_rounds : int, default=1
            Rounds to run (fewer when the pool runs out).

        Returns
        -------
        history : pandas.DataFrame
            :meth:`history`.
        """
        from tqdm.auto import trange

        for _ in trange(n_rounds, disable=not self.verbose, desc="hunt rounds"):
            if not len(self.run_round(oracle)):
                break
        return self.history()

    def history(self):
        """One row per completed round.

        Returns
        -------
        history : pandas.DataFrame
            ``round``, ``n_shown`` (samples shown), ``n_labelled`` (of them
            labelled), ``n_interest`` (labelled in a class of interest),
            ``interest_rate``, ``new_classes``, ``n_labels`` (all labels the
            round trained on) and ``seconds`` (training time).
        """
        import pandas as pd

        return pd.DataFrame(self.history_, columns=HISTORY_COLUMNS)

    def anomaly_scores(self, indices=None):
        """Score samples of the pool with the detector.

        Parameters
        ----------
        indices : array-like of int or None, default=None
            Samples to score; None: the whole pool.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher for more anomalous samples.
        """
        with self._lock:
            self._sync_interest()
            rows = self._features if indices is None else self._rows(indices)
            return _anomaly_scores(self.hunter_, rows)


def _jsonable_interest(interest):
    return None if interest is None else [[k, float(w)] for k, w in interest.items()]


def _interest_from_json(pairs):
    return None if pairs is None else {k: w for k, w in pairs}


def _never_again(n_samples, seen, candidates):
    """The mask of samples a query must not propose: those ``seen`` and, when
    ``candidates`` are given, all others."""
    exclude = np.zeros(n_samples, dtype=bool)
    exclude[np.asarray(seen, dtype=np.int64)] = True
    if candidates is not None:
        allowed = np.zeros(n_samples, dtype=bool)
        allowed[np.asarray(candidates, dtype=np.int64)] = True
        exclude |= ~allowed
    return exclude


def _round_record(round_, shown, answers, interest, classes_before):
    """A round's entry of the history (the training's size and time aside)."""
    wanted = {c for c, w in interest.items() if w > 0}
    hits = sum(v in wanted for v in answers)
    return {
        "round": round_,
        "n_shown": len(shown),
        "n_labelled": len(answers),
        "n_interest": int(hits),
        "interest_rate": hits / len(answers) if answers else math.nan,
        "new_classes": [c for c in ordered_unique(answers) if c not in classes_before],
    }


def _check_new_or_saved(saved, detector, directory):
    """A detector starts a new hunt; none resumes the saved one."""
    if saved and detector is not None:
        raise ValueError(
            f"{directory} already holds a hunt; open it without a detector to "
            "resume it, or choose a new directory."
        )
    if not saved and detector is None:
        raise ValueError(
            "A new hunt needs a detector"
            + ("" if directory is None else f" ({directory} holds none).")
        )


def _known_labels(y, n_samples):
    """``[(index, label)]`` of the labelled samples of ``y`` (None: none)."""
    if y is None:
        return []
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)} labels.")
    return [(i, validate_label(v)) for i, v in enumerate(y) if not is_unlabelled(v)]
