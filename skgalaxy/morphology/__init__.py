"""Non-parametric morphology of galaxy images: what astronomers measure by hand."""

from ._measure import measure_morphology
from ._transformer import MorphologyTransformer

__all__ = ["MorphologyTransformer", "measure_morphology"]
