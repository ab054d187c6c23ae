"""Request parameters of the Prometheus HTTP API: times, durations, limits and errors.

Times are Unix seconds with decimals (rounded to the millisecond) or RFC 3339 timestamps;
durations are float seconds or Prometheus durations such as ``5m`` and ``1h30m``. Error texts
are Prometheus' own (web/api/v1/api.go in Prometheus 3), since users paste them into searches.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "ApiError",
    "bad_data",
    "go_quote",
    "invalid_param",
    "parse_duration_ns",
    "parse_limit",
    "parse_time",
]

_MAX_INT64 = (1 << 63) - 1
_NS_PER_S = 1_000_000_000

# Prometheus' defaults for optional time ranges (MinTime/MaxTime) and their RFC 3339 texts,
# which client libraries send back and Go's year-limited parser handles as special cases.
MIN_TIME_MS = -9_223_309_901_257_974_000
MAX_TIME_MS = 9_223_309_901_257_974_999
_BOUNDARY_TIMES = {
    "-292273086-05-16T16:47:06Z": MIN_TIME_MS,
    "292277025-08-18T07:12:54.999999999Z": MAX_TIME_MS,
}


class ApiError(Exception):
    """An error response: Prometheus' ``errorType`` with its HTTP status."""

    def __init__(self, error_type: str, message: str, status: int) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def bad_data(message: str) -> ApiError:
    return ApiError("bad_data", message, 400)


def invalid_param(name: str, message: str) -> ApiError:
    return bad_data(f"invalid parameter {go_quote(name)}: {message}")


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GO_ESCAPES.update({"\v": "\\v", '"': '\\"', "\\": "\\\\"})


def go_quote(text: str) -> str:
    """Go's ``%q`` for the texts error messages quote (printable text is kept as is)."""
    out = []
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


# Go's strconv.ParseFloat syntax (decimal forms): digits may be separated by single "_".
_DIGITS = r"\d(?:_?\d)*"
_GO_FLOAT = re.compile(
    rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?"
    r"|(?i:[+-]?inf(?:inity)?|nan)"
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)


def _go_float(text: str) -> float | None:
    return float(text) if _GO_FLOAT.fullmatch(text) else None


def parse_time(text: str) -> int:
    """Unix seconds (``"1700000000.123"``) or RFC 3339 (``"2023-11-14T22:13:20.123Z"``) to
    milliseconds. Fractions of seconds are rounded to the millisecond as Prometheus does;
    RFC 3339 fractions beyond the millisecond are cut.

    >>> parse_time("1700000000.123"), parse_time("2023-11-14T23:13:20.5+01:00")
    (1700000000123, 1700000000500)

    :raise ValueError: with Prometheus' message if *text* is neither.
    """
    seconds = _go_float(text)
    if seconds is not None:
        if math.isfinite(seconds) and abs(seconds) < 9.2e15:
            fraction, whole = math.modf(seconds)
            # Go's math.Round halves away from zero (Python's round() goes to even).
            ms = math.floor(abs(fraction) * 1000 + 0.5)
            return int(whole) * 1000 + (-ms if fraction < 0 else ms)
    else:
        ms = _BOUNDARY_TIMES.get(text)
        if ms is None:
            ms = _parse_rfc3339(text)
        if ms is not None:
            return ms
    raise ValueError(f"cannot parse {go_quote(text)} to a valid timestamp")


def _parse_rfc3339(text: str) -> int | None:
    found = _RFC3339.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    fraction, zone = found.group(7) or "", found.group(8)
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if zone != "Z":
        zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
        if zone_hours > 23 or zone_minutes > 59:
            return None
        offset = (zone_hours * 60 + zone_minutes) * 60 * (-1 if zone[0] == "-" else 1)
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return (seconds - offset) * 1000 + int((fraction + "000")[:3])


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNIT_NS = (
    365 * 86400 * _NS_PER_S,
    7 * 86400 * _NS_PER_S,
    86400 * _NS_PER_S,
    3600 * _NS_PER_S,
    60 * _NS_PER_S,
    _NS_PER_S,
    1_000_000,
)


def parse_duration_ns(text: str) -> int:
    """Float seconds (``"15"``, ``"0.5"``) or a Prometheus duration (``"1h30m"``) to
    nanoseconds, the unit of Go's ``time.Duration``. Negative float seconds are allowed
    (the caller decides); negative Prometheus durations are not.

    >>> parse_duration_ns("1m30s") == parse_duration_ns("90") == 90 * 10**9
    True

    :raise ValueError: with Prometheus' message if *text* is neither, or overflows int64.
    """
    seconds = _go_float(text)
    if seconds is not None and not math.isnan(seconds):
        ns = seconds * _NS_PER_S
        if ns > _MAX_INT64 or ns < -_MAX_INT64 - 1:
            quoted = go_quote(text)
            raise ValueError(f"cannot parse {quoted} to a valid duration. It overflows int64")
        return int(ns)
    found = _DURATION.fullmatch(text)
    if seconds is None and text and found is not None:
        total = sum(int(n) * unit for n, unit in zip(found.groups(), _UNIT_NS, strict=True) if n)
        if total <= _MAX_INT64:
            return total
    raise ValueError(f"cannot parse {go_quote(text)} to a valid duration")


def parse_limit(text: str) -> int:
    """The ``limit`` parameter: 0 (no limit) when empty.

    :raise ApiError: bad_data naming the parameter, as Prometheus does.
    """
    if text == "":
        return 0
    if re.fullmatch(r"[+-]?\d+", text) is None:
        raise invalid_param("limit", f"strconv.Atoi: parsing {go_quote(text)}: invalid syntax")
    limit = int(text)
    if not -_MAX_INT64 - 1 <= limit <= _MAX_INT64:
        quoted = go_quote(text)
        raise invalid_param("limit", f"strconv.Atoi: parsing {quoted}: value out of range")
    if limit < 0:
        raise invalid_param("limit", "limit must be non-negative")
    return limit
