"""The sky of a cutout: the border where the background is measured (private).

Numpy only, so that ``skgalaxy.datasets`` imports no torch.
"""

import numpy as np

__all__ = ["border_mask"]


def border_mask(height, width):
    """The pixels of a cutout's border, an eighth of its side wide: its sky.

    Survey cutouts are centred on their galaxy, so the border holds the sky
    background and its noise.
    """
    edge = max(1, min(height, width) // 8)
    mask = np.ones((height, width), dtype=bool)
    mask[edge:-edge, edge:-edge] = False
    return mask
