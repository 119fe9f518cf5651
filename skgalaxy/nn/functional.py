"""Small tensor functions used by the score computations."""

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
