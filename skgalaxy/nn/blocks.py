"""Convolutional building blocks shared by the networks."""

from torch import nn


def conv_block(in_channels, out_channels, kernel_size=3, n_convs=1, pool=True):
    """``n_convs`` x (Conv -> BatchNorm -> ReLU), then a 2x2 max-pool.

    Convolutions keep the spatial size ("same" padding); the pool halves it,
    rounding up, so even 1x1 inputs pass.
    """
    layers = []
    for i in range(n_convs):
        layers += [
            nn.Conv2d(
                in_channels if i == 0 else out_channels,
                out_channels,
                kernel_size,
                padding=kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    if pool:
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    return nn.Sequential(*layers)


def conv_backbone(in_channels, filters, kernel_size=3, n_convs=1):
    """A stack of :func:`conv_block` s with ``filters`` output channels each."""
    channels = [in_channels, *filters]
    return nn.Sequential(
        *(
            conv_block(c_in, c_out, kernel_size, n_convs)
            for c_in, c_out in zip(channels[:-1], channels[1:])
        )
    )


def upconv_backbone(filters, kernel_size=3, n_convs=1):
    """Mirror of :func:`conv_backbone`: (2x upsampling, conv block) per stage.

    ``filters`` are the channels from the deepest stage outwards, e.g.
    ``(128, 64, 32)``; the first entry is the input channel count.
    """
    return nn.Sequential(
        *(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                conv_block(c_in, c_out, kernel_size, n_convs, pool=False),
            )
            for c_in, c_out in zip(filters[:-1], filters[1:])
        )
    )
