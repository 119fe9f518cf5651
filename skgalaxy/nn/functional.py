"""Small tensor functions shared by the networks and the score computations."""

import math

import torch


def gaussian_kernel1d(sigma, dtype=torch.float32, device=None, max_radius=None):
    """Normalised 1-D Gaussian kernel reaching out to 3 sigma (or ``max_radius``)."""
    radius = max(1, math.ceil(3 * sigma))
    if max_radius is not None:
        radius = min(radius, max(1, int(max_radius)))
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(x, sigma):
    """Blur each channel of NCHW ``x`` with a Gaussian of ``sigma`` pixels.

    Separable, with zero padding so that any image size works; ``sigma=0``
    returns ``x``. The kernel reaches no farther than the image is wide:
    beyond that it would only multiply zeros.
    """
    if sigma <= 0:
        return x
    channels = x.shape[1]
    kernel = gaussian_kernel1d(sigma, x.dtype, x.device, max_radius=max(x.shape[2:]))
    radius = len(kernel) // 2
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    x = torch.nn.functional.conv2d(x, rows, padding=(radius, 0), groups=channels)
    return torch.nn.functional.conv2d(x, cols, padding=(0, radius), groups=channels)


POOLED_REGIONS = {"mean": 1, "centre": 2}


def pool_maps(maps, pooling="mean"):
    """Pool NCHW feature maps over the image into one vector per image.

    ``"mean"``: the mean over the whole image, shape (N, C). ``"centre"``:
    that mean and the mean over the image's central half (a quarter of the
    height and width cut from each side), shape (N, 2C). Galaxy cutouts are
    centred on their galaxy, so the second mean keeps how concentrated a
    feature is, which the first loses. Both regions are symmetric, so the
    result keeps any invariance to turns and mirrors the maps have.
    """
    whole = maps.mean(dim=(2, 3))
    if pooling == "mean":
        return whole
    height, width = maps.shape[2:]
    top, left = height // 4, width // 4
    centre = maps[:, :, top : height - top, left : width - left].mean(dim=(2, 3))
    return torch.cat([whole, centre], dim=1)


def with_asymmetry(x):
    """``x`` with ``x - rot180(x)`` appended along the channels (NCHW).

    Cutouts are centred on their galaxy, so the difference holds what the
    rotational asymmetry of Conselice (2003) sums: tidal tails, second
    nuclei, off-centre clumps. A convolution cannot compute it from the image
    alone (it compares pixels half an image apart). Rotating by 180° commutes
    with every quarter turn and mirror, so the appended channels follow the
    image under dihedral augmentation.
    """
    return torch.cat([x, x - torch.flip(x, dims=(-2, -1))], dim=1)
