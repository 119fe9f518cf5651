"""Variational autoencoder whose latent prior is a normalizing flow (zuko)."""

import math

import torch
import zuko
from torch import nn
from torch.distributions import Normal

from .autoencoder import ConvDecoder, ConvEncoder
from .rng import randn

FLOWS = {"nsf": zuko.flows.NSF, "maf": zuko.flows.MAF}


class FlowVAE(nn.Module):
    """Convolutional VAE with a Gaussian likelihood and a learnt flow prior.

    Parameters
    ----------
    in_channels : int
    image_size : tuple of int
    filters : sequence of int
        Encoder channels per stage (the decoder mirrors them).
    n_components : int
        Latent dimensions.
    flow : {"nsf", "maf"} or None
        zuko neural spline flow or masked autoregressive flow for the prior
        p(z); None for the standard normal N(0, I).
    flow_transforms : int
        Number of flow transforms.
    flow_hidden : int
        Width of the two hidden layers of each transform's network.
    """

    def __init__(
        self,
        in_channels=3,
        image_size=(64, 64),
        filters=(32, 64, 128),
        n_components=16,
        flow="nsf",
        flow_transforms=3,
        flow_hidden=64,
    ):
        super().__init__()
        self.n_components = n_components
        self.encoder = ConvEncoder(in_channels, image_size, filters, 2 * n_components)
        self.decoder = ConvDecoder(n_components, in_channels, image_size, filters)
        # Per-channel noise scale of the Gaussian likelihood, learnt with the rest.
        self.log_scale = nn.Parameter(torch.full((in_channels,), math.log(0.1)))
        self.prior_flow = (
            None
            if flow is None
            else FLOWS[flow](
                features=n_components,
                context=0,
                transforms=flow_transforms,
                hidden_features=(flow_hidden, flow_hidden),
            )
        )

    def encode(self, x):
        """Posterior mean and log-variance of q(z | x)."""
        x = x.contiguous(memory_format=torch.channels_last)
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var.clamp(-12.0, 8.0)

    def decode(self, z):
        """Mean image of p(x | z)."""
        return self.decoder(z)

    def prior_log_prob(self, z):
        if self.prior_flow is None:
            return Normal(0.0, 1.0).log_prob(z).sum(dim=-1)
        return self.prior_flow().log_prob(z)

    def sample_prior(self, n_samples):
        """Draw z0 ~ N(0, I) and push it through the flow (if any).

        The draw comes from :func:`~skgalaxy.nn.rng.generator`, so it is
        seeded per thread.
        """
        z0 = randn((n_samples, self.n_components), self.log_scale)
        if self.prior_flow is None:
            return z0
        return self.prior_flow().transform.inv(z0)

    def log_likelihood(self, x, mean):
        scale = self.log_scale.exp()[None, :, None, None]
        return Normal(mean, scale).log_prob(x).sum(dim=(1, 2, 3))

    def elbo_terms(self, x, noise=None):
        """Reconstruction log-likelihood and the single-sample KL estimate.

        ``noise`` (broadcastable to the latent batch) replaces the random
        reparameterisation noise, for deterministic scores.
        """
        mean, log_var = self.encode(x)
        std = (0.5 * log_var).exp()
        noise = randn(mean.shape, mean) if noise is None else noise
        z = mean + std * noise
        log_q = Normal(mean, std).log_prob(z).sum(dim=-1)
        kl = log_q - self.prior_log_prob(z)
        return self.log_likelihood(x, self.decode(z)), kl

    def forward(self, x):
        return self.elbo_terms(x)
