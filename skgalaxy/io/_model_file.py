"""Model files that hold no code: :func:`save_model` and :func:`load_model`."""

import hashlib
import io
import json
import math
import zipfile
from pathlib import Path, PurePath

import numpy as np

from .. import _ESTIMATORS, __version__
from .._utils import write_atomically
from ._trusted import TRUSTED_TYPES, check_trusted_parts
from ._weights import _check_weights, _safetensors_layout

FORMAT = "skgalaxy-model"
#: The version of the file format :func:`save_model` writes.
FORMAT_VERSION = 1

#: Parameters added since format version 1, with the value that builds the
#: network that files written before them hold.
PARAMETERS_ADDED = {"pooling": "mean", "asymmetry": False}


def _estimator_class(name):
    import skgalaxy

    if name not in _ESTIMATORS:
        raise ValueError(f"The model file names an unknown estimator {name!r}.")
    return getattr(skgalaxy, name)


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
        if isinstance(value, PurePath):
            return {"__path__": str(value)}
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
        if tag == "__path__":
            if not isinstance(value, str):
                raise ValueError("The model file's tree is malformed.")
            return Path(value)
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


#: Largest manifest a model file may have.
MAX_MANIFEST_BYTES = 16 * 2**20


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

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("manifest.json", manifest_bytes)
            archive.writestr("manifest.sha256", _sha256(manifest_bytes))
            for name, data in parts.items():
                archive.writestr(name, data)

    path = write_atomically(path, write)
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
