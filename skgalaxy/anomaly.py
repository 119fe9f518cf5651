"""Anomaly detectors for galaxy images, with scikit-learn's outlier semantics."""

import hashlib
import itertools
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet

from ._base import (
    TORCH_PARAMETER_CONSTRAINTS,
    ScaledImagesMixin,
    TorchEstimatorMixin,
    cosine_schedule,
    draw_seed,
    torch_seed,
)
from ._images import images_to_tensor, input_ndim, validate_images
from .nn.autoencoder import ConvAutoencoder
from .nn.classifier import GalaxyCNN, grow_head
from .nn.functional import gaussian_blur
from .nn.mlp import MLPClassifierNet

__all__ = ["AHUNTDetector", "CAEAnomalyDetector"]

CONTAMINATION_CONSTRAINT = [
    StrOptions({"auto"}),
    Interval(Real, 0, 0.5, closed="right"),
]


#: False-alarm rate on the training data that ``contamination="auto"`` means
#: for detectors whose scores have no natural threshold.
AUTO_FALSE_ALARM_RATE = 0.01


class OutlierScoresMixin:
    """``decision_function``, ``predict`` and ``anomaly_score`` from ``score_samples``.

    Estimators implement ``score_samples`` (higher = more normal) and
    ``_auto_offset(scores)`` (the threshold for ``contamination="auto"``), and
    call ``_set_offset`` with the training scores at the end of ``fit``.
    """

    def _set_offset(self, train_scores):
        if self.contamination == "auto":
            self.offset_ = float(self._auto_offset(train_scores))
        else:
            self.offset_ = float(np.percentile(train_scores, 100 * self.contamination))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def anomaly_score(self, X):
        """``-score_samples(X)``: higher = more anomalous.

        Parameters
        ----------
        X : array-like
            Samples in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return -self.score_samples(X)


#: Images scored per forward pass; every pass has this size (see ``_infer``).
SCORE_BATCH = 128


class _ReconstructionNet(NeuralNet):
    """skorch net minimising the mean squared error of (reconstruction, target)."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, target = y_pred
        return torch.nn.functional.mse_loss(reconstruction, target)


