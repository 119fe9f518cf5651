"""Galaxy morphology classification."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
)
from skorch.dataset import ValidSplit

from ._base import TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from ._device import draw_seed
from ._images import ImageInputMixin
from ._training import (
    EarlyStopping,
    TrainingNet,
    check_filters,
    cosine_schedule,
    keep_state_on_error,
)
from .nn.augment import dihedral, dihedral_transforms
from .nn.classifier import GalaxyCNN, LogitAdjustedCrossEntropy, load_features
from .nn.equivariant import D4CNN
from .nn.functional import POOLED_REGIONS
from .nn.pretrained import PretrainedClassifierNet, load_encoder_weights

__all__ = ["GalaxyCNNClassifier"]

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}


def _class_weights(class_weight, classes, y_indices):
    """Per-class loss weights as a float32 tensor, or None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        unknown = set(class_weight) - set(classes.tolist())
        if unknown:
            raise ValueError(f"class_weight names classes not in y: {sorted(unknown)}.")
        weights = np.array([class_weight.get(c, 1.0) for c in classes.tolist()])
        if (
            weights.dtype.kind not in "iuf"
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or not (weights > 0).any()
        ):
            raise ValueError(
                "class_weight values must be finite, non-negative numbers with at "
                f"least one positive; got {class_weight!r}."
            )
    else:
        weights = compute_class_weight(
            "balanced", classes=np.arange(len(classes)), y=y_indices
        )
        if class_weight == "balanced_sqrt":
            weights = np.sqrt(weights)
    return torch.as_tensor(weights / weights.mean(), dtype=torch.float32)


