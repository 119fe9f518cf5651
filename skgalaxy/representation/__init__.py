"""Learnt representations of galaxy images: the flow-prior β-VAE and
self-supervised (contrastive) features."""

from ._contrastive import ContrastiveTransformer
from ._flow_vae import FlowVAETransformer

__all__ = ["ContrastiveTransformer", "FlowVAETransformer"]
