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
runtimes: NHWC float32 images in, with a dynamic batch size.
"""

import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import __version__

__all__ = ["FORMAT_VERSION", "export_onnx", "load_model", "save_model"]

FORMAT = "skgalaxy-model"
#: The version of the file format :func:`save_model` writes.
FORMAT_VERSION = 1

#: The skgalaxy classes a model file may name.
_ESTIMATORS = {
    "ArcsinhScaler": "skgalaxy.preprocessing",
    "GalaxyCNNClassifier": "skgalaxy.classification",
    "FlowVAETransformer": "skgalaxy.representation",
    "ContrastiveTransformer": "skgalaxy.representation",
    "CAEAnomalyDetector": "skgalaxy.anomaly",
    "AHUNTDetector": "skgalaxy.anomaly",
    "KNeighborsDetector": "skgalaxy.anomaly",
    "GaussianMixtureDetector": "skgalaxy.anomaly",
    "MorphologyTransformer": "skgalaxy.morphology",
}
#: Types skops does not trust by default that scikit-learn parts need (the
#: trees of an IsolationForest, the neighbour search of KNeighborsDetector).
#: Anything else untrusted is refused.
TRUSTED_TYPES = [
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance32",
]


#: Parameters added since format version 1, with the value that builds the
#: network that files written before them hold.
PARAMETERS_ADDED = {"pooling": "mean", "asymmetry": False}


def _estimator_class(name):
    import importlib

    if name not in _ESTIMATORS:
        raise ValueError(f"The model file names an unknown estimator {name!r}.")
    return getattr(importlib.import_module(_ESTIMATORS[name]), name)


def _is_skgalaxy(obj):
    return type(obj).__name__ in _ESTIMATORS and type(obj).__module__.startswith(
        "skgalaxy"
    )


def _is_pipeline(obj):
    from sklearn.pipeline import Pipeline

    return isinstance(obj, Pipeline)


def _is_sklearn(obj):
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator) and type(obj).__module__.startswith(
        "sklearn."
    )


class _Writer:
    """Collects the parts of a model file while its tree is encoded."""

    def __init__(self):
        self.arrays = {}
        self.members = {}

    def array(self, value):
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return {"__array__": key}

    def member(self, folder, suffix, data):
        name = f"{folder}/{len(self.members)}.{suffix}"
        self.members[name] = data
        return name

    def encode(self, value):
        """A JSON-able tree for ``value``; arrays and binary parts set aside."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            return self.encode(value.item())
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {
                "__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]
            }
        if isinstance(value, np.dtype):
            return {"__dtype__": value.str}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biufcU":
                return self.array(value)
            return {
                "__objects__": [self.encode(v) for v in value.ravel().tolist()],
                "shape": list(value.shape),
            }
        if _is_skgalaxy(value):
            return {"__estimator__": self.estimator(value)}
        if type(value).__name__ == "FrozenEstimator":
            return {"__frozen__": self.encode(value.estimator)}
        if _is_pipeline(value) and any(_is_skgalaxy(s) for _, s in value.steps):
            return {"__pipeline__": self.pipeline(value)}
        if _is_sklearn(value):
            import skops.io

            return {"__skops__": self.member("skops", "skops", skops.io.dumps(value))}
        raise TypeError(
            f"A {type(value).__name__} cannot be saved in a safe model file; save "
            "this model with joblib instead (and load it only where you trust it)."
        )

    def estimator(self, est):
        from safetensors.torch import save

        attributes = {
            k: v
            for k, v in vars(est).items()
            if k.endswith("_") and not k.startswith("_") and k != "net_"
        }
        node = {
            "class": type(est).__name__,
            "params": self.encode(est.get_params(deep=False)),
            "attributes": self.encode(attributes),
        }
        net = getattr(est, "net_", None)
        if net is None and hasattr(est, "net_"):
            node["untrained"] = True
        if net is not None:
            state = {
                k: v.detach().cpu().contiguous()
                for k, v in net.module_.state_dict().items()
            }
            node["weights"] = self.member("weights", "safetensors", save(state))
        return node

    def pipeline(self, pipe):
        params = pipe.get_params(deep=False)
        params.pop("steps")
        return {
            "steps": [[name, self.encode(step)] for name, step in pipe.steps],
            "params": self.encode(params),
        }


