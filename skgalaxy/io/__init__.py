"""Model files that hold no code, and ONNX export of the inference graphs.

:func:`save_model` writes a fitted skgalaxy estimator, or a Pipeline of
skgalaxy and scikit-learn steps, to one zip file: network weights as
safetensors, parameters and fitted attributes as JSON and a numpy ``.npz``
(read with ``allow_pickle=False``), scikit-learn parts with ``skops.io`` under
an explicit list of trusted types, a format version and a SHA-256 checksum of
every part. :func:`load_model` never unpickles anything: it rebuilds only
classes on its allow-lists, refuses a file whose checksums do not match or
that names anything else, and puts the weights on the CPU.

:func:`export_onnx` writes the inference graph of a fitted estimator (or of
``ArcsinhScaler`` followed by one) as ONNX, for onnxruntime and other
runtimes: NHWC float32 images in (feature vectors for an AHUNTDetector on
features), with a dynamic batch size.
"""

from ._model_file import (
    FORMAT_VERSION,
    MAX_MANIFEST_BYTES,
    PARAMETERS_ADDED,
    load_model,
    save_model,
)
from ._onnx import export_onnx, onnx_methods
from ._trusted import TRUSTED_TYPES
from ._weights import MAX_UNSTORED_BYTES

__all__ = [
    "FORMAT_VERSION",
    "MAX_MANIFEST_BYTES",
    "MAX_UNSTORED_BYTES",
    "ONNX_METHODS",
    "PARAMETERS_ADDED",
    "TRUSTED_TYPES",
    "export_onnx",
    "load_model",
    "save_model",
]


def __getattr__(name):
    if name == "ONNX_METHODS":  # what the estimators can export, read from them
        return onnx_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
