"""Network weights checked against the network their parameters describe."""

import json
import math

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
