"""AHUNT: personalised anomaly detection with deep active learning."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import PADDED_BATCH, TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from .._device import draw_seed
from .._images import ImageInputMixin, input_ndim, validate_images
from .._labels import check_interest, ordered_unique
from .._training import TrainingNet, check_filters, keep_state_on_error
from ..morphology._memo import MeasuredStatistics
from ..nn import rng
from ..nn.classifier import GalaxyCNN, grow_head
from ..nn.equivariant import D4CNN
from ..nn.mlp import MLPClassifierNet
from ._base import CONTAMINATION_CONSTRAINT, OutlierScoresMixin
from ._hunt_scores import (
    InterestScoresMixin,
    flat_batches,
    interest_ranking,
    label_spacing,
    prepared_rows,
    prepared_subset,
)
from ._taught import (
    exclusion_mask,
    fingerprints,
    labels_of,
    warn_if_forgetting,
)

__all__ = ["AHUNTDetector"]


class AHUNTDetector(
    InterestScoresMixin,
    OutlierScoresMixin,
    OutlierMixin,
    ImageInputMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Personalised anomaly hunting with deep active learning (AHUNT).

    A classifier over the known classes plus one reserve output
    (``reserve_label``) is trained on the labelled samples. The anomaly score
    of a sample is the weighted probability of the classes of ``interest``.
    Each round of a hunt, :meth:`query` picks the ``n_queries`` best
    candidates, a person (the oracle) names their classes, and :meth:`teach`
    fine-tunes the network on every label so far: a class never seen before
    grows the output layer by one unit, keeping the learnt weights, and
    training runs (warm start) for ``epochs_per_round`` epochs that draw
    every labelled class equally often, every draw randomly augmented.

    It keeps no training data: the hunt itself (pool, labels, rounds,
    saving) is :class:`skgalaxy.active.HuntSession`.

    Works on images (by default on their morphology statistics, see
    ``backbone``) and on feature vectors such as embeddings (an MLP on
    standardised features).

    **Labels.** ``y`` holds class labels of any type. Unlabelled samples are
    marked ``None``, NaN or ``pd.NA`` — never -1, which scikit-learn's outlier
    detectors use for "outlier". Labelling a sample ``reserve_label`` trains
    the reserve output directly.

    **Unsupervised start.** ``fit`` also fits ``unsupervised`` (an
    :class:`~sklearn.ensemble.IsolationForest` by default) on all of ``X``.
    Without any label, the scores are its ``-score_samples``, and while no
    sample of a class of interest is labelled, ``query_strategy="anomalous"``
    ranks candidates by it: a classifier whose reserve output has never seen
    an example cannot yet say what is anomalous.

    Read more in the :doc:`User Guide </user_guide/hunt>`.

    Parameters
    ----------
    interest : dict or None, default=None
        ``{class label: weight}``: the classes the user hunts for, with
        non-negative weights (at least one positive). The interest score of
        a sample is ``sum(weight * probability) / max(weight)`` over all of
        them, so equal weights give the total probability of the classes of
        interest; each round's query budget is split between them by
        weight. A class of interest not seen yet is looked for through the
        reserve output. None means the classes discovered by :meth:`teach`
        (not given to ``fit``), equally weighted, and the reserve while there
        is none.
    reserve_label : str, default="anomaly"
        Label of the reserve output.
    n_queries : int, default=10
        Candidates per round.
    query_strategy : {"anomalous", "uncertain", "random"}, default="anomalous"
        Highest interest score; highest predictive entropy; uniform draws.
    backbone : {"auto", "morphology", "cnn", "d4", "mlp"}, default="auto"
        What the classifier sees and is. "morphology": images are measured
        (the statistics of :class:`~skgalaxy.morphology.MorphologyTransformer`:
        asymmetry, concentration, Gini, M20, colours, ...), standardised and
        classified by an MLP; give it the images as observed. "cnn": a CNN
        on the images. "d4": a D4-equivariant CNN
        (:class:`~skgalaxy.nn.equivariant.D4CNN`, ``filters`` then counting
        channels per group element). "mlp": an MLP on standardised feature
        vectors (embeddings). "auto": "morphology" for 4-D image input,
        "mlp" for 2-D input.

        .. versionchanged:: 0.2
           "auto" takes "morphology" for images (it was "cnn").
    unsupervised : estimator or None, default=None
        The unsupervised start: any estimator with ``fit`` and
        ``score_samples`` (higher = more normal), cloned and fitted on the
        flattened input of ``fit``. None: ``IsolationForest`` seeded from
        ``random_state``.
    blend : {"neighbours", "none"}, default="neighbours"
        How the score uses what is unlabelled. ``"neighbours"`` (after
        Astronomaly's NeighbourScore, Lochner & Bassett 2021): the
        classifier's interest probability ``p`` becomes ``1 - (1 - p) * (1 -
        (1 - w) * u)``, with ``u`` the unsupervised start's odds (even at
        the 95th percentile of ``fit``'s scores, never above) and ``w =
        exp(-d / s)`` for the distance ``d`` to the nearest label in the
        classifier's embedding and the spacing ``s`` of its class's labels:
        the classifier near the labels, the unsupervised score far from
        them. ``"none"``: the classifier alone (the original AHUNT).
    calibrate : bool, default=True
        Each :meth:`teach` records the raw scores its newly labelled
        samples had before they were labelled (the latest
        ``CALIBRATION_PAIRS`` = 500) and fits a Platt curve (temperature at
        least 1) from them to "of interest": scores then estimate the chance
        that a sample is wanted, and ``contamination="auto"`` flags those
        more likely wanted than not. The ranking is unchanged; scores stay
        raw until the pairs hold both kinds.
    filters : tuple of int or None, default=None
        CNN channels per conv block (per group element for "d4", whose
        feature maps hold eight times as many). None: (16, 32, 64) for
        "cnn", (4, 8, 16) for "d4".
    hidden : tuple of int, default=(64, 64)
        MLP hidden layer widths.
    dense_units : int, default=64
        Width of the CNN's embedding layer.
    dropout : float, default=0.1
        Dropout rate of the hidden layers.
    balance : {"draw", "oversample"} or bool, default="draw"
        How training evens out the labelled classes. "draw": each epoch
        draws as many rows as are labelled, with replacement, every class
        with the same probability, so an epoch costs the same however rare
        the wanted class is. "oversample" (or True): each epoch holds every
        labelled row once and random copies of the rarer classes' rows up
        to the size of the largest, (number of classes) x (largest class)
        rows in all. False: the labels as they are. Both schemes are the
        training loader's (``skgalaxy._loaders.batch_loader``).
    augment : bool, default=True
        Random quarter turns and mirror images (CNN) or Gaussian jitter of
        0.1 standard deviations (MLP) in training.
    max_epochs : int, default=48
        Epochs of the first training.
    epochs_per_round : int, default=10
        Fine-tuning epochs of each later :meth:`teach`.
    contamination : "auto" or float in (0, 0.5], default="auto"
        ``"auto"``: ``offset_ = -0.5``, i.e. outliers are samples whose
        interest score exceeds 0.5 (see ``calibrate``). A float sets
        ``offset_`` at that quantile of the scores of ``fit``'s samples, and
        after each :meth:`teach` of the samples taught.
    batch_size : int, default=64
        Training mini-batch size.
    lr : float, default=3e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat image input with an image
        backbone ("morphology", "cnn", "d4").
    n_jobs : int or None, default=None
        Processes measuring the morphology statistics side by side
        (``backbone="morphology"``; see
        :class:`~skgalaxy.morphology.MorphologyTransformer`): None means 1,
        -1 every core.

        .. versionadded:: 0.2
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the network, its training and the unsupervised start.
    verbose : int, default=0
        0: silent; 1: a progress bar over the training batches with the time
        left; 2 or more: skorch's per-epoch table as well.

    Attributes
    ----------
    classes_ : ndarray of object
        Output classes: those of ``fit``, the reserve, then those discovered
        by :meth:`teach`, in the order of ``predict_proba``'s columns.
    initial_classes_ : ndarray of object
        Classes labelled in ``fit``.
    class_counts_ : ndarray of int
        Labelled samples per class of ``classes_`` in the last training.
    backbone_ : {"morphology", "cnn", "d4", "mlp"}
        The backbone in use.
    net_ : skorch.NeuralNet or None
        The classifier; None until some sample is labelled.
    unsupervised_ : estimator
        The unsupervised start, fitted on ``fit``'s ``X``.
    unsupervised_quantiles_ : ndarray of shape (101,)
        Percentiles of the unsupervised start's anomaly scores on ``fit``'s
        samples: they turn a score into a quantile in [0, 1].
    reference_ : ndarray of shape (n_labelled, n_units) or None
        The classifier's embedding of the labelled samples of the last
        training (``blend="neighbours"``): what "near a label" means.
    reference_labels_ : ndarray of shape (n_labelled,) or None
        Their classes (indices into ``classes_``).
    scale_ : ndarray of shape (n_classes,) or None
        Per class, the median distance between a labelled sample and its
        nearest labelled neighbour of the class in that embedding: the unit
        of distance near that class.
    calibration_ : tuple of float or None
        ``(slope, intercept)`` of the calibration on the log-odds of the
        interest score, or None while scores are raw (see ``calibrate``).
    calibration_scores_ : ndarray of shape (n_pairs,)
        Held-out interest scores: each taught sample's raw score before it
        was first labelled, latest rounds last.
    calibration_targets_ : ndarray of shape (n_pairs,), bool
        Whether each of those samples is of interest.
    trained_fingerprints_ : ndarray of shape (n_labelled,), uint64
        A hash of each sample of the last training, to tell the samples
        labelled since then apart (the estimator keeps no data).
    scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation of the MLP's input (features or morphology
        statistics; not with a CNN).
    n_labelled_ : int
        Labelled samples in the last training.
    n_rounds_ : int
        Calls of :meth:`teach` so far.
    n_iter_ : int
        Training epochs so far.
    offset_ : float
        Threshold of :meth:`decision_function`.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images (image
        backbones only).
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows (image
        backbones only).
    input_scale_ : float
        255 when fitted on uint8 images, else 1 (CNN only).
    input_dtype_ : numpy.dtype
        dtype family of the training images (CNN only).
    n_features_in_ : int
        Number of values per sample.

    See Also
    --------
    skgalaxy.active.HuntSession : The hunt: pool, labels, rounds, save/resume.

    References
    ----------
    .. [1] A. Vafaei Sadr, B. A. Bassett et al., "Personalized anomaly
       detection using deep active learning", RAS Techniques and
       Instruments 2, 586 (2023).

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.anomaly import AHUNTDetector
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (200, 4)), rng.normal(4, 1, (10, 4))]
    >>> y = np.array(["galaxy"] * 100 + [None] * 110, dtype=object)
    >>> truth = np.array(["galaxy"] * 200 + ["merger"] * 10)
    >>> hunter = AHUNTDetector(n_queries=5, max_epochs=5, random_state=0).fit(X, y)
    >>> labelled = np.arange(100)
    >>> for _ in range(3):  # a round: query, ask the oracle, teach every label
    ...     asked = hunter.query(X, exclude=labelled)
    ...     labelled = np.r_[labelled, asked]
    ...     hunter = hunter.teach(X[labelled], truth[labelled])
    >>> hunter.n_labelled_, hunter.n_rounds_
    (115, 3)
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "interest": [dict, None],
        "reserve_label": [str],
        "n_queries": [Interval(Integral, 1, None, closed="left")],
        "query_strategy": [StrOptions({"anomalous", "uncertain", "random"})],
        "backbone": [StrOptions({"auto", "morphology", "cnn", "d4", "mlp"})],
        "unsupervised": [HasMethods(["fit", "score_samples"]), None],
        "blend": [StrOptions({"neighbours", "none"})],
        "calibrate": ["boolean"],
        "filters": [tuple, list, None],
        "hidden": [tuple, list],
        "dense_units": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "balance": ["boolean", StrOptions({"oversample", "draw"})],
        "augment": ["boolean"],
        "epochs_per_round": [Interval(Integral, 1, None, closed="left")],
        "contamination": CONTAMINATION_CONSTRAINT,
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        interest=None,
        reserve_label="anomaly",
        n_queries=10,
        query_strategy="anomalous",
        backbone="auto",
        unsupervised=None,
        blend="neighbours",
        calibrate=True,
        filters=None,
        hidden=(64, 64),
        dense_units=64,
        dropout=0.1,
        balance="draw",
        augment=True,
        max_epochs=48,
        epochs_per_round=10,
        contamination="auto",
        batch_size=64,
        lr=3e-3,
        weight_decay=1e-4,
        image_shape=None,
        n_jobs=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.interest = interest
        self.reserve_label = reserve_label
        self.n_queries = n_queries
        self.query_strategy = query_strategy
        self.backbone = backbone
        self.unsupervised = unsupervised
        self.blend = blend
        self.calibrate = calibrate
        self.filters = filters
        self.hidden = hidden
        self.dense_units = dense_units
        self.dropout = dropout
        self.balance = balance
        self.augment = augment
        self.max_epochs = max_epochs
        self.epochs_per_round = epochs_per_round
        self.contamination = contamination
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_shape = image_shape
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @property
    def n_labelled_(self):
        """Labelled samples in the last training."""
        return int(self.class_counts_.sum())

    # -- data --------------------------------------------------------------

    def _prepare(self, X, reset):
        """Validate ``X``: ImageBatches (CNN) or a standardised tensor (MLP)."""
        if reset:
            self.backbone_ = (
                ("morphology" if input_ndim(X) == 4 else "mlp")
                if self.backbone == "auto"
                else self.backbone
            )
        if self.backbone_ in ("cnn", "d4"):
            return self._image_batches(X, reset=reset)
        if self.backbone_ == "morphology":
            images = validate_images(self, X, reset=reset, image_shape=self.image_shape)
            if not hasattr(self, "_measured"):  # each distinct image measured once
                self._measured = MeasuredStatistics()
            X = self._measured(images, n_jobs=self.n_jobs).astype(np.float32)
        else:
            X = validate_data(self, X, reset=reset, dtype=np.float32)
        if reset:
            self.scaler_ = StandardScaler().fit(X)
        return torch.from_numpy(self.scaler_.transform(X).astype(np.float32))

    def _class_index(self, labels):
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return np.array([lookup[v] for v in labels], dtype=np.int64)

    # -- training ----------------------------------------------------------

    def _round_seed(self):
        return (draw_seed(self.random_state) + 7919 * self.n_rounds_) % 2**31

    def _module_params(self):
        n_classes = len(self.classes_)
        if self.backbone_ in ("cnn", "d4"):
            return GalaxyCNN if self.backbone_ == "cnn" else D4CNN, {
                "in_channels": self.image_shape_[-1],
                "n_classes": n_classes,
                "filters": self._filters(),
                "dense_units": self.dense_units,
                "dropout": self.dropout,
                "augment": self.augment,
            }
        return MLPClassifierNet, {
            "in_features": self.scaler_.n_features_in_,
            "n_classes": n_classes,
            "hidden": check_filters(self.hidden, "hidden"),
            "dropout": self.dropout,
            "input_noise": 0.1 if self.augment else 0.0,
        }

    def _filters(self):
        if self.filters is None:
            return (16, 32, 64) if self.backbone_ == "cnn" else (4, 8, 16)
        return check_filters(self.filters)

    def _balance_scheme(self):
        """The training loader's ``balance``: True means "oversample"."""
        if isinstance(self.balance, str):
            return self.balance
        return "oversample" if self.balance else False

    def _net_spec(self):
        module, params = self._module_params()
        return (
            TrainingNet,
            module,
            {
                "criterion": torch.nn.CrossEntropyLoss,
                "optimizer": torch.optim.AdamW,
                "optimizer__weight_decay": self.weight_decay,
                "iterator_train__balance": self._balance_scheme(),
                **{f"module__{k}": v for k, v in params.items()},
            },
        )

    def _train(self, X_t, y, net):
        """Train on labelled rows ``X_t``, ``y`` (class indices): from scratch
        when ``net`` is None, else fine-tune ``net`` (a copy of ``net_``)."""
        seed = self._round_seed()
        self.class_counts_ = np.bincount(y, minlength=len(self.classes_))
        y_t = torch.from_numpy(y)
        if net is None:
            self._fit_net(X_t, y_t, seed=seed)
        else:
            self._train_net(net, X_t, y_t, seed=seed, epochs=self.epochs_per_round)
            self.net_ = net
        self.reference_ = self.reference_labels_ = self.scale_ = None
        if self.blend == "neighbours":
            embedding, _ = self._infer(
                self._embed_and_logits, X_t, batch_size=PADDED_BATCH, pad=True
            )
            self.reference_ = embedding.numpy()
            self.reference_labels_ = np.asarray(y, dtype=np.int64)
            self.scale_ = label_spacing(self.reference_, y, len(self.classes_))

    def _check_interest(self):
        check_interest(self.interest)

    @keep_state_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the unsupervised start and, given labels, the first classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            Images or feature vectors, labelled and unlabelled.
        y : array-like of shape (n_samples,) or None, default=None
            Labels of the known classes; None, NaN or ``pd.NA`` for unlabelled
            samples. None: no labels, the unsupervised start only.

        Returns
        -------
        self : AHUNTDetector
            The fitted detector.
        """
        X_t = self._prepare(X, reset=True)
        if y is None:
            y = np.full(len(X_t), None, dtype=object)
        labels, labelled = labels_of(y, len(X_t), allow_unlabelled=True)
        self._check_interest()
        known = [c for c in ordered_unique(labels[labelled]) if c != self.reserve_label]
        self.initial_classes_ = np.array(known, dtype=object)
        self.classes_ = np.array([*known, self.reserve_label], dtype=object)
        self.class_counts_ = np.zeros(len(self.classes_), dtype=np.int64)
        unsupervised = (
            IsolationForest(random_state=draw_seed(self.random_state))
            if self.unsupervised is None
            else clone(self.unsupervised)
        )
        self.unsupervised_ = unsupervised.fit(np.concatenate(list(flat_batches(X_t))))
        self.unsupervised_quantiles_ = np.percentile(
            self._unsupervised_scores(X_t), np.linspace(0, 100, 101)
        )
        self.n_rounds_ = 0
        self.n_iter_ = 0
        self.net_ = None
        self.reference_ = self.reference_labels_ = self.scale_ = None
        self.trained_fingerprints_ = np.empty(0, dtype=np.uint64)
        self.calibration_ = None
        self.calibration_scores_ = np.empty(0)
        self.calibration_targets_ = np.empty(0, dtype=bool)
        if labelled.any():
            rows = prepared_rows(X_t, np.flatnonzero(labelled))
            self._train(rows, self._class_index(labels[labelled]), net=None)
            self.trained_fingerprints_ = fingerprints(rows)
        self._set_offset(-self._interest_scores(X_t))
        return self

    @keep_state_on_error
    def teach(self, X, y):
        """Fine-tune on every labelled sample so far; unseen classes grow the model.

        Pass *all* labels of the hunt, not only the latest round's: the
        estimator keeps no data, and training on the new labels alone would
        forget the old ones (:class:`~skgalaxy.active.HuntSession` does this).
        A ``UserWarning`` says so when samples of the last training are
        missing from ``X``.

        .. versionchanged:: 0.2
           Warns when samples it was trained on are left out.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            The labelled samples.
        y : array-like of shape (n_samples,)
            Their classes; new classes are allowed.

        Returns
        -------
        self : AHUNTDetector
            The detector, trained further.
        """
        check_is_fitted(self)
        X_t = self._prepare(X, reset=False)
        labels, _ = labels_of(y, len(X_t), allow_unlabelled=False)
        taught = fingerprints(X_t)
        warn_if_forgetting(self.trained_fingerprints_, taught)
        held_out, held_out_scores = self._held_out_scores(X_t, taught)
        new_classes = [c for c in ordered_unique(labels) if c not in set(self.classes_)]
        self.classes_ = np.array([*self.classes_, *new_classes], dtype=object)
        net = copy.deepcopy(self.net_)  # trained on a copy: see keep_state_on_error
        if net is not None and new_classes:
            with rng.seeded(self._round_seed()):
                grow_head(net.module_, len(new_classes))
            net.initialize_optimizer()
        self._train(X_t, self._class_index(labels), net)
        self.trained_fingerprints_ = taught
        if self.calibrate:
            self._update_calibration(held_out_scores, labels[held_out])
        self.n_rounds_ += 1
        if self.contamination != "auto":
            self._set_offset(-self._interest_scores(X_t))
        return self

    def _auto_offset(self, train_scores):
        return -0.5

    def score_samples(self, X):
        """Return minus the interest score: higher = more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            Samples in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
            In [-1, 0]: minus the weighted probability of the classes of
            interest (before any label: the unsupervised start's
            ``score_samples``).
        """
        check_is_fitted(self)
        return -self._interest_scores(self._prepare(X, reset=False))

    def _classifier_input(self, X):
        """Prepared ``X`` for the classifier, which must exist by now."""
        check_is_fitted(self)
        X_t = self._prepare(X, reset=False)
        if self.net_ is None:
            raise NotFittedError(
                "AHUNTDetector has no classifier yet: fit it with labels or teach "
                "it some first."
            )
        return X_t

    def predict_proba(self, X):
        """Class probabilities over ``classes_``, the reserve included.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            Samples in the layout given to ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Columns follow ``classes_``; rows sum to 1.
        """
        return self._proba(self._classifier_input(X))

    def embed(self, X):
        """The classifier's learnt representation (its last hidden layer).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            Samples in the layout given to ``fit``.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_units), float32
            The activations of the last hidden layer.
        """
        X_t = self._classifier_input(X)
        return self._infer(self.net_.module_.embed, X_t).numpy()

    # -- queries -----------------------------------------------------------

    def _labelled_interest(self):
        """Whether some labelled sample belongs to a class of interest."""
        wanted = {c for c, w in self._interest_classes().items() if w > 0}
        return any(
            c in wanted for c in self.classes_[np.flatnonzero(self.class_counts_)]
        )

    @validate_params(
        {
            "n_queries": [Interval(Integral, 1, None, closed="left"), None],
            "exclude": ["array-like", None],
        },
        prefer_skip_nested_validation=True,
    )
    def query(self, X, n_queries=None, exclude=None):
        """Choose the samples of ``X`` to show the oracle next.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            The pool.
        n_queries : int or None, default=None
            None: the ``n_queries`` parameter.
        exclude : array-like of int or of bool, default=None
            Samples never to propose (those shown or labelled before), as
            indices into ``X`` or a boolean mask. None: the samples of ``X``
            the detector was last trained on (recognised by their content);
            pass ``[]`` to exclude nothing.

            .. versionchanged:: 0.2
               None excludes the samples trained on (it excluded none).

        Returns
        -------
        indices : ndarray of int
            Best candidate first; fewer than asked when the pool runs out.
        """
        check_is_fitted(self)
        n = self.n_queries if n_queries is None else n_queries
        X_t = self._prepare(X, reset=False)
        if exclude is None:
            exclude = np.isin(fingerprints(X_t), self.trained_fingerprints_)
        candidates = np.flatnonzero(~exclusion_mask(exclude, len(X_t)))
        n = min(n, len(candidates))
        if n == 0:
            return candidates
        if self.query_strategy == "random":
            return np.random.default_rng(self._round_seed()).choice(
                candidates, n, replace=False
            )
        # Only the candidates are scored: a session passes its whole pool.
        X_c = prepared_subset(X_t, candidates)
        if self.net_ is None or (
            self.query_strategy == "anomalous" and not self._labelled_interest()
        ):
            scores = self._unsupervised_scores(X_c)
            return candidates[np.argsort(-scores, kind="stable")[:n]]
        if self.query_strategy == "uncertain":
            proba = self._proba(X_c)
            entropy = -(proba * np.log(proba + 1e-12)).sum(axis=1)
            return candidates[np.argsort(-entropy, kind="stable")[:n]]
        proba, weight, unsupervised = self._blend(X_c)
        reserve = list(self.classes_).index(self.reserve_label)
        best = interest_ranking(
            proba, (1 - weight) * unsupervised, *self._interest_columns(), reserve, n
        )
        return candidates[best]