class _Reader:
    """Rebuilds a model from the parts of a checked model file."""

    def __init__(self, arrays, members):
        self.arrays = arrays
        self.members = members

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise ValueError("The model file's tree is malformed.")
        tag = next(iter(node))
        value = node[tag]
        if tag == "__float__":
            return float(value)
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in value)
        if tag == "__dict__":
            return {self._key(self.decode(k)): self.decode(v) for k, v in value}
        if tag == "__dtype__":
            return np.dtype(value)
        if tag == "__array__":
            return self.arrays[value]
        if tag == "__objects__":
            items = [self.decode(v) for v in value]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(node["shape"])
        if tag == "__estimator__":
            return self.estimator(value)
        if tag == "__pipeline__":
            return self.pipeline(value)
        if tag == "__frozen__":
            from sklearn.frozen import FrozenEstimator

            return FrozenEstimator(self.decode(value))
        if tag == "__skops__":
            return self.skops(value)
        raise ValueError(f"The model file holds an unknown kind of value {tag!r}.")

    @staticmethod
    def _key(key):
        return key if not isinstance(key, list) else tuple(key)

    def member(self, name):
        if name not in self.members:
            raise ValueError(f"The model file lacks its part {name!r}.")
        return self.members[name]

    def skops(self, name):
        import skops.io

        data = self.member(name)
        untrusted = set(skops.io.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ValueError(
                "The model file holds types skgalaxy does not trust: "
                f"{sorted(untrusted)}."
            )
        value = skops.io.loads(data, trusted=TRUSTED_TYPES)
        check_trusted_parts(value)
        return value

    def estimator(self, node):
        from safetensors.torch import load

        cls = _estimator_class(node["class"])
        params = self.decode(node["params"])
        # A file written before a parameter existed holds a network built as
        # that parameter's former value builds it, not as its new default.
        former = {
            name: value
            for name, value in PARAMETERS_ADDED.items()
            if name in cls._get_param_names() and name not in params
        }
        est = cls(**former, **params)
        est._validate_params()
        for key, value in self.decode(node["attributes"]).items():
            if not (isinstance(key, str) and key.endswith("_")):
                raise ValueError(f"The model file sets a strange attribute {key!r}.")
            setattr(est, key, value)
        if "weights" in node:
            weights = self.member(node["weights"])
            _check_weights(est, _safetensors_layout(weights))
            est._restore_net(load(weights))
        elif node.get("untrained"):
            est.net_ = None  # e.g. an AHUNTDetector before its first label
        return est

    def pipeline(self, node):
        from sklearn.pipeline import Pipeline

        steps = [(name, self.decode(step)) for name, step in node["steps"]]
        return Pipeline(steps, **self.decode(node["params"]))


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


#: safetensors' names of the dtypes a network's state holds, and their sizes.
_SAFETENSORS_DTYPES = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}

_ITEMSIZE = dict(_SAFETENSORS_DTYPES.values())

#: Bytes a network may hold beyond its stored weights (buffers it rebuilds
#: from its parameters, such as fixed filters), checked before it is built.
MAX_UNSTORED_BYTES = 16 * 2**20

#: Largest manifest a model file may have.
MAX_MANIFEST_BYTES = 16 * 2**20


