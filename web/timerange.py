"""The time range and auto-refresh every page takes from its URL, so links share them.

``?range=1h`` picks a preset ending now; ``?range=custom&from=...&to=...`` a fixed window
(each an ISO date-time in UTC such as ``2024-05-01T12:00``, or Unix seconds);
``?refresh=30s`` reloads the page on that interval.

>>> r = parse_time_range({"range": "6h"}, now_ms=21_600_000)
>>> (r.start_ms, r.end_ms, r.step_ms)
(0, 21600000, 120000)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "CUSTOM",
    "DEFAULT_RANGE",
    "PRESETS",
    "REFRESH_CHOICES",
    "TimeRange",
    "TimeRangeError",
    "parse_time_range",
]

_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
#: Preset key -> length in ms, in the order the picker lists them.
PRESETS: dict[str, int] = {
    "15m": 15 * _MINUTE,
    "1h": _HOUR,
    "6h": 6 * _HOUR,
    "24h": _DAY,
    "7d": 7 * _DAY,
    "30d": 30 * _DAY,
}
DEFAULT_RANGE = "1h"
CUSTOM = "custom"  # ``range=custom`` takes ``from`` and ``to``
#: Auto-refresh choice -> seconds (0: never).
REFRESH_CHOICES: dict[str, int] = {"off": 0, "10s": 10, "30s": 30, "1m": 60, "5m": 300, "15m": 900}
#: Names this module owns in a query string; pages keep every other parameter.
TIME_PARAMS = ("range", "from", "to", "refresh")
# About 250 points per series (as Prometheus' graph page), on a step a person can read.
_TARGET_POINTS = 250
_NICE_STEPS_S = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_MAX_RANGE_MS = 400 * _DAY


class TimeRangeError(ValueError):
    """A time parameter of the URL is malformed; the message names it."""


@dataclass(frozen=True)
class TimeRange:
    """A window ``[start_ms, end_ms]``: a preset (``preset`` set) or custom."""

    start_ms: int
    end_ms: int
    preset: str | None
    refresh: str = "off"

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def step_ms(self) -> int:
        """A readable query step giving about 250 points over the window."""
        wanted_s = max(1, math.ceil(self.duration_ms / 1000 / _TARGET_POINTS))
        step_s = next((s for s in _NICE_STEPS_S if s >= wanted_s), None)
        return 1000 * (step_s if step_s is not None else math.ceil(wanted_s / 86400) * 86400)

    @property
    def refresh_seconds(self) -> int:
        return REFRESH_CHOICES[self.refresh]

    @property
    def label(self) -> str:
        if self.preset:
            return f"last {self.preset}"
        return f"{format_utc(self.start_ms)} to {format_utc(self.end_ms)} UTC"

    def query_args(self) -> dict[str, str]:
        """The URL parameters that reproduce this range (for links to other pages)."""
        if self.preset:
            args = {"range": self.preset}
        else:
            args = {"range": CUSTOM}
            args.update({"from": format_utc(self.start_ms), "to": format_utc(self.end_ms)})
        if self.refresh != "off":
            args["refresh"] = self.refresh
        return args


def format_utc(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM`` (seconds only when not zero), as ``<input type=datetime-local>``."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _parse_instant(name: str, text: str) -> int:
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TimeRangeError(
                f"parameter {name!r}: {text!r} is neither an ISO date-time nor Unix seconds"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if not math.isfinite(seconds):
        raise TimeRangeError(f"parameter {name!r}: {text!r} is not a finite time")
    return int(seconds * 1000)


def parse_time_range(args: Mapping[str, str], now_ms: int) -> TimeRange:
    """The range the URL parameters ask for (the default preset when none).

    :raise TimeRangeError: naming the bad parameter.
    """
    refresh = args.get("refresh") or "off"
    if refresh not in REFRESH_CHOICES:
        choices = ", ".join(REFRESH_CHOICES)
        raise TimeRangeError(f"parameter 'refresh': {refresh!r} is not one of {choices}")
    preset = args.get("range") or ""
    if preset == CUSTOM or (not preset and (args.get("from") or args.get("to"))):
        return _custom_range(args, refresh)
    preset = preset or DEFAULT_RANGE
    if preset not in PRESETS:
        choices = ", ".join([*PRESETS, CUSTOM])
        raise TimeRangeError(f"parameter 'range': {preset!r} is not one of {choices}")
    return TimeRange(now_ms - PRESETS[preset], now_ms, preset, refresh)


def _custom_range(args: Mapping[str, str], refresh: str) -> TimeRange:
    if not (args.get("from") and args.get("to")):
        raise TimeRangeError("a custom range needs both parameters 'from' and 'to'")
    start = _parse_instant("from", args["from"])
    end = _parse_instant("to", args["to"])
    if end <= start:
        raise TimeRangeError("parameter 'to' must be after 'from'")
    if end - start > _MAX_RANGE_MS:
        raise TimeRangeError("the time range may span at most 400 days")
    return TimeRange(start, end, None, refresh)
