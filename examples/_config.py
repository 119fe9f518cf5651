"""Sizes for the examples: full by default, tiny with SKGALAXY_FAST=1 (CI)."""

import os

FAST = os.environ.get("SKGALAXY_FAST", "") not in ("", "0")


def size(full, fast):
    """``fast`` when SKGALAXY_FAST is set, else ``full``."""
    return fast if FAST else full
