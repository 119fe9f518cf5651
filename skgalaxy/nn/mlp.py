"""A small multilayer perceptron classifier for feature vectors."""

from torch import nn

from .rng import Dropout, randn


class MLPClassifierNet(nn.Module):
    """Dense ReLU layers with dropout, then a linear ``head``.

    Parameters
    ----------
    in_features : int
    n_classes : int
    hidden : sequence of int
        Widths of the hidden layers.
    dropout : float
    input_noise : float
        Standard deviation of Gaussian noise added to the (standardised)
        input in training mode: the augmentation of feature vectors.
    """

    def __init__(
        self, in_features=16, n_classes=2, hidden=(64, 64), dropout=0.1, input_noise=0.0
    ):
        super().__init__()
        layers = []
        widths = [in_features, *hidden]
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.Linear(n_in, n_out),
                nn.ReLU(inplace=True),
                Dropout(dropout),
            ]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(widths[-1], n_classes))
        self.input_noise = input_noise

    def embed(self, x):
        if self.training and self.input_noise > 0:
            x = x + self.input_noise * randn(x.shape, x)
        return self.body(x)

    def forward(self, x):
        return self.head(self.embed(x))