class CAEAnomalyDetector(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    OutlierScoresMixin,
    OutlierMixin,
    ScaledImagesMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Convolutional autoencoder anomaly detector.

    The autoencoder is trained to reconstruct normal galaxies (randomly turned
    and mirrored, since galaxies have no preferred orientation) through a
    narrow bottleneck. An image is anomalous when it lies off what the
    autoencoder learnt; ``measure`` chooses how that is measured:

    ``"combined"`` (default)
        The sum of two terms, each standardised on the training images: the
        log of the ``"smoothed"`` reconstruction error and the ``"latent"``
        surprise. The residual catches local structure the bottleneck cannot
        carry (trails, stars, companions); the latent term catches images the
        decoder reproduces well but whose codes are rare. Neither alone was
        best on every kind of anomaly in ``benchmarks/cae_anomaly.py`` (see
        ``benchmarks/RESULTS.md``), so the default uses both.
    ``"latent"``
        Negative log-density of the bottleneck code under a Gaussian mixture
        (``latent_components`` components, full covariances) fitted to the
        standardised training codes.
    ``"smoothed"``
        Mean squared reconstruction residual after a Gaussian blur of
        ``smoothing`` pixels: extended structure the autoencoder missed counts,
        pixel-scale sky noise (which no autoencoder reproduces) much less.
    ``"mse"``
        Mean squared pixel residual, the classical score (weak on galaxies:
        the autoencoder reconstructs anomalies nearly as well as normal ones).

    Fit it on normal images scaled to about [0, 1], e.g. by
    :class:`~skgalaxy.preprocessing.ArcsinhScaler`; uint8 input is divided by
    255 internally.

    Parameters
    ----------
    n_components : int, default=8
        Width of the bottleneck: narrow, so that what normal galaxies do not
        share cannot pass through it.
    latent_components : int, default=8
        Gaussian mixture components of the latent density (at most the number
        of training images).
    filters : tuple of int, default=(16, 32, 64)
        Encoder channels per stage (each halves the image); the decoder
        mirrors them.
    measure : {"combined", "latent", "smoothed", "mse"}, default="combined"
        The anomaly measure, see above. (Not called ``score``: that name is
        the estimator method scikit-learn looks for.)
    smoothing : float, default=2.0
        Gaussian blur of the residual in pixels for ``"smoothed"`` and
        ``"combined"`` (0: no blur).
    augment : bool, default=True
        Random quarter turns and mirror images during training.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Expected fraction of outliers in the training data, which sets
        ``offset_``: the score at that quantile of the training scores. With
        ``"auto"``, the offset gives a 1 % false-alarm rate on the
        training images (their 1st score percentile): the scores have no
        natural unit to put a fixed threshold on.
    batch_size : int, default=64
    max_epochs : int, default=20
    lr : float, default=2e-3
        AdamW learning rate, annealed to 0 on a cosine schedule.
    weight_decay : float, default=1e-4
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat 2-D input.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; the torch module is ``net_.module_``.
    n_iter_ : int
    offset_ : float
        Threshold of :meth:`decision_function`.
    latent_density_ : sklearn.pipeline.Pipeline
        StandardScaler + GaussianMixture fitted on the training codes.
    combined_scale_ : dict
        Mean and standard deviation over the training images of each term of
        ``"combined"`` (``"smoothed"``: log residual, ``"latent"``).
    input_scale_ : float
        255 when fitted on uint8 images, else 1.
    input_dtype_ : numpy.dtype
    image_shape_, input_ndim_, n_features_in_ : see :class:`ArcsinhScaler`.

    See Also
    --------
    sklearn.ensemble.IsolationForest : a tree-based outlier detector.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.anomaly import CAEAnomalyDetector
    >>> from skgalaxy.datasets import make_galaxies
    >>> data = make_galaxies(60, image_size=16, anomaly_fraction=0.1, random_state=0)
    >>> cae = CAEAnomalyDetector(n_components=4, filters=(8, 16), max_epochs=2,
    ...                          random_state=0).fit(data.images)
    >>> cae.predict(data.images[:5]).shape, cae.reconstruct(data.images[:2]).dtype
    ((5,), dtype('uint8'))
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "filters": [tuple, list],
        "measure": [StrOptions({"combined", "smoothed", "latent", "mse"})],
        "latent_components": [Interval(Integral, 1, None, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "augment": ["boolean"],
        "contamination": CONTAMINATION_CONSTRAINT,
    }

    def __init__(
        self,
        n_components=8,
        filters=(16, 32, 64),
        measure="combined",
        latent_components=8,
        smoothing=2.0,
        augment=True,
        contamination="auto",
        batch_size=64,
        max_epochs=20,
        lr=2e-3,
        weight_decay=1e-4,
        image_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.filters = filters
        self.measure = measure
        self.latent_components = latent_components
        self.smoothing = smoothing
        self.augment = augment
        self.contamination = contamination
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on (mostly) normal images and set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
        y : None
            Ignored.

        Returns
        -------
        self : CAEAnomalyDetector
        """
        X_t = self._scaled_tensor(X, reset=True, min_samples=2)
        self._fit_net(
            _ReconstructionNet,
            ConvAutoencoder,
            X_t,
            criterion=torch.nn.Identity,  # the loss is in get_loss
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            callbacks=[("lr_schedule", cosine_schedule(self.max_epochs))],
            module__in_channels=self.image_shape_[-1],
            module__image_size=self.image_shape_[:2],
            module__filters=tuple(self.filters),
            module__n_components=self.n_components,
            module__augment=self.augment,
        )
        terms = self._score_terms(X_t)
        codes = terms["codes"]
        self.latent_density_ = make_pipeline(
            StandardScaler(),
            GaussianMixture(
                n_components=min(self.latent_components, len(codes)),
                reg_covar=1e-3,
                random_state=draw_seed(self.random_state),
            ),
        ).fit(codes)
        self.combined_scale_ = {
            name: (values.mean(), values.std() + 1e-12)
            for name, values in self._combined_terms(terms).items()
        }
        self._set_offset(self._score_from_terms(terms))
        return self

    def _score_terms(self, X_t):
        """Per-image squared residuals and codes, as float64 arrays."""
        module = self.net_.module_
        sigma = self.smoothing

        def measure(xb):
            codes = module.encode(xb)
            recon = module.decode(codes)
            residual = xb - recon
            smoothed = gaussian_blur(residual, sigma)
            return (
                (residual**2).mean(dim=(1, 2, 3)),
                (smoothed**2).mean(dim=(1, 2, 3)),
                codes,
            )

        names = ("mse", "smoothed", "codes")
        return {
            name: out.double().numpy()
            for name, out in zip(
                names, self._infer(measure, X_t, batch_size=SCORE_BATCH, pad=True)
            )
        }

    def _latent_surprise(self, codes):
        """Negative log-density of the codes under the fitted mixture."""
        return -self.latent_density_.score_samples(codes)

    def _combined_terms(self, terms):
        return {
            "smoothed": np.log(terms["smoothed"] + np.finfo(float).tiny),
            "latent": self._latent_surprise(terms["codes"]),
        }

    def _score_from_terms(self, terms):
        """score_samples (higher = more normal) from :meth:`_score_terms`."""
        if self.measure in ("mse", "smoothed"):
            return -terms[self.measure]
        if self.measure == "latent":
            return -self._latent_surprise(terms["codes"])
        combined = sum(
            (values - self.combined_scale_[name][0]) / self.combined_scale_[name][1]
            for name, values in self._combined_terms(terms).items()
        )
        return -combined

    def _auto_offset(self, train_scores):
        return np.percentile(train_scores, 100 * AUTO_FALSE_ALARM_RATE)

    def score_samples(self, X):
        """Normality of each image (higher = more normal), per ``measure``.

        Deterministic, and independent of the other images in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
        """
        check_is_fitted(self)
        terms = self._score_terms(self._scaled_tensor(X, reset=False))
        return self._score_from_terms(terms)

    def reconstruct(self, X):
        """The autoencoder's reconstruction of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)

        Returns
        -------
        images : ndarray
            In the layout (4-D or flat), shape and dtype family (uint8 or
            float32) of the data given to ``fit``.
        """
        check_is_fitted(self)
        module = self.net_.module_
        X_t = self._scaled_tensor(X, reset=False)
        return self._to_images(
            self._infer(lambda xb: module.decode(module.encode(xb)), X_t)
        )

    def transform(self, X):
        """The bottleneck codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components), float32
        """
        check_is_fitted(self)
        X_t = self._scaled_tensor(X, reset=False)
        return self._infer(self.net_.module_.encode, X_t).numpy()

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _unique(values):
    """Distinct values in order of first appearance (any hashable labels)."""
    return list(dict.fromkeys(values.tolist() if hasattr(values, "tolist") else values))


def _is_unlabelled(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def _sample_keys(X_t):
    """A content hash of every sample, to recognise images seen before."""
    rows = X_t.flatten(1).numpy()
    return [hashlib.blake2b(row.tobytes(), digest_size=16).hexdigest() for row in rows]


def _split_budget(n, weights):
    """Split ``n`` queries in proportion to ``weights`` (largest remainders)."""
    shares = n * weights / weights.sum()
    counts = np.floor(shares).astype(int)
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


class AHUNTDetector(
    OutlierScoresMixin, OutlierMixin, TorchEstimatorMixin, BaseEstimator
):
    """Personalised anomaly hunting with deep active learning (AHUNT).

    A classifier over the known classes plus one reserve output
    (``reserve_label``) is trained on the labelled samples. The anomaly score
    of a sample is the weighted probability of the classes of ``interest``.
    Each round of the hunt, :meth:`query` picks the ``n_queries`` best
    candidates not labelled before, a human (the oracle) names their classes,
    and :meth:`teach` adds those labels: a class never seen before grows the
    output layer by one unit, keeping the learnt weights, and the network is
    fine-tuned (warm start) for ``epochs_per_round`` epochs on all labels so
    far, minority classes oversampled to balance them and every copy randomly
    augmented. Method of Vafaei Sadr, Bassett et al. (2023, RAS Techniques
    and Instruments 2, 586).

    Works on images (a CNN backbone) and on feature vectors such as
    :class:`~skgalaxy.representation.FlowVAETransformer` embeddings (an MLP on
    standardised features), chosen from the input by ``backbone="auto"``.

    **Labels.** ``y`` holds class labels of any type. Unlabelled samples are
    marked ``None`` (or NaN) — never -1, which scikit-learn's outlier
    detectors use for "outlier". Labelling a sample ``reserve_label`` trains
    the reserve output directly.

    **Unsupervised start.** ``fit`` also fits an IsolationForest on all of
    ``X``. Without any label, the scores are the forest's (``-score_samples``
    of :class:`~sklearn.ensemble.IsolationForest`, about 0.5 for typical
    samples), and while no sample of a class of interest is labelled,
    ``query_strategy="anomalous"`` ranks candidates by the forest: a
    classifier whose reserve output has never seen an example cannot yet say
    what is anomalous.

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
    backbone : {"auto", "cnn", "mlp"}, default="auto"
        "auto": a CNN for 4-D image input, an MLP for 2-D input.
    filters : tuple of int, default=(16, 32, 64)
        CNN channels per conv block.
    hidden : tuple of int, default=(64, 64)
        MLP hidden layer widths.
    dense_units : int, default=64
        Width of the CNN's embedding layer.
    dropout : float, default=0.1
    balance : bool, default=True
        Oversample every labelled class to the size of the largest.
    augment : bool, default=True
        Random quarter turns and mirror images (CNN) or Gaussian jitter of
        0.1 standard deviations (MLP) in training.
    max_epochs : int, default=30
        Epochs of the first training in ``fit``.
    epochs_per_round : int, default=5
        Fine-tuning epochs of each :meth:`teach`.
    contamination : "auto" or float in (0, 0.5], default="auto"
        ``"auto"``: ``offset_ = -0.5``, i.e. outliers are samples whose
        interest score exceeds 0.5. A float sets ``offset_`` at that quantile
        of the scores of ``fit``'s samples, and after each :meth:`teach` of the
        labelled samples.
    batch_size : int, default=64
    lr : float, default=3e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat image input with
        ``backbone="cnn"``.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        1 or more shows a progress bar over the rounds of :meth:`hunt`.

    Attributes
    ----------
    classes_ : ndarray of object
        Output classes: those of ``fit``, the reserve, then those discovered
        by :meth:`teach`, in the order of ``predict_proba``'s columns.
    initial_classes_ : ndarray of object
        Classes labelled in ``fit``.
    backbone_ : {"cnn", "mlp"}
    net_ : skorch.NeuralNet or None
        The classifier; None until some sample is labelled.
    unsupervised_ : sklearn.ensemble.IsolationForest
        The unsupervised start, fitted on ``fit``'s ``X``.
    n_labelled_ : int
        Labelled samples so far.
    n_rounds_ : int
        Calls of :meth:`teach` so far.
    n_iter_ : int
        Training epochs so far.
    offset_ : float
    feature_mean_, feature_scale_ : ndarray
        Standardisation of MLP input.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skgalaxy.anomaly import AHUNTDetector
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (200, 4)), rng.normal(4, 1, (10, 4))]
    >>> y = np.array(["galaxy"] * 100 + [None] * 110, dtype=object)
    >>> truth = np.array(["galaxy"] * 200 + ["merger"] * 10)
    >>> hunter = AHUNTDetector(n_queries=5, max_epochs=5, random_state=0).fit(X, y)
    >>> history = hunter.hunt(X, oracle=lambda idx: truth[idx], n_rounds=2)
    >>> list(hunter.classes_)
    ['galaxy', 'anomaly', 'merger']
    >>> int(history["n_interest"].sum()) > 0
    True
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "interest": [dict, None],
        "reserve_label": [str],
        "n_queries": [Interval(Integral, 1, None, closed="left")],
        "query_strategy": [StrOptions({"anomalous", "uncertain", "random"})],
        "backbone": [StrOptions({"auto", "cnn", "mlp"})],
        "filters": [tuple, list],
        "hidden": [tuple, list],
        "dense_units": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "balance": ["boolean"],
        "augment": ["boolean"],
        "epochs_per_round": [Interval(Integral, 1, None, closed="left")],
        "contamination": CONTAMINATION_CONSTRAINT,
    }

    def __init__(
        self,
        interest=None,
        reserve_label="anomaly",
        n_queries=10,
        query_strategy="anomalous",
        backbone="auto",
        filters=(16, 32, 64),
        hidden=(64, 64),
        dense_units=64,
        dropout=0.1,
        balance=True,
        augment=True,
        max_epochs=30,
        epochs_per_round=5,
        contamination="auto",
        batch_size=64,
        lr=3e-3,
        weight_decay=1e-4,
        image_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.interest = interest
        self.reserve_label = reserve_label
        self.n_queries = n_queries
        self.query_strategy = query_strategy
        self.backbone = backbone
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
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @property
    def n_labelled_(self):
        """Labelled samples so far."""
        return len(self.y_labelled_)

    # -- data --------------------------------------------------------------

    def _prepare(self, X, reset):
        """Validate ``X`` and return the float32 tensor the network takes."""
        if reset:
            self.backbone_ = (
                ("cnn" if input_ndim(X) == 4 else "mlp")
                if self.backbone == "auto"
                else self.backbone
            )
        if self.backbone_ == "cnn":
            images = validate_images(self, X, reset=reset, image_shape=self.image_shape)
            return images_to_tensor(images)
        X = validate_data(self, X, reset=reset, dtype=np.float32)
        if reset:
            self.feature_mean_ = X.mean(axis=0)
            self.feature_scale_ = X.std(axis=0) + 1e-6
        return torch.from_numpy((X - self.feature_mean_) / self.feature_scale_)

    def _labels(self, y, n_samples, allow_unlabelled):
        """Labels as an object array and the mask of labelled samples."""
        labels = np.asarray(column_or_1d(y, dtype=object), dtype=object)
        if len(labels) != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {len(labels)} labels."
            )
        labelled = np.array([not _is_unlabelled(v) for v in labels], dtype=bool)
        if not allow_unlabelled and not labelled.all():
            raise ValueError(
                "teach needs a label for every sample; None/NaN mark unlabelled "
                "samples only in fit."
            )
        return labels, labelled

    def _class_index(self, labels):
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return np.array([lookup[v] for v in labels], dtype=np.int64)

    # -- training ----------------------------------------------------------

    def _round_seed(self):
        return (draw_seed(self.random_state) + 7919 * self.n_rounds_) % 2**31

    def _balanced(self, seed):
        """Labelled tensors with every class oversampled to the largest."""
        X, y = self.X_labelled_, self.y_labelled_
        if not self.balance:
            return X, torch.from_numpy(y)
        rng = np.random.default_rng(seed)
        counts = np.bincount(y, minlength=len(self.classes_))
        extra = [
            rng.choice(np.flatnonzero(y == c), counts.max() - counts[c])
            for c in np.flatnonzero(counts)
        ]
        index = np.concatenate([np.arange(len(y)), *extra]).astype(np.int64)
        return X[index], torch.from_numpy(y[index])

    def _module_params(self):
        n_classes = len(self.classes_)
        if self.backbone_ == "cnn":
            return GalaxyCNN, {
                "in_channels": self.image_shape_[-1],
                "n_classes": n_classes,
                "filters": tuple(self.filters),
                "dense_units": self.dense_units,
                "dropout": self.dropout,
                "augment": self.augment,
            }
        return MLPClassifierNet, {
            "in_features": self.n_features_in_,
            "n_classes": n_classes,
            "hidden": tuple(self.hidden),
            "dropout": self.dropout,
            "input_noise": 0.1 if self.augment else 0.0,
        }

    def _train(self):
        seed = self._round_seed()
        X, y = self._balanced(seed)
        if self.net_ is None:
            module, params = self._module_params()
            self._fit_net(
                NeuralNet,
                module,
                X,
                y,
                seed=seed,
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.AdamW,
                optimizer__weight_decay=self.weight_decay,
                **{f"module__{k}": v for k, v in params.items()},
            )
            return
        with torch_seed(seed, self.net_.device):
            self.net_.fit_loop(X, y, epochs=self.epochs_per_round)
        self.n_iter_ = len(self.net_.history)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the unsupervised start and, given labels, the first classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            Images or feature vectors.
        y : array-like of shape (n_samples,) or None, default=None
            Labels of the known classes; None or NaN for unlabelled samples.
            None: no labels, the unsupervised start only.

        Returns
        -------
        self : AHUNTDetector
        """
        X_t = self._prepare(X, reset=True)
        if y is None:
            y = np.full(len(X_t), None, dtype=object)
        labels, labelled = self._labels(y, len(X_t), allow_unlabelled=True)
        self._check_interest()
        known = [c for c in _unique(labels[labelled]) if c != self.reserve_label]
        self.initial_classes_ = np.array(known, dtype=object)
        self.classes_ = np.array([*known, self.reserve_label], dtype=object)
        self.unsupervised_ = IsolationForest(
            random_state=draw_seed(self.random_state)
        ).fit(X_t.flatten(1).numpy())
        self.X_labelled_ = X_t[torch.from_numpy(labelled)]
        self.y_labelled_ = self._class_index(labels[labelled])
        self.labelled_keys_ = set(_sample_keys(self.X_labelled_))
        self.n_rounds_ = 0
        self.n_iter_ = 0
        self.net_ = None
        if len(self.y_labelled_):
            self._train()
        self._set_offset(-self._interest_scores(X_t))
        return self

    def _check_interest(self):
        if self.interest is None:
            return
        weights = list(self.interest.values())
        if not weights or any(
            not isinstance(w, Real) or isinstance(w, bool) or not w >= 0
            for w in weights
        ):
            raise ValueError(
                "interest must map class labels to non-negative weights, got "
                f"{self.interest!r}."
            )
        if sum(weights) <= 0:
            raise ValueError("interest needs at least one positive weight.")

    def teach(self, X, y):
        """Add the oracle's labels and fine-tune; unseen classes grow the model.

        Samples labelled before are not added twice.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            The samples the oracle labelled (e.g. ``X_pool[query(X_pool)]``).
        y : array-like of shape (n_samples,)
            Their classes; new classes are allowed.

        Returns
        -------
        self : AHUNTDetector
        """
        check_is_fitted(self)
        X_t = self._prepare(X, reset=False)
        labels, _ = self._labels(y, len(X_t), allow_unlabelled=False)
        keys = _sample_keys(X_t)
        seen, fresh = set(self.labelled_keys_), []
        for i, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                fresh.append(i)
        new_classes = [c for c in _unique(labels) if c not in set(self.classes_)]
        self.classes_ = np.array([*self.classes_, *new_classes], dtype=object)
        if self.net_ is not None and new_classes:
            # Seeded: the new units' random weights must not depend on (or
            # change) the caller's global random state.
            with torch_seed(self._round_seed(), self.net_.device):
                grow_head(self.net_.module_, len(new_classes))
            self.net_.initialize_optimizer()
        self.X_labelled_ = torch.cat([self.X_labelled_, X_t[fresh]])
        self.y_labelled_ = np.concatenate(
            [self.y_labelled_, self._class_index(labels[fresh])]
        )
        self.labelled_keys_.update(keys[i] for i in fresh)
        self._train()
        self.n_rounds_ += 1
        if self.contamination != "auto":
            self._set_offset(-self._interest_scores(self.X_labelled_))
        return self

    # -- scores ------------------------------------------------------------

    def _interest_classes(self):
        """``{class: weight}`` of the interest, the default filled in."""
        if self.interest is not None:
            return dict(self.interest)
        known = {*self.initial_classes_, self.reserve_label}
        discovered = [c for c in self.classes_ if c not in known]
        return {c: 1.0 for c in discovered or [self.reserve_label]}

    def _interest_columns(self):
        """Columns of ``predict_proba`` and weights, one per class of interest.

        Weights are scaled so the largest is 1: the score of a sample is then
        its probability of being of interest, equal weights giving the total
        probability of all classes of interest. A class not among
        ``classes_`` yet is looked for through the reserve output.
        """
        index = {c: i for i, c in enumerate(self.classes_)}
        reserve = index[self.reserve_label]
        pairs = [
            (index.get(c, reserve), float(w))
            for c, w in self._interest_classes().items()
        ]
        columns = np.array([c for c, _ in pairs], dtype=np.int64)
        weights = np.array([w for _, w in pairs])
        return columns, weights / weights.max()

    def _proba(self, X_t):
        logits = self._infer(self.net_.module_, X_t)
        return torch.softmax(logits.double(), dim=1).numpy()

    def _forest_scores(self, X_t):
        """The unsupervised start's anomaly scores, about 0.5 when typical."""
        return -self.unsupervised_.score_samples(X_t.flatten(1).numpy())

    def _interest_scores(self, X_t):
        if self.net_ is None:
            return self._forest_scores(X_t)
        proba = self._proba(X_t)
        columns, weights = self._interest_columns()
        return proba[:, columns] @ weights

    def _auto_offset(self, train_scores):
        return -0.5

    def score_samples(self, X):
        """Minus the interest score: higher = more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
            In [-1, 0]: minus the weighted probability of the classes of
            interest (or of the forest's anomaly score before any label).
        """
        check_is_fitted(self)
        return -self._interest_scores(self._prepare(X, reset=False))

    def predict_proba(self, X):
        """Class probabilities over ``classes_``, the reserve included.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
        """
        check_is_fitted(self)
        X_t = self._prepare(X, reset=False)
        if self.net_ is None:
            raise NotFittedError(
                "AHUNTDetector has no classifier yet: fit it with labels or teach "
                "it some first."
            )
        return self._proba(X_t)

    # -- the hunt ----------------------------------------------------------

    def _labelled_interest(self):
        """Whether some labelled sample belongs to a class of interest."""
        wanted = {c for c, w in self._interest_classes().items() if w > 0}
        return any(c in wanted for c in self.classes_[np.unique(self.y_labelled_)])

    def query(self, X, n_queries=None):
        """Indices of the samples of ``X`` to show the oracle next.

        Samples labelled before are never proposed again.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            The pool.
        n_queries : int or None, default=None
            None: the ``n_queries`` parameter.

        Returns
        -------
        indices : ndarray of int
            Best candidate first; fewer than asked when the pool runs out.
        """
        check_is_fitted(self)
        n = self.n_queries if n_queries is None else n_queries
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_queries must be a positive integer, got {n!r}.")
        X_t = self._prepare(X, reset=False)
        keys = _sample_keys(X_t)
        candidates = np.array(
            [i for i, key in enumerate(keys) if key not in self.labelled_keys_],
            dtype=np.int64,
        )
        n = min(n, len(candidates))
        if n == 0:
            return candidates
        if self.query_strategy == "random":
            rng = np.random.default_rng(self._round_seed())
            return rng.choice(candidates, n, replace=False)
        # Scores of the whole pool, then the candidates': no copy of the pool.
        if self.net_ is None or (
            self.query_strategy == "anomalous" and not self._labelled_interest()
        ):
            forest = self._forest_scores(X_t)[candidates]
            return candidates[np.argsort(-forest, kind="stable")[:n]]
        proba = self._proba(X_t)[candidates]
        if self.query_strategy == "uncertain":
            entropy = -(proba * np.log(proba + 1e-12)).sum(axis=1)
            return candidates[np.argsort(-entropy, kind="stable")[:n]]
        return candidates[self._split_query(proba, n)]

    def _split_query(self, proba, n):
        """Each class of interest gets its weight's share of the budget."""
        columns, weights = self._interest_columns()
        chosen = {}  # an ordered set

        def take(ranking, count):
            fresh = (i for i in np.argsort(-ranking, kind="stable") if i not in chosen)
            chosen.update(dict.fromkeys(itertools.islice(fresh, count)))

        for column, count in zip(columns, _split_budget(n, weights)):
            take(proba[:, column], count)
        take(proba[:, columns] @ weights, n - len(chosen))
        return np.fromiter(chosen, dtype=np.int64, count=len(chosen))

    def hunt(self, X, oracle, n_rounds=1):
        """Rounds of query -> oracle -> teach on the pool ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, n_features)
            The pool.
        oracle : callable
            ``oracle(indices)`` returns the true classes of ``X[indices]``.
        n_rounds : int, default=1

        Returns
        -------
        history : pandas.DataFrame
            One row per round: ``round``, ``queried`` (indices), ``labels``,
            ``n_interest`` (answers in a class of interest), ``interest_rate``
            (their fraction) and ``new_classes``.
        """
        import pandas as pd
        from tqdm.auto import trange

        check_is_fitted(self)
        if not callable(oracle):
            raise TypeError("oracle must be callable: oracle(indices) -> labels.")
        if not isinstance(n_rounds, Integral) or n_rounds < 1:
            raise ValueError(f"n_rounds must be a positive integer, got {n_rounds!r}.")
        X = np.asarray(X)
        rows = []
        for _ in trange(n_rounds, disable=not self.verbose, desc="AHUNT rounds"):
            indices = self.query(X)
            if len(indices) == 0:
                break
            labels = np.asarray(oracle(indices), dtype=object)
            before = set(self.classes_)
            self.teach(X[indices], labels)
            interest = self._interest_classes()  # the default grows with classes_
            hits = sum(interest.get(c, 0) > 0 for c in labels)
            rows.append(
                {
                    "round": self.n_rounds_,
                    "queried": indices.tolist(),
                    "labels": labels.tolist(),
                    "n_interest": int(hits),
                    "interest_rate": hits / len(labels),
                    "new_classes": [c for c in _unique(labels) if c not in before],
                }
            )
        return pd.DataFrame(rows)
