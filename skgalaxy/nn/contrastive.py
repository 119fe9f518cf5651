"""Self-supervised representation learning of galaxy images (SimCLR, VICReg).

Two randomly augmented views of each image go through an encoder and a
projection head; the loss pulls the views of one image together and keeps
the batch spread out. The augmentations are the ones a galaxy survey allows:
quarter turns and mirror images, small shifts and zooms, a little extra PSF
blur, noise and a mild per-channel gain (colour gradients otherwise kept).

References
----------
T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), ICML 2020. A. Bardes, J. Ponce and Y. LeCun,
"VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised
Learning", ICLR 2022.
"""

import torch
from torch import nn

from .augment import dihedral_transforms, random_dihedral, random_shift
from .blocks import conv_backbone
from .equivariant import D4CNN
from .functional import POOLED_REGIONS, gaussian_blur, pool_maps, with_asymmetry
from .rng import rand, randn

__all__ = ["ContrastiveNet", "GalaxyViews", "PooledCNN", "nt_xent", "vicreg"]


class GalaxyViews(nn.Module):
    """Random astronomy-safe views of NCHW images (training mode only).

    Parameters
    ----------
    dihedral : bool
        Random quarter turns and mirror images (not needed by an invariant
        encoder).
    max_shift : int
        Largest shift in pixels.
    zoom : float
        Largest relative zoom in or out (0.1: 0.9 to 1.1).
    blur : float
        Largest extra Gaussian blur, in pixels.
    noise : float
        Largest standard deviation of added Gaussian noise.
    gain : float
        Largest relative change of each channel's brightness.
    """

    def __init__(
        self, dihedral=True, max_shift=4, zoom=0.1, blur=1.0, noise=0.02, gain=0.05
    ):
        super().__init__()
        self.dihedral = dihedral
        self.max_shift = max_shift
        self.zoom = zoom
        self.blur = blur
        self.noise = noise
        self.gain = gain

    def _zoom(self, x):
        n = len(x)
        scale = 1 + self.zoom * (2 * rand((n,), x) - 1)
        theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
        theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
        grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
        return nn.functional.grid_sample(x, grid, align_corners=False)

    def forward(self, x):
        if self.dihedral:
            x = random_dihedral(x, dihedral_transforms(x.shape[2] == x.shape[3]))
        x = random_shift(x, min(self.max_shift, min(x.shape[2:]) // 8))
        if self.zoom > 0:
            x = self._zoom(x)
        if self.blur > 0:
            # One blur width per batch keeps this one separable convolution.
            x = gaussian_blur(x, float(self.blur * rand((), x)))
        n, channels = x.shape[:2]
        if self.gain > 0:
            x = x * (1 + self.gain * (2 * rand((n, channels, 1, 1), x) - 1))
        if self.noise > 0:
            x = x + self.noise * rand((n, 1, 1, 1), x) * randn(x.shape, x)
        return x


def nt_xent(z1, z2, temperature=0.2):
    """SimCLR's normalised temperature-scaled cross-entropy of two views."""
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.T / temperature
    n = len(z1)
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return nn.functional.cross_entropy(similarity, targets)


def vicreg(z1, z2, invariance=25.0, variance=25.0, covariance=1.0):
    """VICReg: views alike, every feature varied, features decorrelated."""
    loss = invariance * nn.functional.mse_loss(z1, z2)
    for z in (z1, z2):
        z = z - z.mean(dim=0)
        std = torch.sqrt(z.var(dim=0) + 1e-4)
        loss = loss + variance * torch.relu(1 - std).mean()
        cov = (z.T @ z) / (len(z) - 1)
        off_diagonal = cov - torch.diag(torch.diag(cov))
        loss = loss + covariance * off_diagonal.pow(2).sum() / z.shape[1]
    return loss


class PooledCNN(nn.Module):
    """Conv blocks (``features``, as in the classifier) pooled over the image."""

    def __init__(self, in_channels, filters, pooling="mean"):
        super().__init__()
        self.features = conv_backbone(in_channels, filters)
        self.pooling = pooling

    def invariant_features(self, x):
        return pool_maps(self.features(x), self.pooling)


class ContrastiveNet(nn.Module):
    """An encoder (plain or D4-equivariant CNN) and a projection head.

    ``forward`` returns the projections of two random views of the batch;
    ``encode`` the representation of the images as they are.

    Parameters
    ----------
    in_channels : int
    backbone : {"cnn", "d4"}
    filters : sequence of int
    pooling : {"mean", "centre"}
        Pooling of the encoder's maps, as
        :func:`~skgalaxy.nn.functional.pool_maps`.
    projection : int
        Width of the projection head's output.
    views : dict
        Arguments of :class:`GalaxyViews`.
    asymmetry : bool
        The "cnn" encoder also sees each view minus its 180° rotation (see
        :func:`~skgalaxy.nn.functional.with_asymmetry`).
    """

    def __init__(
        self,
        in_channels=3,
        backbone="cnn",
        filters=(32, 64, 128),
        pooling="mean",
        projection=64,
        views=None,
        asymmetry=False,
    ):
        super().__init__()
        self.asymmetry = asymmetry and backbone == "cnn"
        views = dict(views or {})
        if backbone == "d4":
            views.setdefault("dihedral", False)
            self.encoder = D4CNN(
                in_channels, 1, filters, pooling=pooling, augment=False
            )
            # Only the convolutions are trained; the classifier head is unused.
            self.encoder.embedding = self.encoder.head = nn.Identity()
        else:
            channels = in_channels * (2 if self.asymmetry else 1)
            self.encoder = PooledCNN(channels, filters, pooling)
            self.encoder.to(memory_format=torch.channels_last)
        self.views = GalaxyViews(**views)
        width = POOLED_REGIONS[pooling] * filters[-1]
        self.projector = nn.Sequential(
            nn.Linear(width, 2 * width),
            nn.BatchNorm1d(2 * width),
            nn.ReLU(inplace=True),
            nn.Linear(2 * width, projection),
        )

    def encode(self, x):
        """The representation: the encoder's features pooled over the image."""
        if self.asymmetry:
            x = with_asymmetry(x)
        x = x.contiguous(memory_format=torch.channels_last)
        return self.encoder.invariant_features(x)

    def forward(self, x):
        first, second = self.views(x), self.views(x)
        return self.projector(self.encode(first)), self.projector(self.encode(second))