def _safetensors_layout(data):
    """``{name: (shape, dtype name)}`` from a safetensors header, data unread.

    The header (an 8-byte length, then JSON) must describe tensors that
    exactly tile the bytes that follow it.
    """
    if len(data) < 8:
        raise ValueError("a weights part is too short to be safetensors")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError("a weights part's header is longer than the part")
    header = json.loads(data[8 : 8 + length])
    if not isinstance(header, dict):
        raise ValueError("a weights part's header is not a table")
    header.pop("__metadata__", None)
    layout, spans = {}, []
    for name, entry in header.items():
        if not isinstance(entry, dict) or entry.get("dtype") not in _SAFETENSORS_DTYPES:
            raise ValueError(f"a weights part describes {name!r} badly")
        dtype, itemsize = _SAFETENSORS_DTYPES[entry["dtype"]]
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not _ints(shape) or not _ints(offsets, 2):
            raise ValueError(f"a weights part describes {name!r} badly")
        if offsets[1] - offsets[0] != math.prod(shape) * itemsize:
            raise ValueError(f"a weights part's {name!r} has the wrong size")
        layout[name] = (tuple(shape), dtype)
        spans.append(tuple(offsets))
    spans.sort()
    end = 0
    for start, stop in spans:
        if start != end or stop < start:
            raise ValueError("a weights part's tensors do not tile its data")
        end = stop
    if end != len(data) - 8 - length:
        raise ValueError("a weights part's tensors do not fill its data")
    return layout


def _ints(value, length=None):
    return (
        isinstance(value, list)
        and (length is None or len(value) == length)
        and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        )
    )


def _check_weights(estimator, stored):
    """Refuse weights that are not those of the network the parameters describe.

    ``stored`` is the layout of the weights part (:func:`_safetensors_layout`,
    its sizes bounded by the file's). The network is built within that many
    bytes (plus ``MAX_UNSTORED_BYTES``), so a file whose parameters describe
    a huge network is refused before that memory is asked for.
    """
    stored_bytes = sum(
        math.prod(shape) * _ITEMSIZE[dtype] for shape, dtype in stored.values()
    )
    name = type(estimator).__name__
    try:
        layout, n_bytes = estimator._module_layout(stored_bytes + MAX_UNSTORED_BYTES)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    expected = {key: (shape, str(dtype)[6:]) for key, (shape, dtype) in layout.items()}
    if set(expected) != set(stored):
        raise ValueError(
            f"the weights of {name} do not match the network its parameters "
            f"describe (missing {sorted(set(expected) - set(stored))[:5]}, "
            f"unexpected {sorted(set(stored) - set(expected))[:5]})"
        )
    for key, (shape, dtype) in expected.items():
        if stored[key] != (shape, dtype):
            raise ValueError(
                f"the weights of {name} do not match the network its parameters "
                f"describe: {key} is stored as {stored[key][1]} of shape "
                f"{stored[key][0]}, the network has {dtype} of shape {shape}"
            )


def save_model(estimator, path):
    """Save a fitted estimator or pipeline to a model file that holds no code.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted skgalaxy estimator, or a ``Pipeline`` whose steps are
        skgalaxy estimators and scikit-learn estimators (``StandardScaler``,
        ``PCA``, ``IsolationForest``, ``LogisticRegression``, ...).
    path : str or path-like
        The file to write (conventionally ``*.skgalaxy``); written to a
        temporary file first and renamed, so a crash never leaves half a
        model under ``path``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    load_model : Load the file again.

    Examples
    --------
    >>> import os, tempfile
    >>> from skgalaxy import ArcsinhScaler
    >>> from skgalaxy.datasets import make_galaxies
    >>> from skgalaxy.io import load_model, save_model
    >>> X, _ = make_galaxies(10, image_size=16, random_state=0, return_X_y=True)
    >>> path = save_model(ArcsinhScaler().fit(X),
    ...                   os.path.join(tempfile.mkdtemp(), "scaler.skgalaxy"))
    >>> load_model(path).scale_.shape
    (3,)
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    writer = _Writer()
    root = writer.encode(estimator)
    arrays = io.BytesIO()
    np.savez(arrays, **writer.arrays)
    parts = {"arrays.npz": arrays.getvalue(), **writer.members}
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "skgalaxy": __version__,
        "root": root,
        "sha256": {name: _sha256(data) for name, data in parts.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1).encode()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("manifest.json", manifest_bytes)
            archive.writestr("manifest.sha256", _sha256(manifest_bytes))
            for name, data in parts.items():
                archive.writestr(name, data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_model(path):
    """Load a model written by :func:`save_model`, running no code from the file.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    estimator : estimator or Pipeline
        The fitted model, its networks on the CPU in evaluation mode.

    Raises
    ------
    ValueError
        The file is not a skgalaxy model file, its format version is unknown,
        a checksum does not match (the file was changed or damaged), or it
        names a class or type outside the allow-lists.

    See Also
    --------
    save_model : Write a model file.

    Examples
    --------
    >>> from skgalaxy.io import load_model
    >>> model = load_model("model.skgalaxy")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    try:
        manifest, members = _read_checked(path)
        arrays = _read_arrays(members.pop("arrays.npz"))
        model = _Reader(arrays, members).decode(manifest["root"])
        if not hasattr(model, "get_params"):
            raise ValueError(f"it holds a {type(model).__name__}, not a model")
        return model
    except _MALFORMED as exc:
        raise ValueError(
            f"{path} is not a skgalaxy model file that loads: {exc}"
        ) from exc


