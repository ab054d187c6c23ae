"""Prometheus' number and time helpers for templates: ``humanize``, ``humanize1024``,
``humanizeDuration``, ``humanizePercentage``, ``humanizeTimestamp``, ``toTime``, ``toDuration``,
``parseDuration``, and the ``strconv.ParseFloat`` they share.
"""

from __future__ import annotations

import math
import re
from typing import Any

from slo.rules.template_builtins import FuncError
from slo.rules.template_gofmt import format_float
from slo.rules.template_time import GoDuration, GoTime
from slo.rules.template_values import go_type

__all__ = [
    "humanize",
    "humanize1024",
    "humanize_duration",
    "humanize_percentage",
    "humanize_timestamp",
    "parse_duration",
    "to_duration",
    "to_float",
    "to_time",
]

_DIGITS = r"[0-9](?:_?[0-9])*"
_HEX = r"_?[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_FLOAT = re.compile(
    rf"[+-]?(?:(?:{_DIGITS}\.?(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?"
    rf"|0[xX](?:{_HEX}\.?(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?|\.{_HEX})[pP][+-]?{_DIGITS}"
    r"|(?i:inf|infinity|nan))"
)
_SI_UP = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_SI_DOWN = ("m", "u", "n", "p", "f", "a", "z", "y")
_BINARY = ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")
_DURATION_UNITS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000}
_DURATION_UNITS |= {"h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
_DURATION_PART = re.compile(r"([0-9]+)([^0-9]*)")


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)`` with its error texts."""
    if not _GO_FLOAT.fullmatch(text):
        raise FuncError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    body = text.lstrip("+-").replace("_", "")
    plain = text.replace("_", "")
    value = float.fromhex(plain) if body[:2].lower() == "0x" else float(plain)
    if math.isinf(value) and "inf" not in body.lower():
        raise FuncError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def to_float(value: Any) -> float:
    """Prometheus' ``ConvertToFloat``: float64, string, int; anything else is an error."""
    if isinstance(value, bool) or value is None or not isinstance(value, (int, float, str)):
        raise FuncError(f"can't convert {go_type(value)} to float")
    if isinstance(value, str):
        return parse_float(value)
    return float(value)


def _g4(value: float) -> str:
    return format_float(value, "g", 4)


def humanize(raw: Any) -> str:
    value = to_float(raw)
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    if abs(value) >= 1:
        for candidate in _SI_UP:
            if abs(value) < 1000:
                break
            prefix, value = candidate, value / 1000
        return _g4(value) + prefix
    for candidate in _SI_DOWN:
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return _g4(value) + prefix


def humanize1024(raw: Any) -> str:
    value = to_float(raw)
    if abs(value) <= 1 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    for candidate in _BINARY:
        if abs(value) < 1024:
            break
        prefix, value = candidate, value / 1024
    return _g4(value) + prefix


def humanize_duration(raw: Any) -> str:
    value = to_float(raw)
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    if value == 0:
        return _g4(value) + "s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        whole = int(value)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(value)}s"
    prefix = ""
    for candidate in _SI_DOWN:
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return f"{_g4(value)}{prefix}s"


def humanize_percentage(raw: Any) -> str:
    return _g4(to_float(raw) * 100) + "%"


def _float_to_time(value: float) -> GoTime:
    if math.isnan(value) or math.isinf(value):
        raise FuncError("value is NaN or Inf")
    ns = value * 1e9
    if ns > 2**63 - 1 or ns < -(2**63):
        message = f"{format_float(value)} cannot be represented as a nanoseconds timestamp"
        raise FuncError(message + " since it overflows int64")
    return GoTime(int(ns))


def humanize_timestamp(raw: Any) -> str:
    value = to_float(raw)
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    return str(_float_to_time(value))


def to_time(raw: Any) -> GoTime:
    return _float_to_time(to_float(raw))


def to_duration(raw: Any) -> GoDuration:
    return GoDuration(int(to_float(raw) * 1e9))


def _parse_unsigned_duration(text: str) -> int:
    """Prometheus' ``model.ParseDuration``, in nanoseconds."""
    if text == "0":
        return 0
    if text == "":
        raise FuncError("empty duration string")
    total, last_rank, pos = 0, -1, 0
    ranks = list(_DURATION_UNITS)
    invalid = FuncError(f'not a valid duration string: "{text}"')
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or not match.group(2):
            raise invalid
        unit = match.group(2)
        if unit not in _DURATION_UNITS:
            raise FuncError(f'unknown unit "{unit}" in duration "{text}"')
        if ranks.index(unit) <= last_rank:
            raise invalid
        last_rank = ranks.index(unit)
        mult = _DURATION_UNITS[unit] * 1_000_000
        if int(match.group(1)) > 2**63 // mult:
            raise FuncError("duration out of range")
        total += int(match.group(1)) * mult
        if total > 2**63 - 1:
            raise FuncError("duration out of range")
        pos = match.end()
    return total


def parse_duration(text: str) -> float:
    """Prometheus' ``model.ParseDurationAllowNegative``, in seconds."""
    if text.startswith("-"):
        return -_parse_unsigned_duration(text[1:]) / 1e9
    return _parse_unsigned_duration(text) / 1e9
