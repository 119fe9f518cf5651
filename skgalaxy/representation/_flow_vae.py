"""The flow-prior β-VAE: embeddings, reconstructions, new galaxies, ELBO scores."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_array, check_is_fitted

from .._base import PADDED_BATCH, TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from .._device import draw_seed
from .._images import ImageInputMixin
from .._training import TrainingNet, check_filters, keep_state_on_error
from ..nn import rng
from ..nn.vae import FLOWS, FlowVAE

_SCORE_SEED = 0  # fixed noise for score_samples: the same z-noise for every image


class _ELBONet(TrainingNet):
    """skorch net minimising the negative β-ELBO per pixel value.

    β rises linearly from 0 to ``beta`` over the first ``warmup_epochs``.
    """

    def __init__(self, *args, beta=1.0, warmup_epochs=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.warmup_epochs = warmup_epochs

    def current_beta(self):
        epoch = len(self.history)  # 1-based while an epoch runs
        if self.warmup_epochs <= 0:
            return self.beta
        return self.beta * min(1.0, epoch / self.warmup_epochs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        log_likelihood, kl = y_pred
        beta = self.current_beta() if training else self.beta
        n_values = X[0].numel()
        return -(log_likelihood - beta * kl).mean() / n_values


class FlowVAETransformer(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ImageInputMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Beta-VAE whose latent prior is a learnt normalizing flow.

    A convolutional encoder gives the posterior q(z | x) = N(mean, diag(var));
    a mirrored decoder gives the mean of a Gaussian likelihood p(x | z) whose
    per-channel noise scale is learnt; the prior p(z) is a zuko normalizing
    flow trained jointly (the ELBO uses the flow's log-density of the
    encoder's samples). β weighs the KL term and is warmed up from 0.
    Fit it on images scaled to about [0, 1], e.g. by
    :class:`~skgalaxy.preprocessing.ArcsinhScaler`; uint8 input is divided by
    255 internally.

    Read more in the :doc:`User Guide </user_guide/embed>`.

    Parameters
    ----------
    n_components : int, default=16
        Latent dimensions (the width of :meth:`transform`'s output).
    beta : float, default=1.0
        Weight of the KL term.
    kl_warmup_epochs : int, default=5
        Epochs over which β rises linearly from 0 (0: no warm-up).
    flow : {"nsf", "maf"} or None, default="nsf"
        Neural spline flow or masked autoregressive flow prior; None gives the
        plain N(0, I) prior.
    flow_transforms : int, default=3
        Number of transforms (layers) of the flow.
    flow_hidden : int, default=64
        Width of the hidden layers of each flow transform.
    filters : tuple of int, default=(32, 64, 128)
        Encoder channels per stage; the decoder mirrors them.
    batch_size : int, default=64
        Training mini-batch size.
    max_epochs : int, default=10
        Training epochs.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=0.0
        AdamW weight decay.
    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of flat 2-D input.
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the reparameterisation noise.
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

    Examples
    --------
    >>> from skgalaxy.datasets import make_galaxies
    >>> from skgalaxy.representation import FlowVAETransformer
    >>> X, _ = make_galaxies(40, image_size=16, random_state=0, return_X_y=True)
    >>> vae = FlowVAETransformer(n_components=4, filters=(8, 16), max_epochs=2,
    ...                          random_state=0).fit(X)
    >>> vae.transform(X).shape, vae.sample(3, random_state=0).shape
    ((40, 4), (3, 16, 16, 3))
    """

    _parameter_constraints = {
        **TORCH_PARAMETER_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "flow": [StrOptions(set(FLOWS)), None],
        "flow_transforms": [Interval(Integral, 1, None, closed="left")],
        "flow_hidden": [Interval(Integral, 1, None, closed="left")],
        "filters": [tuple, list],
    }

    def __init__(
        self,
        n_components=16,
        beta=1.0,
        kl_warmup_epochs=5,
        flow="nsf",
        flow_transforms=3,
        flow_hidden=64,
        filters=(32, 64, 128),
        batch_size=64,
        max_epochs=10,
        lr=1e-3,
        weight_decay=0.0,
        image_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.flow = flow
        self.flow_transforms = flow_transforms
        self.flow_hidden = flow_hidden
        self.filters = filters
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
            _ELBONet,
            FlowVAE,
            {
                "beta": self.beta,
                "warmup_epochs": self.kl_warmup_epochs,
                "criterion": torch.nn.Identity,  # the loss is the ELBO (get_loss)
                "optimizer": torch.optim.AdamW,
                "optimizer__weight_decay": self.weight_decay,
                "module__in_channels": self.image_shape_[-1],
                "module__image_size": self.image_shape_[:2],
                "module__filters": check_filters(self.filters),
                "module__n_components": self.n_components,
                "module__flow": self.flow,
                "module__flow_transforms": self.flow_transforms,
                "module__flow_hidden": self.flow_hidden,
            },
        )

    @keep_state_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the VAE and its flow prior.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        self : FlowVAETransformer
            The fitted transformer.
        """
        check_filters(self.filters)
        X_t = self._image_batches(X, reset=True, min_samples=2)
        self._fit_net(X_t)
        return self

    _onnx_outputs = {"transform": ["embedding"]}

    def _inference_forward(self, method):
        module = self.net_.module_
        return lambda xb: module.encode(xb)[0]

    def transform(self, X):
        """Posterior means of the latent variables.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), float32
            The posterior mean of each image.
        """
        return self._apply("transform", X).numpy()

    def inverse_transform(self, X):
        """Decode latent vectors into images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent vectors, e.g. from :meth:`transform`.

        Returns
        -------
        images : ndarray
            Mean images of p(x | z), in the layout (4-D or flat), shape and
            dtype family (uint8 or float32) of the data given to ``fit``.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32)
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} latent features, but {type(self).__name__} "
                f"has n_components={self.n_components}."
            )
        decoded = self._infer(self.net_.module_.decode, torch.from_numpy(Z))
        return self._to_images(decoded)

    @validate_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
        prefer_skip_nested_validation=True,
    )
    def sample(self, n_samples=1, random_state=None):
        """Generate new images: base Gaussian -> flow -> decoder.

        Changes nothing: no parameter, no BatchNorm statistic and no global
        random state (the draw uses its own generator, so concurrent calls
        with the same seed give the same images).

        Parameters
        ----------
        n_samples : int, default=1
            Number of images to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; the same seed gives the same images.

        Returns
        -------
        images : ndarray
            In the layout, shape and dtype family of the training data.
        """
        check_is_fitted(self)
        module = self.net_.module_
        with rng.seeded(draw_seed(random_state)):
            z = self._infer(
                lambda idx: module.sample_prior(len(idx)), torch.arange(n_samples)
            )
        return self._to_images(self._infer(module.decode, z))

    @validate_params(
        {
            "n_draws": [Interval(Integral, 1, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def score_samples(self, X, n_draws=8):
        """Evidence lower bound of each image (nats; higher = more typical).

        The ELBO (with β = 1) is averaged over ``n_draws`` posterior samples
        whose noise is fixed, so scores are deterministic and independent of
        the other images in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.
        n_draws : int, default=8
            Posterior samples averaged per image.

        Returns
        -------
        elbo : ndarray of shape (n_samples,), float64
            On the scale the network sees (uint8 input divided by 255).
        """
        check_is_fitted(self)
        X_t = self._image_batches(X, reset=False)
        module = self.net_.module_
        noise = torch.randn(
            n_draws,
            self.n_components,
            generator=torch.Generator().manual_seed(_SCORE_SEED),
        )

        def mean_elbo(xb):
            total = 0.0
            for eps in noise.to(xb.device):
                log_likelihood, kl = module.elbo_terms(xb, eps)
                total = total + (log_likelihood - kl)
            return total / n_draws

        scores = self._infer(mean_elbo, X_t, batch_size=PADDED_BATCH, pad=True)
        return scores.double().numpy()

    def score(self, X, y=None):
        """Mean ELBO of ``X`` (see :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean ELBO in nats.
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