#: What a crafted file can make the reader raise; each becomes one ValueError.
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    RuntimeError,
    OverflowError,
    zipfile.BadZipFile,
    OSError,
)


def _stored_parts(archive, size):
    """The entries of ``archive``, refused unless stored as is within ``size`` bytes."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ValueError("it names a part twice")
    if any(
        info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size
        for info in infos
    ):
        raise ValueError("its parts are compressed (skgalaxy stores them as is)")
    if sum(info.file_size for info in infos) > size:
        raise ValueError("its parts claim more bytes than the file holds")
    return {info.filename: info for info in infos}


def _read_arrays(data):
    """The arrays of the ``arrays.npz`` part, each header checked against its size."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = _stored_parts(archive, len(data))
        for name, info in infos.items():
            with archive.open(name) as entry:
                header = (
                    np.lib.format.read_array_header_1_0
                    if np.lib.format.read_magic(entry) == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = header(entry)
                if (
                    dtype.hasobject
                    or math.prod(shape) * dtype.itemsize > info.file_size
                ):
                    raise ValueError(f"its array {name} is not what its header says")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _read_checked(path):
    """The manifest and the parts of a model file, every checksum verified.

    Nothing is read before the zip directory says it fits in the file: parts
    must be stored uncompressed (as :func:`save_model` writes them), so
    their total cannot exceed the file's size, and the manifest is capped at
    ``MAX_MANIFEST_BYTES``.
    """
    with zipfile.ZipFile(path) as archive:
        names = set(_stored_parts(archive, path.stat().st_size))
        if "manifest.json" not in names:
            raise ValueError("it has no manifest")
        if archive.getinfo("manifest.json").file_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"its manifest is over {MAX_MANIFEST_BYTES} bytes")
        manifest_bytes = archive.read("manifest.json")
        digest = (
            archive.read("manifest.sha256").decode(errors="replace")
            if "manifest.sha256" in names
            else ""
        )
        if _sha256(manifest_bytes) != digest:
            raise ValueError("it was changed or damaged: its manifest checksum fails")
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("its manifest is not a skgalaxy model's")
        if manifest.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"it has format version {manifest.get('version')!r}; this "
                f"skgalaxy reads version {FORMAT_VERSION}"
            )
        expected = manifest.get("sha256")
        parts = names - {"manifest.json", "manifest.sha256"}
        if not isinstance(expected, dict) or set(expected) != parts:
            raise ValueError("it was changed: its parts differ from its manifest")
        members = {name: archive.read(name) for name in sorted(parts)}
    for name, data in members.items():
        if _sha256(data) != expected[name]:
            raise ValueError(f"it was changed or damaged: {name} fails its checksum")
    if "arrays.npz" not in members:
        raise ValueError("it lacks its arrays")
    return manifest, members


