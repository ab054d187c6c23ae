"""Prometheus duration strings, parsed to integer milliseconds.

This is a port of ``ParseDuration`` in prometheus/common ``model/time.go``, so a duration
that Prometheus accepts in its flags, config and rule files is accepted here, and one it
rejects is rejected here:

>>> parse_duration("1h30m")
5400000
>>> parse_duration("30d") == 30 * 24 * 3600 * 1000
True
>>> parse_duration("0")
0
>>> parse_duration("1.5h")
Traceback (most recent call last):
...
ValueError: unknown unit '.' in duration '1.5h'
"""

from __future__ import annotations

__all__ = ["parse_duration"]

# unit -> (position, milliseconds). Units must appear from biggest to smallest, at most once
# each, which guards against reading "1m1d" as one month and a day (Prometheus' reasoning).
# A year is always 365 days, a week 7 days and a day 24 hours.
_UNITS: dict[str, tuple[int, int]] = {
    "y": (1, 365 * 24 * 3_600_000),
    "w": (2, 7 * 24 * 3_600_000),
    "d": (3, 24 * 3_600_000),
    "h": (4, 3_600_000),
    "m": (5, 60_000),
    "s": (6, 1_000),
    "ms": (7, 1),
}
_NS_PER_MS = 1_000_000
# Prometheus holds the result in a Go time.Duration (int64 nanoseconds, about 292 years).
_MAX_NS = (1 << 63) - 1
_DIGITS = frozenset("0123456789")


def parse_duration(text: str) -> int:
    """Return the duration *text* (Prometheus syntax) in milliseconds.

    The grammar is one or more ``<integer><unit>`` terms with units ``y w d h m s ms`` in that
    order, each used at most once, e.g. ``"90m"``, ``"1h30m"``, ``"2w3d"``. A bare ``"0"`` is
    allowed; signs, fractions, spaces and other units are not.

    :raise ValueError: if *text* is not a valid duration or exceeds about 292 years.
    """
    if text == "0":
        return 0
    if text == "":
        raise ValueError("empty duration string")
    total_ns = 0
    last_pos = 0
    rest = text
    while rest:
        number, rest = _split_run(rest, digits=True)
        if not number:
            raise ValueError(f"not a valid duration string: {text!r}")
        # Go's strconv.ParseUint(s, 10, 64) rejects anything that does not fit in 64 bits.
        value = int(number)
        if value >= 1 << 64:
            raise ValueError(f"not a valid duration string: {text!r}")
        unit, rest = _split_run(rest, digits=False)
        if not unit:
            raise ValueError(f"not a valid duration string: {text!r}")
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {unit!r} in duration {text!r}")
        pos, unit_ms = _UNITS[unit]
        if pos <= last_pos:
            raise ValueError(f"not a valid duration string: {text!r}")
        last_pos = pos
        unit_ns = unit_ms * _NS_PER_MS
        if value > (1 << 63) // unit_ns:
            raise ValueError("duration out of range")
        total_ns += value * unit_ns
        if total_ns > _MAX_NS:
            raise ValueError("duration out of range")
    return total_ns // _NS_PER_MS


def _split_run(text: str, *, digits: bool) -> tuple[str, str]:
    """Split *text* after its leading run of ASCII digits (or of non-digits)."""
    end = 0
    while end < len(text) and (text[end] in _DIGITS) == digits:
        end += 1
    return text[:end], text[end:]
