"""Class labels as people give them: one rule for checking, missing and order (private).

A hunt's labels come from a person (the labelling page), an oracle or a
catalogue; the detector, the session and the page share these rules.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd

__all__ = [
    "as_kind",
    "discovered_classes",
    "label_kind",
    "spreadsheet_safe",
    "MAX_INTEREST_CLASSES",
    "MAX_LABEL_LENGTH",
    "check_interest",
    "is_unlabelled",
    "ordered_unique",
    "validate_label",
]

#: Longest label accepted.
MAX_LABEL_LENGTH = 64

#: Most classes an ``interest`` may weigh.
MAX_INTEREST_CLASSES = 1000

#: Texts that pandas and spreadsheets read back as a missing value: as labels
#: they would be lost on the way through an exported CSV file.
_READ_AS_MISSING = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
     "nan", "null"}
)  # fmt: skip


def ordered_unique(values):
    """Distinct values in order of first appearance (any hashable labels)."""
    return list(dict.fromkeys(values.tolist() if hasattr(values, "tolist") else values))


def is_unlabelled(value):
    """None, NaN of any float type and ``pd.NA`` mark an unlabelled sample."""
    missing = pd.isna(value)
    return bool(missing) if np.ndim(missing) == 0 else False


def _shown(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def validate_label(label):
    """Check a class label given by a person or an oracle; return it as stored.

    Strings are stripped and must be 1 to ``MAX_LABEL_LENGTH`` printable
    characters, and not a text that reads back as missing (``"nan"``,
    ``"None"``, ``"null"``, ...); integers and booleans pass; numpy scalars
    become Python scalars; None means "no label" (skipped).

    Parameters
    ----------
    label : str, int, bool, numpy scalar or None
        The label.

    Returns
    -------
    label : str, int, bool or None
        The label as it is stored.

    Examples
    --------
    >>> from skgalaxy.active import validate_label
    >>> validate_label("  merger ")
    'merger'
    >>> validate_label("")
    Traceback (most recent call last):
    ...
    ValueError: A label must have 1 to 64 characters, got ''.
    """
    if label is None:
        return None
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, (bool, Integral)):
        return label
    if not isinstance(label, str):
        raise TypeError(
            f"A label must be a string or an integer, got {type(label).__name__}."
        )
    text = label.strip()
    if not text or len(text) > MAX_LABEL_LENGTH:
        raise ValueError(
            f"A label must have 1 to {MAX_LABEL_LENGTH} characters, got "
            f"{_shown(label)}."
        )
    if not text.isprintable():
        raise ValueError(
            "A label must be printable text without control characters, got "
            f"{_shown(label)}."
        )
    if text in _READ_AS_MISSING:
        raise ValueError(
            f"{text!r} reads back as a missing value in CSV files and pandas; "
            "choose another label."
        )
    return text


def check_interest(interest):
    """Check ``{class: weight}``: valid labels, finite non-negative weights.

    At most ``MAX_INTEREST_CLASSES`` classes, at least one positive weight.
    Returns the interest with its labels as :func:`validate_label` stores
    them (None stays None).
    """
    if interest is None:
        return None
    if not isinstance(interest, dict) or not 0 < len(interest) <= MAX_INTEREST_CLASSES:
        raise ValueError(
            f"interest must map 1 to {MAX_INTEREST_CLASSES} class labels to "
            f"weights, got {_shown(interest)}."
        )
    checked = {}
    for label, weight in interest.items():
        if (
            not isinstance(weight, Real)
            or isinstance(weight, bool)
            or not np.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                "interest must map class labels to finite, non-negative weights, "
                f"got {_shown(label)}: {_shown(weight)}."
            )
        key = validate_label(label)
        if key is None:
            raise ValueError("interest cannot weigh the missing label None.")
        checked[key] = weight
    if sum(checked.values()) <= 0:
        raise ValueError("interest needs at least one positive weight.")
    return checked


def label_kind(labels):
    """``"int"`` when every label is an integer (not a bool), else ``"str"``."""
    ints = [isinstance(v, Integral) and not isinstance(v, bool) for v in labels]
    return "int" if ints and all(ints) else "str"


def as_kind(label, kind):
    """A checked label (see :func:`validate_label`) made of one ``kind``.

    For ``"int"``, text that spells an integer (``"1"``, as a web form sends
    it) becomes that integer; for ``"str"``, integers become text. Booleans
    and None stay as they are.
    """
    label = validate_label(label)
    if isinstance(label, bool) or label is None:
        return label
    if kind == "int" and isinstance(label, str):
        digits = label[1:] if label[:1] == "-" else label
        return int(label) if digits.isdigit() and digits.isascii() else label
    if kind == "str" and isinstance(label, Integral):
        return str(label)
    return label


def discovered_classes(labels, known, ignored=()):
    """The labels that are neither ``known`` nor ``ignored``, in their order.

    The default interest of a hunt: what the user found that was not known
    at the start.
    """
    skip = {*known, *ignored}
    return [c for c in ordered_unique(labels) if c not in skip]


def spreadsheet_safe(value):
    """A label as a CSV cell no spreadsheet runs as a formula (OWASP's rule)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