#: What :func:`export_onnx` can export, per estimator: method -> output names.
ONNX_METHODS = {
    "GalaxyCNNClassifier": {"predict_proba": ["proba"], "transform": ["embedding"]},
    "FlowVAETransformer": {"transform": ["embedding"]},
    "ContrastiveTransformer": {"transform": ["embedding"]},
    "CAEAnomalyDetector": {
        "transform": ["codes"],
        "score_terms": ["mse", "smoothed", "codes"],
    },
    "AHUNTDetector": {"predict_proba": ["proba"]},
}


def _inference_graph(estimator, method):
    """A torch module computing ``method`` from NHWC float32 images."""
    import torch

    from .nn.augment import dihedral, dihedral_transforms
    from .nn.functional import gaussian_blur

    steps = getattr(estimator, "steps", None)
    scaler = None
    if steps is not None:
        names = [type(step).__name__ for _, step in steps]
        if len(steps) > 2 or (len(steps) == 2 and names[0] != "ArcsinhScaler"):
            raise ValueError(
                "export_onnx takes an estimator or a Pipeline of ArcsinhScaler and "
                f"one estimator, got the steps {names}."
            )
        scaler = steps[0][1] if len(steps) == 2 else None
        estimator = steps[-1][1]
    name = type(estimator).__name__
    if name not in ONNX_METHODS or method not in ONNX_METHODS[name]:
        known = {k: sorted(v) for k, v in ONNX_METHODS.items()}
        raise ValueError(f"Cannot export {name}.{method}; exportable: {known}.")
    if name == "AHUNTDetector" and (
        estimator.net_ is None or estimator.backbone_ == "mlp"
    ):
        raise ValueError(
            "Only an AHUNTDetector with a trained CNN (on images) exports."
        )
    module = estimator.net_.module_
    height, width = estimator.image_shape_[:2]
    transforms = dihedral_transforms(height == width, getattr(estimator, "flips", True))

    class InferenceGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module
            self.register_buffer(
                "input_scale", torch.tensor(float(estimator.input_scale_))
            )
            if scaler is not None:
                self.register_buffer("softening", torch.tensor(float(scaler.softening)))
                self.register_buffer(
                    "channel_scale", torch.as_tensor(scaler.scale_, dtype=torch.float32)
                )

        def forward(self, images):
            x = images
            if scaler is not None:
                x = torch.asinh(x / self.softening) / self.channel_scale
            x = (x / self.input_scale).permute(0, 3, 1, 2)
            if name == "GalaxyCNNClassifier" and method == "predict_proba":
                turns = transforms if estimator.tta else [0]
                proba = sum(self.module(dihedral(x, k)).softmax(dim=1) for k in turns)
                return proba / proba.sum(dim=1, keepdim=True)
            if name == "AHUNTDetector":
                return self.module(x).softmax(dim=1)
            if name == "GalaxyCNNClassifier":
                return self.module.embed(x)
            if name == "FlowVAETransformer":
                return self.module.encode(x)[0]
            if name == "ContrastiveTransformer":
                return self.module.encode(x)
            codes = self.module.encode(x)
            if method == "transform":
                return codes
            residual = x - self.module.decode(codes)
            smoothed = gaussian_blur(residual, estimator.smoothing)
            return (
                (residual**2).mean(dim=(1, 2, 3)),
                (smoothed**2).mean(dim=(1, 2, 3)),
                codes,
            )

    return InferenceGraph().eval(), estimator, ONNX_METHODS[name][method]


