"""Pretrained image encoders: timm architectures or any module, with local weights.

A galaxy encoder published by Zoobot is a timm model built with
``num_classes=0`` (its pooled features), fed images scaled to [0, 1] and
resized to 224 pixels, without ImageNet normalisation.
"""

import copy
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .augment import Augment
from .classifier import PooledClassifier

#: Key prefixes a checkpoint may put before an encoder's own names: Zoobot's
#: Lightning modules (``encoder.``), wrappers (``model.``) and DataParallel.
CHECKPOINT_PREFIXES = ("encoder.", "model.", "module.")
#: Suffixes of the checkpoint files read with ``torch.load(weights_only=True)``.
TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


def timm_encoder(architecture, in_chans, pretrained=False):
    """A timm model's pooled encoder (``num_classes=0``).

    ``pretrained=True`` lets timm fetch its weights (a hub name such as
    ``"hf_hub:mwalmsley/zoobot-encoder-convnext_nano"`` needs a network).
    """
    try:
        import timm
    except ImportError as exc:
        raise ImportError(
            f"The encoder {architecture!r} is a timm architecture: pip install "
            "'skgalaxy[pretrained]' (timm, with a torchvision that matches torch)."
        ) from exc
    try:
        return timm.create_model(
            architecture, pretrained=pretrained, num_classes=0, in_chans=in_chans
        )
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise ValueError(
                f"timm has no architecture {architecture!r} (see timm.list_models)."
            ) from exc
        raise


def read_state_dict(path):
    """The tensors of a ``.safetensors`` file or a torch checkpoint, no code run.

    Torch checkpoints are read with ``weights_only=True``; a Lightning
    checkpoint's ``state_dict`` is taken.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {path}.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(path, device="cpu")
        except Exception as exc:  # safetensors raises its own error types
            raise ValueError(f"Cannot read {path} as safetensors: {exc}") from exc
    if path.suffix not in TORCH_SUFFIXES:
        raise ValueError(
            f"{path}: weights come as .safetensors or a torch checkpoint "
            f"({', '.join(TORCH_SUFFIXES)})."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors of every kind
        raise ValueError(
            f"Cannot read {path} as a torch checkpoint of plain tensors: {exc}"
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"{path} holds no state dict of tensors.")
    return state


def load_encoder_weights(encoder, state, source="the weights"):
    """Load ``state`` into ``encoder``, dropping a checkpoint's key prefix.

    Keys a classification head of the checkpoint adds (absent from a pooled
    encoder) are ignored; any of the encoder's own keys missing, or a shape
    that differs, is an error naming them.
    """
    own = encoder.state_dict()
    for prefix in CHECKPOINT_PREFIXES:
        if not own.keys() & state.keys() and any(k.startswith(prefix) for k in state):
            state = {
                k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)
            }
    missing = [k for k in own if k not in state]
    if missing:
        raise ValueError(
            f"{source} lack {len(missing)} of the encoder's {len(own)} tensors "
            f"(first: {missing[:3]}): not weights of this architecture."
        )
    wrong = [k for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        name = wrong[0]
        raise ValueError(
            f"{source} give {name} the shape {tuple(state[name].shape)}, the "
            f"encoder has {tuple(own[name].shape)} (another in_chans or size?)."
        )
    encoder.load_state_dict({k: state[k] for k in own})


class EncoderInput(nn.Module):
    """Images as an encoder expects them: its number of channels, its side.

    Colour images given to a one-channel encoder are averaged (Zoobot's
    greyscale models); one-channel images given to a colour encoder are
    repeated. Inputs are resized (bilinear, antialiased) to ``image_size``.
    """

    def __init__(self, in_chans, image_size):
        super().__init__()
        self.in_chans = in_chans
        self.image_size = image_size

    def forward(self, x):
        channels = x.shape[1]
        if self.in_chans == 1 and channels > 1:
            x = x.mean(dim=1, keepdim=True)
        elif channels == 1 and self.in_chans > 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        if tuple(x.shape[2:]) != (self.image_size, self.image_size):
            x = F.interpolate(
                x, size=(self.image_size,) * 2, mode="bilinear", antialias=True
            )
        return x


def _pooled(features):
    """``(n, d)`` features of an encoder that returns maps or a tuple."""
    if isinstance(features, (tuple, list)):
        features = features[-1]
    if features.ndim == 4:
        features = features.mean(dim=(2, 3))
    return features.flatten(1)


class PretrainedEncoderNet(nn.Module):
    """A pretrained encoder behind :class:`EncoderInput`: images to features.

    Parameters
    ----------
    encoder : str or torch.nn.Module
        A timm architecture name (built with random weights; load them with
        :func:`load_encoder_weights`) or a module, which is copied.
    in_chans : int
        Channels the encoder takes.
    image_size : int
        Side the images are resized to.
    """

    def __init__(self, encoder="convnext_nano", in_chans=3, image_size=224):
        super().__init__()
        self.input = EncoderInput(in_chans, image_size)
        self.encoder = (
            timm_encoder(encoder, in_chans)
            if isinstance(encoder, str)
            else copy.deepcopy(encoder)
        )

    @property
    def num_features(self):
        """Width of the features (a forward pass of zeros where not declared)."""
        declared = getattr(self.encoder, "num_features", None)
        if isinstance(declared, int):
            return declared
        side = self.input.image_size
        probe = torch.zeros(1, self.input.in_chans, side, side)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            width = self(probe).shape[1]
        self.train(was_training)
        return width

    def forward(self, x):
        return _pooled(self.encoder(self.input(x)))


class PretrainedClassifierNet(PooledClassifier):
    """A pretrained encoder, fine-tuned under a dense embedding and a head.

    Parameters
    ----------
    encoder, in_chans, image_size
        As :class:`PretrainedEncoderNet`.
    n_classes : int
    dense_units : int
        Width of the embedding layer.
    dropout : float
        Dropout before and after the embedding layer.
    augment, flips, max_shift, input_noise
        The training-time augmentation of :class:`~skgalaxy.nn.augment.Augment`.
    """

    def __init__(
        self,
        encoder="convnext_nano",
        in_chans=3,
        image_size=224,
        n_classes=2,
        dense_units=128,
        dropout=0.3,
        augment=True,
        flips=True,
        max_shift=0,
        input_noise=0.0,
    ):
        super().__init__()
        self.augment = Augment(augment, flips, max_shift, input_noise)
        self.backbone = PretrainedEncoderNet(encoder, in_chans, image_size)
        self._add_head(
            self.backbone.num_features, "mean", dense_units, dropout, n_classes
        )

    def embed(self, x):
        """The penultimate representation (after the dense layer's ReLU)."""
        return self.embedding(self.backbone(self.augment(x)))
