"""The galaxy morphology CNN."""

import torch
from torch import nn

from .augment import Augment
from .blocks import conv_backbone
from .functional import POOLED_REGIONS, pool_maps, with_asymmetry
from .rng import Dropout, generator


class PooledClassifier(nn.Module):
    """What a CNN classifier of pooled feature maps shares: its dense layers.

    A subclass builds ``features`` and calls :meth:`_add_head`; its ``embed``
    ends in ``self.embedding``, and ``forward`` is the head on the embedding.
    """

    def _add_head(self, channels, pooling, dense_units, dropout, n_classes):
        """The embedding layer (dropout, dense, ReLU) and the classifier head."""
        self.pooling = pooling
        self.embedding = nn.Sequential(
            Dropout(dropout),
            nn.Linear(POOLED_REGIONS[pooling] * channels, dense_units),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(dense_units, n_classes))

    def _memory_format(self):
        # ``channels_last`` is a flag, not the format object: torch.memory_format
        # pickles by a name that other libraries' modules can shadow.
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def forward(self, x):
        return self.head(self.embed(x))


class GalaxyCNN(PooledClassifier):
    """Small CNN: conv blocks, pooling over the image, a dense embedding layer.

    Parameters
    ----------
    in_channels : int
    n_classes : int
    filters : sequence of int
        Output channels of the conv blocks.
    kernel_size : int
    convs_per_block : int
    pooling : {"mean", "centre"}
        Pooling over the image, as :func:`~skgalaxy.nn.functional.pool_maps`.
    dense_units : int
        Width of the embedding layer.
    dropout : float
        Dropout before and after the embedding layer.
    augment : bool
        Random dihedral transforms in training mode.
    flips : bool
        Allow mirror images among them.
    max_shift : int
        Random shifts in training mode, in pixels.
    input_noise : float
        Gaussian noise added to the input in training mode.
    channels_last : bool
        Keep weights and activations in NHWC memory order (faster
        convolutions on CPU).
    asymmetry : bool
        Give the convolutions, beside each input channel, the image minus
        its 180° rotation about the centre (see
        :func:`~skgalaxy.nn.functional.with_asymmetry`).
    """

    def __init__(
        self,
        in_channels=3,
        n_classes=10,
        filters=(32, 64, 128),
        kernel_size=3,
        convs_per_block=1,
        pooling="mean",
        dense_units=128,
        dropout=0.3,
        augment=True,
        flips=True,
        max_shift=0,
        input_noise=0.0,
        channels_last=True,
        asymmetry=False,
    ):
        super().__init__()
        self.asymmetry = asymmetry
        self.augment = Augment(augment, flips, max_shift, input_noise)
        self.features = conv_backbone(
            in_channels * (2 if asymmetry else 1), filters, kernel_size, convs_per_block
        )
        self._add_head(filters[-1], pooling, dense_units, dropout, n_classes)
        self.channels_last = channels_last
        self.to(memory_format=self._memory_format())

    def embed(self, x):
        """The penultimate representation (after the dense layer's ReLU)."""
        if self.asymmetry:
            x = with_asymmetry(x)
        x = self.augment(x).contiguous(memory_format=self._memory_format())
        return self.embedding(pool_maps(self.features(x), self.pooling))


def load_features(features, state_dict):
    """Load conv weights into ``features``, zeros for extra input channels.

    A pretrained encoder that saw only the image can start a network that
    also sees :func:`~skgalaxy.nn.functional.with_asymmetry`'s channels:
    their weights start at 0, so the network begins as the encoder.
    """
    own = features.state_dict()
    for name, value in state_dict.items():
        if value.ndim == 4 and own[name].shape[1] > value.shape[1]:
            padded = torch.zeros_like(own[name])
            padded[:, : value.shape[1]] = value
            state_dict = {**state_dict, name: padded}
    features.load_state_dict(state_dict)


class LogitAdjustedCrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy of logits shifted by ``tau * log(prior)`` in training.

    Logit adjustment (Menon et al. 2021, "Long-tail learning via logit
    adjustment"): the network learns logits to which the log class priors are
    added only inside the loss, so its own logits leave the priors out and
    rare classes win more often at prediction. ``tau=1`` aims at the balanced
    error; 0 is plain cross-entropy.

    Label smoothing mixes ``softmax(tau * log_prior)`` (the priors raised to
    ``tau``, normalised) into the one-hot targets instead of the uniform
    distribution: once the shift is removed at prediction this is uniform
    smoothing again. Uniform smoothing of the shifted logits would ask every
    image to be partly of each rare class, more than the class's frequency,
    and the network would predict rare classes almost everywhere.

    Parameters
    ----------
    log_prior : sequence of float
        Log frequency of each class in the training data.
    tau : float
        Scale of the adjustment.
    weight : tensor of shape (n_classes,), default=None
        Loss weight per class, as for :class:`torch.nn.CrossEntropyLoss`
        (with smoothing, as for its probability targets).
    label_smoothing : float, default=0.0
        Weight of ``softmax(tau * log_prior)`` in the targets.
    """

    def __init__(self, log_prior, tau=1.0, weight=None, label_smoothing=0.0):
        super().__init__(weight=weight, label_smoothing=label_smoothing)
        offset = tau * torch.as_tensor(log_prior, dtype=torch.float32)
        self.register_buffer("offset", offset)

    def forward(self, input, target):
        offset = self.offset.to(input.dtype)
        shifted = input + offset
        if self.label_smoothing == 0:
            return super().forward(shifted, target)
        smoothing = torch.softmax(offset, dim=0)
        one_hot = nn.functional.one_hot(target, shifted.shape[1]).to(input.dtype)
        soft = (1 - self.label_smoothing) * one_hot + self.label_smoothing * smoothing
        return nn.functional.cross_entropy(
            shifted, soft, weight=self.weight, reduction=self.reduction
        )


def grow_head(module, n_new):
    """Add ``n_new`` output units to ``module.head[-1]``, keeping the learnt ones.

    The new units start with small random weights (drawn from
    :func:`~skgalaxy.nn.rng.generator`, never from torch's global generator)
    and a bias a little below the lowest existing bias, so the grown model
    predicts as before until it is trained on the new classes.
    """
    old = module.head[-1]
    new = nn.utils.skip_init(
        nn.Linear,
        old.in_features,
        old.out_features + n_new,
        device=old.weight.device,
        dtype=old.weight.dtype,
    )
    with torch.no_grad():
        new.weight[: old.out_features] = old.weight
        new.bias[: old.out_features] = old.bias
        new.weight[old.out_features :].normal_(
            0.0, 0.01, generator=generator(old.weight.device)
        )
        new.bias[old.out_features :] = old.bias.min() - 1.0
    module.head[-1] = new
    return module
