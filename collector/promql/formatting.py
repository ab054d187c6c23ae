"""Number formatting as Prometheus does it (Go's ``strconv.FormatFloat(v, 'f', -1, 64)``)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["format_float"]


def format_float(value: float) -> str:
    """The shortest decimal that reads back as ``value``, never in exponent form.

    >>> [format_float(v) for v in (1.0, 0.1, 1e-7, 2.5e21, float("nan"), -float("inf"))]
    ['1', '0.1', '0.0000001', '2500000000000000000000', 'NaN', '-Inf']
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, unique=True, trim="-")
