"""Go's ``*time.Time`` and ``*time.Duration`` as templates see them (``toTime``,
``toDuration``, ``humanizeTimestamp``): their ``String()`` forms, ``Format`` with Go's
reference layout, and the methods rule templates call on them (``.Unix``, ``.Seconds`` ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["GoDuration", "GoTime", "duration_string", "format_layout"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NS = 1_000_000_000
_DEFAULT_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST"

# Go's layout elements, longest first so "January" wins over "Jan" and "2006" over "2".
_LAYOUT_TOKEN = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|002|_2|15|01|02|03|04|05|06|1|2|3|4|5|PM|pm"
    r"|Z07:00:00|Z070000|Z07:00|Z0700|Z07|-07:00:00|-070000|-07:00|-0700|-07"
    r"|[.,](?:0+|9+)(?![0-9])"
)


def _fraction(nanos: int, digits: str) -> str:
    """``.000``-style (fixed width) or ``.999``-style (trailing zeros dropped) fraction."""
    width = len(digits) - 1
    text = f"{nanos:09d}"[:width]
    if digits[1] == "9":
        text = text.rstrip("0")
        return digits[0] + text if text else ""
    return digits[0] + text


def _element(token: str, moment: dt.datetime, nanos: int) -> str:
    simple: dict[str, Callable[[], str]] = {
        "January": lambda: moment.strftime("%B"),
        "Jan": lambda: moment.strftime("%b"),
        "Monday": lambda: moment.strftime("%A"),
        "Mon": lambda: moment.strftime("%a"),
        "MST": lambda: "UTC",
        "2006": lambda: f"{moment.year:04d}",
        "06": lambda: f"{moment.year % 100:02d}",
        "002": lambda: f"{moment.timetuple().tm_yday:03d}",
        "01": lambda: f"{moment.month:02d}",
        "1": lambda: str(moment.month),
        "02": lambda: f"{moment.day:02d}",
        "2": lambda: str(moment.day),
        "_2": lambda: f"{moment.day:2d}",
        "15": lambda: f"{moment.hour:02d}",
        "03": lambda: f"{(moment.hour % 12) or 12:02d}",
        "3": lambda: str((moment.hour % 12) or 12),
        "04": lambda: f"{moment.minute:02d}",
        "4": lambda: str(moment.minute),
        "05": lambda: f"{moment.second:02d}",
        "5": lambda: str(moment.second),
        "PM": lambda: "PM" if moment.hour >= 12 else "AM",
        "pm": lambda: "pm" if moment.hour >= 12 else "am",
    }
    if token in simple:
        return simple[token]()
    if token[0] in ".,":
        return _fraction(nanos, token[:2] if len(token) == 2 else token)
    if token.startswith("Z"):
        return "Z"  # templates only ever see UTC times
    return {"-07": "+00", "-0700": "+0000", "-07:00": "+00:00"}.get(token, "+000000")


def format_layout(ns: int, layout: str) -> str:
    """``time.Time.Format(layout)`` for a UTC time ``ns`` nanoseconds after the epoch."""
    seconds, nanos = divmod(ns, _NS)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    out: list[str] = []
    last = 0
    for match in _LAYOUT_TOKEN.finditer(layout):
        out.append(layout[last : match.start()])
        out.append(_element(match.group(0), moment, nanos))
        last = match.end()
    out.append(layout[last:])
    return "".join(out)


def _decimal(value: int, scale: int) -> str:
    """``value / 10**scale`` with the fraction's trailing zeros dropped (Go's fmtFrac)."""
    whole, frac = divmod(value, 10**scale)
    digits = f"{frac:0{scale}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def duration_string(ns: int) -> str:
    """``time.Duration.String()``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    size = abs(ns)
    if size < 1000:
        return f"{sign}{size}ns"
    if size < 1_000_000:
        return f"{sign}{_decimal(size, 3)}µs"
    if size < _NS:
        return f"{sign}{_decimal(size, 6)}ms"
    whole_seconds = size // _NS
    text = _decimal(size % (60 * _NS), 9) + "s"
    minutes = whole_seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes // 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


@dataclass(frozen=True)
class GoTime:
    """A ``*time.Time`` in UTC, ``ns`` nanoseconds after the Unix epoch."""

    ns: int

    def __str__(self) -> str:
        return format_layout(self.ns, _DEFAULT_LAYOUT)

    def method(self, name: str) -> tuple[tuple[str, ...], Callable[..., Any]] | None:
        """The method ``name`` as (parameter types, function), or None."""
        seconds, nanos = divmod(self.ns, _NS)
        moment = _EPOCH + dt.timedelta(seconds=seconds)
        plain: dict[str, Callable[[], Any]] = {
            "Unix": lambda: seconds,
            "UnixMilli": lambda: self.ns // 1_000_000,
            "UnixMicro": lambda: self.ns // 1000,
            "UnixNano": lambda: self.ns,
            "UTC": lambda: self,
            "Local": lambda: self,
            "String": lambda: str(self),
            "Year": lambda: moment.year,
            "Month": lambda: moment.strftime("%B"),
            "Day": lambda: moment.day,
            "Hour": lambda: moment.hour,
            "Minute": lambda: moment.minute,
            "Second": lambda: moment.second,
            "Nanosecond": lambda: nanos,
            "YearDay": lambda: moment.timetuple().tm_yday,
            "Weekday": lambda: moment.strftime("%A"),
        }
        if name in plain:
            return (), plain[name]
        if name == "Format":
            return ("string",), lambda layout: format_layout(self.ns, layout)
        return None


@dataclass(frozen=True)
class GoDuration:
    """A ``*time.Duration`` of ``ns`` nanoseconds."""

    ns: int

    def __str__(self) -> str:
        return duration_string(self.ns)

    def method(self, name: str) -> tuple[tuple[str, ...], Callable[..., Any]] | None:
        """The method ``name`` as (parameter types, function), or None."""
        plain: dict[str, Callable[[], Any]] = {
            "Seconds": lambda: self.ns / _NS,
            "Minutes": lambda: self.ns / (60 * _NS),
            "Hours": lambda: self.ns / (3600 * _NS),
            "Milliseconds": lambda: int(self.ns / 1_000_000),
            "Microseconds": lambda: int(self.ns / 1000),
            "Nanoseconds": lambda: self.ns,
            "String": lambda: str(self),
        }
        if name in plain:
            return (), plain[name]
        return None
