"""Convolutional autoencoder anomaly detector."""

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
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import PADDED_BATCH, TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from .._device import draw_seed
from .._images import ImageInputMixin
from .._training import TrainingNet, check_filters, cosine_schedule, keep_state_on_error
from ..nn.autoencoder import ConvAutoencoder
from ..nn.functional import gaussian_blur
from ._base import CONTAMINATION_CONSTRAINT, OutlierScoresMixin

__all__ = ["CAEAnomalyDetector"]


class _ReconstructionNet(TrainingNet):
    """skorch net minimising the mean squared error of (reconstruction, target)."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, target = y_pred
        return torch.nn.functional.mse_loss(reconstruction, target)


class CAEAnomalyDetector(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    OutlierScoresMixin,
    OutlierMixin,
    ImageInputMixin,
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
        decoder reproduces well but whose codes are rare. Neither alone is
        best on every kind of anomaly (on real mergers the latent term ranks
        better, on satellite trails the residual), so the default uses both.
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

    Read more in the :doc:`User Guide </user_guide/anomalies>`.

    Parameters
    ----------
    n_components : int, default=8
        Width of the bottleneck: narrow, so that what normal galaxies do not
        share cannot pass through it.
    filters : tuple of int, default=(16, 32, 64)
        Encoder channels per stage (each halves the image); the decoder
        mirrors them.
    measure : {"combined", "latent", "smoothed", "mse"}, default="combined"
        The anomaly measure, see above. (Not called ``score``: that name is
        the estimator method scikit-learn looks for.)
    latent_components : int, default=8
        Gaussian mixture components of the latent density (at most the number
        of training images).
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
        Training mini-batch size.
    max_epochs : int, default=20
        Training epochs.
    lr : float, default=2e-3
        AdamW learning rate, annealed to 0 on a cosine schedule.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat 2-D input.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, augmentation and the latent mixture.
    verbose : int, default=0
        0: silent; 1: a progress bar over the training batches with the time
        left; 2 or more: skorch's per-epoch table as well.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; the torch module is ``net_.module_``.
    n_iter_ : int
        Epochs trained.
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
        dtype family of the images given to ``fit`` (uint8 or float32).
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.
    input_ndim_ : int
        4 if fitted on NHWC images, 2 if fitted on flat rows.
    n_features_in_ : int
        Number of values per image.

    See Also
    --------
    sklearn.ensemble.IsolationForest : A tree-based outlier detector.

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

    def _net_spec(self):
        return (
            _ReconstructionNet,
            ConvAutoencoder,
            {
                "criterion": torch.nn.Identity,  # the loss is in get_loss
                "optimizer": torch.optim.AdamW,
                "optimizer__weight_decay": self.weight_decay,
                "callbacks": [("lr_schedule", cosine_schedule(self.max_epochs))],
                "module__in_channels": self.image_shape_[-1],
                "module__image_size": self.image_shape_[:2],
                "module__filters": check_filters(self.filters),
                "module__n_components": self.n_components,
                "module__augment": self.augment,
            },
        )

    @keep_state_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on (mostly) normal images and set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Training images, mostly normal.
        y : None
            Ignored.

        Returns
        -------
        self : CAEAnomalyDetector
            The fitted detector.
        """
        check_filters(self.filters)
        X_t = self._image_batches(X, reset=True, min_samples=2)
        self._fit_net(X_t)
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

    _onnx_outputs = {
        "score_terms": ["mse", "smoothed", "codes"],
        "transform": ["codes"],
    }

    def _inference_forward(self, method):
        module = self.net_.module_
        if method == "transform":
            return module.encode
        sigma = self.smoothing

        def score_terms(xb):
            codes = module.encode(xb)
            residual = xb - module.decode(codes)
            smoothed = gaussian_blur(residual, sigma)
            return (
                (residual**2).mean(dim=(1, 2, 3)),
                (smoothed**2).mean(dim=(1, 2, 3)),
                codes,
            )

        return score_terms

    def _score_terms(self, X_t):
        """Per-image squared residuals and codes, as float64 arrays."""
        terms = self._infer(
            self._inference_forward("score_terms"),
            X_t,
            batch_size=PADDED_BATCH,
            pad=True,
        )
        return {
            name: out.double().numpy()
            for name, out in zip(self._onnx_outputs["score_terms"], terms)
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

    def score_samples(self, X):
        """Normality of each image (higher = more normal), per ``measure``.

        Deterministic, and independent of the other images in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
            Higher for images more like the training images.
        """
        check_is_fitted(self)
        terms = self._score_terms(self._image_batches(X, reset=False))
        return self._score_from_terms(terms)

    def reconstruct(self, X):
        """The autoencoder's reconstruction of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        images : ndarray
            In the layout (4-D or flat), shape and dtype family (uint8 or
            float32) of the data given to ``fit``.
        """
        check_is_fitted(self)
        module = self.net_.module_
        X_t = self._image_batches(X, reset=False)
        return self._to_images(
            self._infer(lambda xb: module.decode(module.encode(xb)), X_t)
        )

    def transform(self, X):
        """The bottleneck codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components), float32
            The encoder's output for each image.
        """
        return self._apply("transform", X).numpy()

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
