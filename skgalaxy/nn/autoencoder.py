"""Convolutional encoder and decoder for images of a fixed shape."""

import math

import torch
from torch import nn

from .augment import Augment
from .blocks import conv_backbone, upconv_backbone


def bottleneck_size(height, width, n_stages):
    """Spatial size after ``n_stages`` ceil-halvings."""
    return (math.ceil(height / 2**n_stages), math.ceil(width / 2**n_stages))


class ConvEncoder(nn.Module):
    """Conv blocks (each halving the image) then a linear map to ``out_features``.

    Parameters
    ----------
    in_channels : int
    image_size : tuple of int
        ``(height, width)`` of the images.
    filters : sequence of int
    out_features : int
    """

    def __init__(self, in_channels, image_size, filters, out_features):
        super().__init__()
        self.features = conv_backbone(in_channels, filters)
        h, w = bottleneck_size(*image_size, len(filters))
        self.linear = nn.Linear(filters[-1] * h * w, out_features)

    def forward(self, x):
        return self.linear(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """Linear map from ``in_features`` to a small feature map, then upsampling stages.

    Returns images of exactly ``image_size`` (the last stage is cropped) with
    unbounded values.

    Parameters
    ----------
    in_features : int
    out_channels : int
    image_size : tuple of int
    filters : sequence of int
        The encoder's filters; the decoder runs through them in reverse.
    """

    def __init__(self, in_features, out_channels, image_size, filters):
        super().__init__()
        self.image_size = tuple(image_size)
        self.start = (filters[-1], *bottleneck_size(*image_size, len(filters)))
        self.linear = nn.Linear(in_features, math.prod(self.start))
        reversed_filters = list(filters[::-1])
        self.stages = upconv_backbone([*reversed_filters, reversed_filters[-1]])
        self.out = nn.Conv2d(reversed_filters[-1], out_channels, 3, padding=1)

    def forward(self, z):
        x = torch.relu(self.linear(z)).view(-1, *self.start)
        x = self.out(self.stages(x))
        height, width = self.image_size
        return x[:, :, :height, :width]


class ConvAutoencoder(nn.Module):
    """Deterministic convolutional autoencoder with an ``n_components`` bottleneck.

    In training mode the input is randomly turned and mirrored (galaxies have
    no preferred orientation) and the reconstruction target is the transformed
    image, so :meth:`forward` returns both.

    Parameters
    ----------
    in_channels : int
    image_size : tuple of int
    filters : sequence of int
        Encoder channels per stage (the decoder mirrors them).
    n_components : int
        Width of the bottleneck.
    augment : bool
        Random dihedral transforms in training mode.
    """

    def __init__(
        self,
        in_channels=3,
        image_size=(64, 64),
        filters=(32, 64, 128),
        n_components=16,
        augment=True,
    ):
        super().__init__()
        self.augment = Augment(dihedral=augment)
        self.encoder = ConvEncoder(in_channels, image_size, filters, n_components)
        self.decoder = ConvDecoder(n_components, in_channels, image_size, filters)
        self.to(memory_format=torch.channels_last)

    def encode(self, x):
        return self.encoder(x.contiguous(memory_format=torch.channels_last))

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        x = self.augment(x)
        return self.decode(self.encode(x)), x