class GalaxyCNNClassifier(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClassifierMixin,
    ImageInputMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Convolutional classifier of galaxy morphologies.

    A small CNN (3x3 kernels, 32 -> 64 -> 128 filters in Conv -> BatchNorm ->
    ReLU -> MaxPool blocks that see each image beside its difference from
    its 180° rotation, the maps averaged over the image and over its
    central half instead of a flattened dense head, dropout, L2 weight decay,
    label smoothing, input noise), trained with random dihedral transforms
    and shifts, a cosine learning-rate schedule and logit adjustment for rare
    classes, and predicting with test-time augmentation. Wraps a skorch ``NeuralNet``.

    Read more in the :doc:`User Guide </user_guide/classify>`.

    Parameters
    ----------
    backbone : {"cnn", "d4"}, default="cnn"
        ``"cnn"``: the small CNN above. ``"d4"``: a D4-equivariant CNN
        (:class:`~skgalaxy.nn.equivariant.D4CNN`) whose embedding is exactly
        the same for the eight quarter turns and mirror images of an image,
        so neither dihedral augmentation nor test-time augmentation is needed
        (``tta`` and ``flips`` are not used); it cannot tell mirror-image
        classes apart (clockwise vs anticlockwise spirals).
    filters : tuple of int or None, default=None
        Output channels of the conv blocks (each halves the image size);
        for ``"d4"`` the channels per group element (the feature maps hold
        eight times as many). None: (32, 64, 128) for ``"cnn"``, (8, 16, 32)
        for ``"d4"``.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    convs_per_block : int, default=1
        Conv -> BatchNorm -> ReLU layers before each max-pool (``"cnn"``).
    asymmetry : bool, default=True
        Give the ``"cnn"`` backbone, beside each channel, the image minus
        its 180° rotation about the centre: the residual whose sum is the
        rotational asymmetry astronomers measure mergers by (tidal tails,
        second nuclei). A convolution cannot compute it (it compares pixels
        half an image apart), so it is given; it needs cutouts centred on
        their galaxy. The ``"d4"`` backbone does not use it.
    pooling : {"centre", "mean"}, default="centre"
        How the last conv maps reach the dense layer: "centre" averages them
        over the image and over its central half and concatenates both
        (cutouts are centred on their galaxy; the second mean keeps how
        concentrated each feature is); "mean" keeps the first only, for
        images not centred on their object. Both keep the "d4" backbone
        invariant.
    encoder : ContrastiveTransformer, PretrainedEncoder, FrozenEstimator of \
            one, or None, default=None
        Where training starts, then fine-tuned with the rest. A fitted
        :class:`~skgalaxy.representation.ContrastiveTransformer` gives its
        convolutions (a user with many unlabelled and few labelled galaxies
        pretrains on the former); its backbone and filters must be this
        classifier's (and ``kernel_size=3``, ``convs_per_block=1``). A
        :class:`~skgalaxy.representation.PretrainedEncoder` (fitted or not)
        replaces the CNN by its network with its weights, e.g. a Zoobot
        encoder from a local file: ``backbone``, ``filters``,
        ``kernel_size``, ``convs_per_block``, ``asymmetry`` and ``pooling``
        are then not used. Wrap a fitted encoder in
        :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` (and so
        ``GridSearchCV``) keeps it fitted.

        .. versionchanged:: 0.2
           Takes a ``PretrainedEncoder``.
    dense_units : int, default=128
        Width of the dense layer, whose output :meth:`transform` returns.
    dropout : float, default=0.3
        Dropout before and after the dense layer.
    weight_decay : float, default=5e-4
        L2 penalty (decoupled for ``optimizer="adamw"``).
    label_smoothing : float, default=0.1
        Weight of the uniform distribution mixed into the one-hot targets
        (with ``logit_adjustment``, of the adjusted class frequencies).
    input_noise : float, default=0.02
        Standard deviation of Gaussian noise added to training inputs.
    augment : bool, default=True
        Random quarter turns, mirror images (see ``flips``) and shifts in
        training.
    flips : bool, default=True
        Allow mirror images in augmentation and test-time augmentation; turn
        off when mirror-image classes differ (clockwise vs anticlockwise).
    max_shift : int, default=4
        Largest random shift in pixels when ``augment``.
    tta : bool, default=True
        Average class probabilities over the dihedral transforms at predict
        time.
    class_weight : {"balanced", "balanced_sqrt"}, dict or None, \
            default=None
        Loss weight per class: inverse frequency, its square root (inverse
        frequency over-corrects on very imbalanced data), a dict ``{label:
        weight}``, or None for equal weights (the default: rare classes are
        handled by ``logit_adjustment``).
    logit_adjustment : float, default=0.75
        Train on logits plus this times the log class frequencies (logit
        adjustment, Menon et al. 2021) and predict without them: rare classes
        are predicted more often; 1 aims at the balanced error, 0 turns it
        off. Meant for ``class_weight=None``. Label smoothing then goes
        towards the class frequencies raised to this power (see
        :class:`~skgalaxy.nn.classifier.LogitAdjustedCrossEntropy`), which is
        uniform once the adjustment is removed at prediction.
    batch_size : int, default=64
        Training mini-batch size.
    max_epochs : int, default=30
        Training epochs (fewer with early stopping).
    lr : float, default=2e-3
        Learning rate at the start of the schedule.
    optimizer : {"adamw", "adam", "sgd"}, default="adamw"
        The optimiser: AdamW (decoupled ``weight_decay``), Adam (L2 penalty
        in the gradient) or SGD with Nesterov momentum 0.9.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        Cosine annealing over ``max_epochs``, or a constant rate.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop when
        its loss has not improved for ``patience`` epochs and restore the best
        weights.
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping``.
    patience : int, default=5
        Epochs without improvement of the validation loss before stopping.
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat 2-D input.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, augmentation and the validation split.
    verbose : int, default=0
        0: silent; 1: a progress bar over the training batches with the time
        left; 2 or more: skorch's per-epoch table as well.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of ``predict_proba``'s columns.
    net_ : skorch.NeuralNet
        The trained net; its module is ``net_.module_``.
    n_iter_ : int
        Epochs trained.
    class_weight_ : ndarray of shape (n_classes,) or None
        The loss weight of each class of ``classes_`` (mean 1).
    class_prior_ : ndarray of shape (n_classes,)
        Frequency of each class of ``classes_`` in the training labels.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.
    input_scale_ : float
        255 when fitted on uint8 images, else 1.
    input_dtype_ : numpy.dtype
        dtype family of the training images (uint8 or float32).
    feature_names_in_ : ndarray of str
        Present when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> from skgalaxy.classification import GalaxyCNNClassifier
    >>> from skgalaxy.datasets import make_galaxies
    >>> X, y = make_galaxies(60, image_size=16, classes=[2, 8], random_state=0,
    ...                      return_X_y=True)
    >>> clf = GalaxyCNNClassifier(filters=(8, 16), dense_units=16, max_epochs=2,
    ...                           random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape, clf.transform(X[:3]).shape
    ((3, 2), (3, 16))
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "backbone": [StrOptions({"cnn", "d4"})],
        "pooling": [StrOptions(set(POOLED_REGIONS))],
        "filters": [tuple, list, None],
        "encoder": [HasMethods(["transform"]), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "convs_per_block": [Interval(Integral, 1, None, closed="left")],
        "asymmetry": ["boolean"],
        "dense_units": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "augment": ["boolean"],
        "flips": ["boolean"],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "tta": ["boolean"],
        "class_weight": [StrOptions({"balanced", "balanced_sqrt"}), dict, None],
        "logit_adjustment": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        backbone="cnn",
        filters=None,
        kernel_size=3,
        convs_per_block=1,
        asymmetry=True,
        pooling="centre",
        encoder=None,
        dense_units=128,
        dropout=0.3,
        weight_decay=5e-4,
        label_smoothing=0.1,
        input_noise=0.02,
        augment=True,
        flips=True,
        max_shift=4,
        tta=True,
        class_weight=None,
        logit_adjustment=0.75,
        batch_size=64,
        max_epochs=30,
        lr=2e-3,
        optimizer="adamw",
        lr_schedule="cosine",
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        image_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.filters = filters
        self.kernel_size = kernel_size
        self.convs_per_block = convs_per_block
        self.asymmetry = asymmetry
        self.pooling = pooling
        self.encoder = encoder
        self.dense_units = dense_units
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.input_noise = input_noise
        self.augment = augment
        self.flips = flips
        self.max_shift = max_shift
        self.tta = tta
        self.class_weight = class_weight
        self.logit_adjustment = logit_adjustment
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _validate_targets(self, X, y):
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        if y.dtype == object and any(v is None for v in y):
            raise ValueError(
                "y contains None: every training image needs a class label."
            )
        check_classification_targets(y)
        self.classes_, y_indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; y has "
                f"1 class: {self.classes_[0]!r}."
            )
        return y_indices.astype(np.int64)

    def _callbacks(self):
        callbacks = []
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", cosine_schedule(self.max_epochs)))
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.patience,
                        load_best=True,
                        sink=print if self.verbose else (lambda *a: None),
                    ),
                )
            )
        return callbacks

    def _net_spec(self):
        optimizer, optimizer_args = _OPTIMIZERS[self.optimizer]
        weights = self.class_weight_
        module = {
            "in_channels": self.image_shape_[-1],
            "n_classes": len(self.classes_),
            "filters": self._filters(),
            "kernel_size": self.kernel_size,
            "pooling": self.pooling,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "augment": self.augment,
            "max_shift": self.max_shift if self.augment else 0,
            "input_noise": self.input_noise,
        }
        network = GalaxyCNN if self.backbone == "cnn" else D4CNN
        pretrained = self._pretrained_encoder()
        if pretrained is not None:
            network = PretrainedClassifierNet
            for name in ("in_channels", "filters", "kernel_size", "pooling"):
                del module[name]
            module.update(
                encoder=pretrained.encoder,
                in_chans=pretrained.in_chans or self.image_shape_[-1],
                image_size=pretrained.image_size,
                flips=self.flips,
            )
        elif self.backbone == "cnn":
            module.update(
                convs_per_block=self.convs_per_block,
                flips=self.flips,
                asymmetry=self.asymmetry,
            )
        criterion = {
            "criterion": torch.nn.CrossEntropyLoss,
            "criterion__weight": None if weights is None else torch.as_tensor(weights),
            "criterion__label_smoothing": self.label_smoothing,
        }
        if self.logit_adjustment > 0:
            criterion.update(
                criterion=LogitAdjustedCrossEntropy,
                criterion__log_prior=np.log(self.class_prior_),
                criterion__tau=self.logit_adjustment,
            )
        return (
            TrainingNet,
            network,
            {
                **criterion,
                "optimizer": optimizer,
                "optimizer__weight_decay": self.weight_decay,
                **{f"optimizer__{k}": v for k, v in optimizer_args.items()},
                **{f"module__{k}": v for k, v in module.items()},
            },
        )

    def _filters(self):
        if self.filters is None:
            return (32, 64, 128) if self.backbone == "cnn" else (8, 16, 32)
        return check_filters(self.filters)

    def _pretrained_encoder(self):
        """``encoder`` when it is a PretrainedEncoder (or a frozen one), else None."""
        encoder = getattr(self.encoder, "estimator", self.encoder)  # FrozenEstimator
        return encoder if hasattr(encoder, "pretrained_state") else None

    def _start_from_encoder(self):
        """``prepare(net)`` loading ``encoder``'s weights (checked to fit), or None."""
        if self.encoder is None:
            return None
        pretrained = self._pretrained_encoder()
        if pretrained is not None:
            in_chans = pretrained.in_chans or self.image_shape_[-1]
            state = pretrained.pretrained_state(in_chans)
            if state is None:
                return None
            return lambda net: load_encoder_weights(
                net.module_.backbone.encoder, state, source=str(pretrained.weights)
            )
        state = self._contrastive_features()
        return lambda net: load_features(net.module_.features, state)

    def _contrastive_features(self):
        """The conv weights of a ContrastiveTransformer ``encoder``, checked."""
        encoder = getattr(self.encoder, "estimator", self.encoder)  # FrozenEstimator
        if not hasattr(encoder, "net_") or not hasattr(encoder, "_filters"):
            raise ValueError(
                "encoder must be a fitted ContrastiveTransformer or a "
                "PretrainedEncoder; wrap a fitted one in "
                "sklearn.frozen.FrozenEstimator so that clone keeps it fitted."
            )
        wanted = (self.backbone, self._filters(), self.image_shape_[-1])
        given = (encoder.backbone, encoder._filters(), encoder.image_shape_[-1])
        plain = (self.kernel_size, self.convs_per_block) == (3, 1)
        if given != wanted or not plain:
            raise ValueError(
                f"The encoder (backbone, filters, channels) = {given} does not fit "
                f"this classifier's {wanted} with kernel_size=3 and "
                "convs_per_block=1."
            )
        if encoder.backbone == "cnn" and encoder.asymmetry and not self.asymmetry:
            raise ValueError(
                "The encoder sees asymmetry channels (asymmetry=True); so must "
                "this classifier: set asymmetry=True."
            )
        return encoder.net_.module_.encoder.features.state_dict()

    def _train_split(self, y_indices, seed):
        """skorch's stratified ``ValidSplit`` when early stopping, else None."""
        if not self.early_stopping:
            return None
        n_classes = len(self.classes_)
        n_valid = int(np.ceil(self.validation_fraction * len(y_indices)))
        smallest = np.bincount(y_indices).min()
        if smallest < 2 or not n_classes <= n_valid <= len(y_indices) - n_classes:
            raise ValueError(
                f"Cannot hold out validation_fraction={self.validation_fraction} "
                f"of {len(y_indices)} images with every one of the {n_classes} "
                f"classes in both parts (the smallest class has {smallest} "
                "images); use more data, another fraction or early_stopping=False."
            )
        return ValidSplit(self.validation_fraction, stratified=True, random_state=seed)

    @keep_state_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the CNN.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images: uint8 (divided by 255) or float, e.g. the output of
            :class:`~skgalaxy.preprocessing.ArcsinhScaler`.
        y : array-like of shape (n_samples,)
            Class labels of any type.

        Returns
        -------
        self : GalaxyCNNClassifier
            The fitted classifier.
        """
        self._filters()
        images = self._image_batches(X, reset=True)
        prepare = self._start_from_encoder()
        y_indices = self._validate_targets(images, y)
        seed = draw_seed(self.random_state)
        weights = _class_weights(self.class_weight, self.classes_, y_indices)
        self.class_weight_ = None if weights is None else weights.numpy()
        self.class_prior_ = np.bincount(y_indices) / len(y_indices)
        self._fit_net(
            images,
            torch.from_numpy(y_indices),
            seed=seed,
            train_split=self._train_split(y_indices, seed),
            callbacks=self._callbacks(),
            prepare=prepare,
        )
        return self

    _onnx_outputs = {"predict_proba": ["proba"], "transform": ["embedding"]}

    def _inference_forward(self, method):
        module = self.net_.module_
        if method == "transform":
            return module.embed
        height, width = self.image_shape_[:2]
        transforms = (
            dihedral_transforms(height == width, self.flips)
            if self.tta
            and (self.backbone == "cnn" or self._pretrained_encoder() is not None)
            else [0]  # the D4 network is invariant already
        )

        def averaged_softmax(xb):
            proba = sum(module(dihedral(xb, k)).softmax(dim=1) for k in transforms)
            return proba / proba.sum(dim=1, keepdim=True)

        return averaged_softmax

    def predict_proba(self, X):
        """Class probabilities, averaged over dihedral transforms when ``tta``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Columns follow ``classes_``; rows sum to 1.
        """
        proba = self._apply("predict_proba", X).double().numpy()
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class of highest probability, from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def transform(self, X):
        """Embed images with the penultimate (dense) layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        embedding : ndarray of shape (n_samples, dense_units), float32
            The activations of the dense layer.
        """
        return self._apply("transform", X).numpy()

    def fit_transform(self, X, y, **fit_params):
        """Fit, then embed ``X`` (see :meth:`transform`).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Training images.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to :meth:`fit`.

        Returns
        -------
        embedding : ndarray of shape (n_samples, dense_units), float32
            The activations of the dense layer.
        """
        return self.fit(X, y, **fit_params).transform(X)

    @property
    def _n_features_out(self):
        return self.dense_units

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