def export_onnx(estimator, path, method=None):
    """Export the inference graph of a fitted estimator as ONNX.

    The graph takes ``images``: NHWC float32 images (uint8 images cast to
    float32, values unchanged) with any batch size, and applies everything
    the estimator does to them — dividing uint8-fitted models' input by 255,
    an ``ArcsinhScaler`` step of a pipeline, the network, test-time
    augmentation — so its outputs match the estimator's.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted :class:`~skgalaxy.classification.GalaxyCNNClassifier`,
        :class:`~skgalaxy.representation.FlowVAETransformer`,
        :class:`~skgalaxy.anomaly.CAEAnomalyDetector` or CNN
        :class:`~skgalaxy.anomaly.AHUNTDetector`, alone or after an
        ``ArcsinhScaler`` in a Pipeline.
    path : str or path-like
        The ``.onnx`` file to write.
    method : str or None, default=None
        What the graph computes: ``"predict_proba"`` (classifier, AHUNT;
        the default for them), ``"transform"`` (embeddings, codes; the
        default for the VAE) or ``"score_terms"`` (the CAE's default: the
        per-image ``mse`` and ``smoothed`` residuals and the ``codes`` from
        which :meth:`~skgalaxy.anomaly.CAEAnomalyDetector.score_samples`
        combines its measure).

    Returns
    -------
    outputs : list of str
        The names of the graph's outputs.

    Examples
    --------
    >>> from skgalaxy.io import export_onnx
    >>> export_onnx(classifier, "classifier.onnx")  # doctest: +SKIP
    ['proba']
    """
    import contextlib
    import warnings

    import torch

    final = getattr(estimator, "steps", [[None, estimator]])[-1][1]
    if method is None:
        method = next(iter(ONNX_METHODS.get(type(final).__name__, {"?": None})))
        if type(final).__name__ == "CAEAnomalyDetector":
            method = "score_terms"
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(final)
    graph, final, outputs = _inference_graph(estimator, method)
    example = torch.zeros((2, *final.image_shape_), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1)
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        torch.inference_mode(False),
    ):
        warnings.simplefilter("ignore", FutureWarning)  # from torch's exporter
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=["images"],
            output_names=outputs,
            dynamic_shapes={"images": {0: batch}},
            dynamo=True,
            verbose=False,
        )
    return outputs


def check_trusted_parts(value):
    """Refuse the trusted compiled objects of a skops part that index out of range.

    skops rebuilds the trees of a forest and the neighbour searches of
    ``TRUSTED_TYPES`` from their arrays, which their compiled code then
    follows without bounds checks: a crafted child index would crash the
    process. Every such object found in ``value`` (an estimator, lists and
    dicts of them) is checked.
    """
    from sklearn.base import BaseEstimator
    from sklearn.neighbors import BallTree, KDTree
    from sklearn.tree._tree import Tree

    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Tree):
            _check_tree(item)
        elif isinstance(item, (KDTree, BallTree)):
            _check_binary_tree(item)
        elif isinstance(item, BaseEstimator):
            pending.extend(vars(item).values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, np.ndarray) and item.dtype == object:
            pending.extend(item.ravel().tolist())


def _check_tree(tree):
    n = tree.node_count
    left, right = tree.children_left, tree.children_right
    leaf = left == -1
    nodes = np.arange(n)
    internal = ~leaf
    valid = (
        len(left) == len(right) == len(tree.feature) == len(tree.threshold) == n
        and n >= 1
        and np.array_equal(leaf, right == -1)
        and np.all((left[internal] > nodes[internal]) & (left[internal] < n))
        and np.all((right[internal] > nodes[internal]) & (right[internal] < n))
        and np.all(tree.feature[internal] >= 0)
        and np.all(tree.feature[internal] < tree.n_features)
        and np.isfinite(tree.threshold[internal]).all()
        and tree.value.shape[0] == n
    )
    if not valid:
        raise ValueError("it holds a decision tree whose nodes point out of range")


def _check_binary_tree(tree):
    data, index, nodes, bounds = (np.asarray(a) for a in tree.get_arrays())
    n_levels, n_nodes = tree.__getstate__()[5:7]
    n = len(data)
    inner = np.flatnonzero(nodes["is_leaf"] == 0) if len(nodes) else np.array([])
    valid = (
        np.array_equal(np.sort(index), np.arange(n))
        and n_nodes == len(nodes) == 2**n_levels - 1
        and bounds.ndim == 3
        and bounds.shape[1:] == (n_nodes, data.shape[1])
        and np.all((0 <= nodes["idx_start"]) & (nodes["idx_start"] <= nodes["idx_end"]))
        and np.all(nodes["idx_end"] <= n)
        and np.all(2 * inner + 2 < n_nodes)
    )
    if not valid:
        raise ValueError("it holds a neighbour search whose nodes point out of range")
