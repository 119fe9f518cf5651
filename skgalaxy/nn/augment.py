"""Batched image augmentation on NCHW tensors (dihedral group, shifts, noise)."""

import torch
from torch import nn

from .rng import randint, randn


def dihedral_transforms(square=True, flips=True):
    """Indices of the dihedral transforms usable on an image.

    Index ``k`` means ``k % 4`` quarter turns, mirrored when ``k >= 4``.
    Quarter and three-quarter turns need square images; mirroring can be
    switched off for chiral classes (clockwise vs anticlockwise spirals).
    """
    turns = (0, 1, 2, 3) if square else (0, 2)
    return list(turns) + ([t + 4 for t in turns] if flips else [])


def dihedral(x, k):
    """Apply dihedral transform ``k`` (see :func:`dihedral_transforms`)."""
    x = torch.rot90(x, k % 4, dims=(2, 3)) if k % 4 else x
    return torch.flip(x, dims=(3,)) if k >= 4 else x


def random_dihedral(x, transforms):
    """Give each image of the batch a transform drawn from ``transforms``."""
    choice = randint(len(transforms), (len(x),), x.device)
    out = torch.empty_like(x)
    for i, k in enumerate(transforms):
        members = (choice == i).nonzero(as_tuple=True)[0]
        if len(members):
            out[members] = dihedral(x[members], k)
    return out


def random_shift(x, max_shift):
    """Shift each image by up to ``max_shift`` pixels per axis, padding with zeros."""
    if max_shift <= 0:
        return x
    n, _, height, width = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dy = randint(2 * max_shift + 1, (n,), x.device)
    dx = randint(2 * max_shift + 1, (n,), x.device)
    rows = (dy[:, None] + torch.arange(height, device=x.device))[:, :, None]
    cols = (dx[:, None] + torch.arange(width, device=x.device))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


class Augment(nn.Module):
    """Random dihedral transforms, shifts and Gaussian noise, in training mode only.

    Parameters
    ----------
    dihedral : bool
        Random quarter turns (square images) and, with ``flips``, mirror images.
    flips : bool
    max_shift : int
        Largest shift in pixels (at most an eighth of the image side).
    noise : float
        Standard deviation of the additive Gaussian input noise.
    """

    def __init__(self, dihedral=True, flips=True, max_shift=0, noise=0.0):
        super().__init__()
        self.dihedral = dihedral
        self.flips = flips
        self.max_shift = max_shift
        self.noise = noise

    def forward(self, x):
        if not self.training:
            return x
        if self.dihedral:
            square = x.shape[2] == x.shape[3]
            x = random_dihedral(x, dihedral_transforms(square, self.flips))
        # Shifts past an eighth of the image would move small images out of view.
        x = random_shift(x, min(self.max_shift, min(x.shape[2:]) // 8))
        if self.noise > 0:
            x = x + self.noise * randn(x.shape, x)
        return x
