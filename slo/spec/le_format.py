r"""How histogram bucket bounds (``le``) are spelled, so a threshold finds its bucket series.

Go's client and text exposition write the shortest ``'g'`` form (``0.25``, ``1``, ``1e+06``,
``+Inf``). Prometheus 3 normalises ``le`` to a float-like spelling on ingestion (``1.0``), and
so does Python's ``prometheus_client`` (its ``floatToGoString``). Our store keeps what each
source wrote, so a whole-number bound may be stored either way:

>>> go_float(0.25), go_float(1.0), go_float(1e6), go_float(float("inf"))
('0.25', '1', '1e+06', '+Inf')
>>> le_spellings(1.0)
('1', '1.0')
>>> le_matcher(0.3), le_matcher(1)
('le="0.3"', 'le=~"1|1\\\\.0"')
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["go_float", "le_matcher", "le_spellings", "parse_le"]


def go_float(value: float) -> str:
    """*value* as Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` writes it (``+Inf`` for inf)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    # repr() is the shortest string that round-trips, the same digits Go picks.
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    prefix = "-" if sign else ""
    exp = len(digits) + exponent - 1
    if exp < -4 or exp >= 6:  # Go's rule for the shortest 'g' format
        rest = "".join(map(str, digits[1:]))
        mantissa = f"{digits[0]}.{rest}" if rest else str(digits[0])
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return prefix + format(abs(Decimal(repr(float(value))).normalize()), "f")


def le_spellings(value: float) -> tuple[str, ...]:
    """Every spelling of bound *value* a store may hold: Go's, and the float-like one."""
    go = go_float(value)
    if any(ch in go for ch in ".eIN"):
        return (go,)
    return (go, go + ".0")


def le_matcher(value: float) -> str:
    """A PromQL ``le`` matcher that selects the bucket of *value* however it was spelled."""
    spellings = le_spellings(value)
    if len(spellings) == 1:
        return f'le="{spellings[0]}"'
    alternatives = "|".join(s.replace(".", "\\\\.") for s in spellings)
    return f'le=~"{alternatives}"'


def parse_le(text: str) -> float | None:
    """A stored ``le`` value as a number, or None when it is not one."""
    try:
        return float(text)
    except ValueError:
        return None
