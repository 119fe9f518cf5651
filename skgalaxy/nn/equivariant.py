"""Convolutions equivariant to the dihedral group D4 (quarter turns and mirrors).

A galaxy has no preferred orientation, and on a square pixel grid the eight
quarter turns and mirror images are exact. These layers (group convolutions
of Cohen & Welling, 2016, on the group p4m) carry a feature map per group
element: turning or mirroring the input image turns or mirrors the feature
maps and permutes them along the group axis, so pooling over the group and the
image gives an embedding that is *exactly* the same for all eight transforms,
without test-time augmentation.

Feature maps are ``(n, channels * 8, height, width)`` tensors, channel ``c``
of group element ``g`` at index ``c * 8 + g``; group element ``k`` is the
transform ``dihedral(x, k)`` of :mod:`skgalaxy.nn.augment`. Exact on square
images whose side stays even through the poolings (64, 32, 16, ...).

References
----------
T. S. Cohen and M. Welling, "Group Equivariant Convolutional Networks",
ICML 2016.
"""

import math

import torch
from torch import nn

from .augment import Augment, dihedral
from .classifier import PooledClassifier
from .functional import pool_maps

__all__ = ["D4CNN", "D4Conv", "D4Lift", "group_table"]

ORDER = 8


def group_table():
    """``(product, inverse)`` of D4 with the element numbering of ``dihedral``.

    ``product[g, h]`` is the element whose transform is ``dihedral`` by ``h``
    then by ``g``; ``inverse[g]`` undoes ``g``. Found by applying the
    transforms to an asymmetric pattern, so they agree with ``dihedral`` by
    construction.
    """
    pattern = torch.arange(9.0).reshape(1, 1, 3, 3)
    images = [dihedral(pattern, k) for k in range(ORDER)]

    def which(image):
        return next(k for k, other in enumerate(images) if torch.equal(image, other))

    product = torch.tensor(
        [[which(dihedral(images[h], g)) for h in range(ORDER)] for g in range(ORDER)]
    )
    inverse = torch.tensor([int((product[g] == 0).nonzero()) for g in range(ORDER)])
    return product, inverse


_PRODUCT, _INVERSE = group_table()
#: ``_PERMUTATION[g][h] = g^-1 h``: the input group element whose filter slice
#: output element ``g`` uses at input element ``h``.
_PERMUTATION = torch.stack([_PRODUCT[_INVERSE[g]] for g in range(ORDER)])


class D4Lift(nn.Module):
    """Lift an image to the group: one convolution per transformed filter.

    Parameters
    ----------
    in_channels : int
    out_channels : int
        Channels per group element (the output has ``8 * out_channels``).
    kernel_size : int
    """

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels, kernel_size, kernel_size)
        )
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.padding = kernel_size // 2

    def filters(self):
        out_c, in_c, k, _ = self.weight.shape
        bank = torch.stack([dihedral(self.weight, g) for g in range(ORDER)], dim=1)
        return bank.reshape(out_c * ORDER, in_c, k, k)

    def forward(self, x):
        return nn.functional.conv2d(x, self.filters(), padding=self.padding)


class D4Conv(nn.Module):
    """Group convolution from D4 feature maps to D4 feature maps.

    Parameters
    ----------
    in_channels : int
        Channels per group element of the input.
    out_channels : int
        Channels per group element of the output.
    kernel_size : int
    """

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels, ORDER, kernel_size, kernel_size)
        )
        nn.init.kaiming_normal_(self.weight.view(out_channels, -1), nonlinearity="relu")
        with torch.no_grad():
            self.weight.mul_(1 / math.sqrt(kernel_size * kernel_size))
        self.padding = kernel_size // 2

    def filters(self):
        out_c, in_c, _, k, _ = self.weight.shape
        bank = torch.stack(
            [
                dihedral(
                    self.weight[:, :, _PERMUTATION[g]].reshape(
                        out_c, in_c * ORDER, k, k
                    ),
                    g,
                )
                for g in range(ORDER)
            ],
            dim=1,
        )
        return bank.reshape(out_c * ORDER, in_c * ORDER, k, k)

    def forward(self, x):
        return nn.functional.conv2d(x, self.filters(), padding=self.padding)


class _GroupBatchNorm(nn.BatchNorm2d):
    """BatchNorm whose statistics are shared by a channel's eight group copies."""

    def forward(self, x):
        n, channels, height, width = x.shape
        grouped = x.reshape(n, channels // ORDER, ORDER * height, width)
        return super().forward(grouped).reshape(n, channels, height, width)


def _block(layer, out_channels):
    return nn.Sequential(
        layer,
        _GroupBatchNorm(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class D4CNN(PooledClassifier):
    """A D4-equivariant CNN with an invariant embedding and a classification head.

    Lifting convolution, then group convolutions, each followed by
    BatchNorm (shared over the group), ReLU and a 2x2 max-pool; then the
    maximum over the eight group elements and the mean over the image (and
    its centre, with ``pooling="centre"``), which is invariant to the eight
    transforms; then a dense embedding layer and the head. The same interface
    as :class:`~skgalaxy.nn.classifier.GalaxyCNN` (``embed``, ``head``).

    Parameters
    ----------
    in_channels : int
    n_classes : int
    filters : sequence of int
        Channels per group element of each block (the feature maps hold 8
        times as many).
    kernel_size : int
    pooling : {"mean", "centre"}
        Pooling over the image after the maximum over the group, as
        :func:`~skgalaxy.nn.functional.pool_maps`.
    dense_units : int
        Width of the embedding layer.
    dropout : float
        Dropout before and after the embedding layer.
    augment : bool
        Random shifts and noise in training mode (turns and mirrors are
        not needed: the network is invariant to them).
    max_shift : int
    input_noise : float
    channels_last : bool
        Keep activations in NHWC memory order (faster convolutions on CPU).
    """

    def __init__(
        self,
        in_channels=3,
        n_classes=10,
        filters=(8, 16, 32),
        kernel_size=3,
        pooling="mean",
        dense_units=128,
        dropout=0.3,
        augment=True,
        max_shift=0,
        input_noise=0.0,
        channels_last=True,
    ):
        super().__init__()
        self.augment = Augment(
            dihedral=False,
            max_shift=max_shift if augment else 0,
            noise=input_noise if augment else 0.0,
        )
        blocks = [_block(D4Lift(in_channels, filters[0], kernel_size), filters[0])]
        for c_in, c_out in zip(filters[:-1], filters[1:]):
            blocks.append(_block(D4Conv(c_in, c_out, kernel_size), c_out))
        self.features = nn.Sequential(*blocks)
        self._add_head(filters[-1], pooling, dense_units, dropout, n_classes)
        self.channels_last = channels_last

    def invariant_features(self, x):
        """Features pooled over the group and the image: D4-invariant."""
        x = self.augment(x).contiguous(memory_format=self._memory_format())
        maps = self.features(x)
        n, channels, height, width = maps.shape
        grouped = maps.reshape(n, channels // ORDER, ORDER, height, width)
        return pool_maps(grouped.amax(dim=2), self.pooling)

    def embed(self, x):
        """The penultimate representation (after the dense layer's ReLU)."""
        return self.embedding(self.invariant_features(x))
