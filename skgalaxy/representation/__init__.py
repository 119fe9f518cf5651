"""Learnt representations of galaxy images: the flow-prior β-VAE,
self-supervised (contrastive) features and pretrained encoders."""

from ._contrastive import ContrastiveTransformer
from ._flow_vae import FlowVAETransformer
from ._pretrained import PretrainedEncoder

__all__ = ["ContrastiveTransformer", "FlowVAETransformer", "PretrainedEncoder"]
