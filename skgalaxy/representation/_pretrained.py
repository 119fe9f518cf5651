"""Features of a pretrained encoder (Zoobot's, any timm model or torch module)."""

import os
import warnings
from numbers import Integral

import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from .._base import TORCH_PARAMETER_CONSTRAINTS, TorchEstimatorMixin
from .._images import ImageInputMixin
from .._training import TrainingNet
from ..nn.pretrained import (
    PretrainedEncoderNet,
    load_encoder_weights,
    read_state_dict,
    timm_encoder,
)


class PretrainedEncoder(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ImageInputMixin,
    TorchEstimatorMixin,
    BaseEstimator,
):
    """Galaxy features from a pretrained encoder, with its weights from a file.

    Wraps a timm architecture (Zoobot publishes its galaxy encoders as timm
    ConvNeXt, EfficientNet and ResNet models) or any ``torch.nn.Module``
    that maps image batches to features. Images are prepared as Zoobot
    prepares them: scaled to [0, 1] (uint8 divided by 255), resized to
    ``image_size``, averaged to one channel for a greyscale encoder, and not
    normalised. ``fit`` trains nothing: it loads the weights, so the
    transformer fits in pipelines, grid searches and model files. Pass it as
    ``encoder`` of :class:`~skgalaxy.classification.GalaxyCNNClassifier` to
    fine-tune it.

    Read more in the :doc:`User Guide </user_guide/embed>`.

    Parameters
    ----------
    encoder : str or torch.nn.Module, default="convnext_nano"
        A timm architecture name (needs ``pip install "skgalaxy[pretrained]"``),
        built as a pooled encoder (``num_classes=0``), or a module whose
        output is features ``(n, d)`` or feature maps (averaged over the
        image). A module keeps its own weights unless ``weights`` is given;
        a model holding one cannot be saved with
        :func:`~skgalaxy.io.save_model` (a timm name can).
    weights : str or path-like, default=None
        A ``.safetensors`` file or a torch checkpoint (``.pt``, ``.pth``,
        ``.ckpt``, ``.bin``; read with ``weights_only=True``, no code run)
        holding the encoder's state dict; a Lightning checkpoint's
        ``state_dict`` is used, and a prefix such as Zoobot's ``encoder.``
        is dropped. Read at ``fit``.
    pretrained : bool, default=False
        Let timm download the architecture's published weights (or a hub
        name's, e.g. ``"hf_hub:mwalmsley/zoobot-encoder-convnext_nano"``);
        needs a network. Ignored when ``weights`` is given.
    in_chans : int, default=None
        Channels the encoder takes; None: the images'. Colour images given
        to a one-channel encoder (Zoobot's greyscale models) are averaged.
    image_size : int, default=224
        Side the images are resized to (Zoobot's encoders saw 224 pixels).
    batch_size : int, default=64
        Images per forward pass.
    image_shape : tuple of int, default=None
        ``(H, W, C)`` of flat input rows; None infers it.
    device : str or torch.device, default="auto"
        "auto" picks CUDA when available, then Apple's MPS, else the CPU.
    verbose : int, default=0
        Unused (nothing is trained); kept for the shared parameters.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The encoder (``net_.module_.encoder``) behind its input preparation.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of input features (pixels times channels).
    n_features_out_ : int
        Width of the features :meth:`transform` returns.

    See Also
    --------
    skgalaxy.representation.ContrastiveTransformer : An encoder trained on
        your own unlabelled images.

    References
    ----------
    .. [1] M. Walmsley et al., "Scaling Laws for Galaxy Images",
       arXiv:2404.02973 (2024).

    Examples
    --------
    >>> import torch
    >>> from skgalaxy.datasets import make_galaxies
    >>> from skgalaxy.representation import PretrainedEncoder
    >>> X, _ = make_galaxies(8, image_size=16, random_state=0, return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    >>> encoder = PretrainedEncoder(net, image_size=32).fit(X)
    >>> encoder.transform(X).shape
    (8, 4)
    """

    _parameter_constraints = {
        "encoder": [str, HasMethods(["forward", "state_dict"])],
        "weights": [str, os.PathLike, None],
        "pretrained": ["boolean"],
        "in_chans": [Interval(Integral, 1, None, closed="left"), None],
        "image_size": [Interval(Integral, 8, None, closed="left")],
        **{
            k: TORCH_PARAMETER_CONSTRAINTS[k]
            for k in ("batch_size", "image_shape", "device", "verbose")
        },
    }

    def __init__(
        self,
        encoder="convnext_nano",
        weights=None,
        pretrained=False,
        in_chans=None,
        image_size=224,
        batch_size=64,
        image_shape=None,
        device="auto",
        verbose=0,
    ):
        self.encoder = encoder
        self.weights = weights
        self.pretrained = pretrained
        self.in_chans = in_chans
        self.image_size = image_size
        self.batch_size = batch_size
        self.image_shape = image_shape
        self.device = device
        self.verbose = verbose

    def _in_chans(self):
        return self.in_chans or self.image_shape_[-1]

    def _net_spec(self):
        return (
            TrainingNet,
            PretrainedEncoderNet,
            {
                "criterion": torch.nn.MSELoss,  # never trained
                "module__encoder": self.encoder,
                "module__in_chans": self._in_chans(),
                "module__image_size": self.image_size,
            },
        )

    def pretrained_state(self, in_chans):
        """The encoder's pretrained state dict for ``in_chans`` channels, or None.

        From the fitted encoder, else the ``weights`` file, else timm's
        download (``pretrained=True``), else a given module's own weights;
        None for a timm architecture with none of these (random weights).

        Parameters
        ----------
        in_chans : int
            The number of input channels the encoder is built for.

        Returns
        -------
        state_dict : dict or None
            Parameter names to tensors, or None for random weights.
        """
        if hasattr(self, "net_"):
            return self.net_.module_.encoder.state_dict()
        if self.weights is not None:
            return read_state_dict(self.weights)
        if isinstance(self.encoder, str):
            if self.pretrained:
                downloaded = timm_encoder(self.encoder, in_chans, pretrained=True)
                return downloaded.state_dict()
            warnings.warn(
                f"PretrainedEncoder({self.encoder!r}) has no weights (weights=None, "
                "pretrained=False): its features come from random weights.",
                UserWarning,
                stacklevel=3,
            )
            return None
        return self.encoder.state_dict()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the encoder and load its weights; nothing is trained.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images (uint8 or float in [0, 1], e.g. ArcsinhScaler's output);
            only their layout is used.
        y : None
            Ignored.

        Returns
        -------
        self : PretrainedEncoder
            The fitted transformer.
        """
        for attribute in ("net_", "n_features_out_"):
            self.__dict__.pop(attribute, None)
        self._image_batches(X, reset=True)
        net = self._make_net(self._fit_device())
        net.initialize()
        state = self.pretrained_state(self._in_chans())
        if state is not None:
            source = self.weights if self.weights is not None else "the weights"
            load_encoder_weights(net.module_.encoder, state, source=str(source))
        net.module_.eval()
        self.net_ = net
        self.n_features_out_ = net.module_.num_features
        return self

    _onnx_outputs = {"transform": ["features"]}

    def _inference_forward(self, method):
        return self.net_.module_

    def transform(self, X):
        """The encoder's pooled features of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H * W * C)
            Images in the layout given to ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features), float32
            The encoder's pooled features.
        """
        return self._apply("transform", X, batch_size=self.batch_size).numpy()

    @property
    def _n_features_out(self):
        check_is_fitted(self)
        return self.n_features_out_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags
