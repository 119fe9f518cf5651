"""Self-supervised (contrastive) features of galaxy images."""

from numbers import Integral, Real

import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions

from .._base import TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from .._images import ImageInputMixin
from .._training import TrainingNet, check_filters, cosine_schedule, keep_state_on_error
from ..nn.contrastive import ContrastiveNet, nt_xent, vicreg
from ..nn.functional import POOLED_REGIONS


class _ContrastiveLossNet(TrainingNet):
    """skorch net minimising a self-supervised loss of two views' projections."""

    def __init__(self, *args, loss="simclr", temperature=0.2, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss = loss
        self.temperature = temperature

    def get_loss(self, y_pred, y_true, X=None, training=False):
        first, second = y_pred
        if self.loss == "simclr":
            return nt_xent(first, second, self.temperature)
        return vicreg(first, second)


class ContrastiveTransformer(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ImageInputMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Self-supervised galaxy features: a CNN trained on unlabelled images.

    Each training image is seen as two random views — quarter turns and
    mirror images, shifts of a few pixels, zooms of a few percent, a little
    extra PSF blur, noise and a mild per-channel gain: what a survey may do
    to a galaxy without changing what it is — and the encoder learns to map
    both views of an image close together and different images apart
    (SimCLR) or to keep the views alike while every feature varies over the
    batch (VICReg). :meth:`transform` returns the encoder's pooled features.
    A :class:`~skgalaxy.classification.GalaxyCNNClassifier` can start from
    the fitted encoder (its ``encoder`` parameter) and fine-tune it on a few
    labels.

    Read more in the :doc:`User Guide </user_guide/embed>`.

    Parameters
    ----------
    backbone : {"cnn", "d4"}, default="cnn"
        The encoder: the classifier's small CNN, or its D4-equivariant
        version (whose features do not change under turns and mirrors).
    filters : tuple of int or None, default=None
        Channels of the conv blocks (per group element for "d4"). None:
        (32, 64, 128) for "cnn", (8, 16, 32) for "d4"; the same as the
        classifier's, so that it can start from this encoder.
    pooling : {"centre", "mean"}, default="centre"
        How the encoder's last maps become the representation: "centre"
        concatenates their mean over the whole image and over its central
        half (cutouts are centred on their galaxy; the second mean keeps how
        concentrated each feature is), "mean" keeps the first only. Both
        regions are symmetric, so the "d4" encoder stays invariant.
    asymmetry : bool, default=False
        The "cnn" encoder also sees each view minus its 180° rotation about
        the centre, as :class:`~skgalaxy.classification.GalaxyCNNClassifier`
        does with ``asymmetry=True``; a classifier starting from this encoder
        must then see it too. Ignored by "d4".
    projection : int, default=64
        Width of the projection head the loss sees (not returned).
    loss : {"simclr", "vicreg"}, default="simclr"
        The self-supervised objective.
    temperature : float, default=0.2
        SimCLR's softmax temperature.
    max_shift : int, default=4
        Largest shift of a view, in pixels.
    zoom : float, default=0.1
        Largest relative zoom of a view.
    blur : float, default=1.0
        Largest extra Gaussian blur of a view, in pixels.
    noise : float, default=0.02
        Largest standard deviation of the noise added to a view.
    gain : float, default=0.05
        Largest relative brightness change of each channel of a view.
    batch_size : int, default=128
        Images per training batch (each seen as two views).
    max_epochs : int, default=30
        Training epochs.
    lr : float, default=1e-3
        AdamW learning rate, annealed to 0 on a cosine schedule.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat 2-D input.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the views.
    verbose : int, default=0
        0: silent; 1: a progress bar over the training batches with the time
        left; 2 or more: skorch's per-epoch table as well.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; the torch module is ``net_.module_``.
    n_iter_ : int
        Epochs trained.
    input_scale_ : float
        255 when fitted on uint8 images, else 1.
    input_dtype_ : numpy.dtype
        dtype family of the images given to ``fit`` (uint8 or float32).
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.

    See Also
    --------
    skgalaxy.classification.GalaxyCNNClassifier : Fine-tunes this encoder.

    References
    ----------
    .. [1] T. Chen et al., "A Simple Framework for Contrastive Learning of
       Visual Representations", ICML 2020.
    .. [2] A. Bardes, J. Ponce and Y. LeCun, "VICReg", ICLR 2022.

    Examples
    --------
    >>> from skgalaxy.datasets import make_galaxies
    >>> from skgalaxy.representation import ContrastiveTransformer
    >>> X, _ = make_galaxies(40, image_size=16, random_state=0, return_X_y=True)
    >>> ssl = ContrastiveTransformer(filters=(8, 16), max_epochs=2,
    ...                              batch_size=16, random_state=0).fit(X)
    >>> ssl.transform(X).shape
    (40, 32)
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "backbone": [StrOptions({"cnn", "d4"})],
        "filters": [tuple, list, None],
        "pooling": [StrOptions(set(POOLED_REGIONS))],
        "asymmetry": ["boolean"],
        "projection": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"simclr", "vicreg"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "zoom": [Interval(Real, 0, 0.5, closed="left")],
        "blur": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "gain": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        backbone="cnn",
        filters=None,
        pooling="centre",
        asymmetry=False,
        projection=64,
        loss="simclr",
        temperature=0.2,
        max_shift=4,
        zoom=0.1,
        blur=1.0,
        noise=0.02,
        gain=0.05,
        batch_size=128,
        max_epochs=30,
        lr=1e-3,
        weight_decay=1e-4,
        image_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.filters = filters
        self.pooling = pooling
        self.asymmetry = asymmetry
        self.projection = projection
        self.loss = loss
        self.temperature = temperature
        self.max_shift = max_shift
        self.zoom = zoom
        self.blur = blur
        self.noise = noise
        self.gain = gain
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _filters(self):
        if self.filters is None:
            return (32, 64, 128) if self.backbone == "cnn" else (8, 16, 32)
        return check_filters(self.filters)

    def _net_spec(self):
        views = {
            "max_shift": self.max_shift,
            "zoom": self.zoom,
            "blur": self.blur,
            "noise": self.noise,
            "gain": self.gain,
        }
        return (
            _ContrastiveLossNet,
            ContrastiveNet,
            {
                "loss": self.loss,
                "temperature": self.temperature,
                "criterion": torch.nn.Identity,  # the loss is in get_loss
                "optimizer": torch.optim.AdamW,
                "optimizer__weight_decay": self.weight_decay,
                "callbacks": [("lr_schedule", cosine_schedule(self.max_epochs))],
                "module__in_channels": self.image_shape_[-1],
                "module__backbone": self.backbone,
                "module__filters": self._filters(),
                "module__pooling": self.pooling,
                "module__projection": self.projection,
                "module__views": views,
                "module__asymmetry": self.asymmetry,
            },
        )

    @keep_state_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the encoder on unlabelled images.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Training images; lazily read sources (H5Images, dask) stream.
        y : None
            Ignored.

        Returns
        -------
        self : ContrastiveTransformer
            The fitted transformer.
        """
        self._filters()
        X_t = self._image_batches(X, reset=True, min_samples=2)
        self._fit_net(X_t)
        return self

    _onnx_outputs = {"transform": ["embedding"]}

    def _inference_forward(self, method):
        return self.net_.module_.encode

    def transform(self, X):
        """The encoder's pooled features.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), float32
            The representation of each image: ``2 * filters[-1]`` values
            with ``pooling="centre"`` (the whole image's means first), else
            ``filters[-1]``.
        """
        return self._apply("transform", X).numpy()

    @property
    def _n_features_out(self):
        return POOLED_REGIONS[self.pooling] * self._filters()[-1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
