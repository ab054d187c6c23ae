"""SLO windows: native ``window:`` values and OpenSLO ``timeWindow`` items.

Calendar windows keep a nominal length for rule ranges: 7 days for a week, 30 for a month, 90
for a quarter (the budget itself resets at the calendar boundary in the window's time zone).
"""

from __future__ import annotations

import datetime as dt
import re

import yaml

from slo.spec.checks import read_duration, read_time_zone
from slo.spec.model import Window
from slo.spec.yaml_reader import SpecReader, child, describe

__all__ = [
    "CALENDAR_DAYS",
    "DEFAULT_WINDOW",
    "read_native_window",
    "read_openslo_time_window",
    "read_shorthand",
]

_DAY_MS = 24 * 3_600_000
CALENDAR_DAYS = {"week": 7, "month": 30, "quarter": 90}
#: Sloth's default SLO period, and ours when a spec names none.
DEFAULT_WINDOW = Window("rolling", 30 * _DAY_MS)
_SHORTHAND = re.compile(r"([1-9][0-9]*)([mhdwMQY])")
_SHORTHAND_MS = {"m": 60_000, "h": 3_600_000, "d": _DAY_MS, "w": 7 * _DAY_MS}
_OPENSLO_CALENDAR = {"1w": "week", "1M": "month", "1Q": "quarter"}


def _calendar(unit: str, time_zone: str) -> Window:
    return Window("calendar", CALENDAR_DAYS[unit] * _DAY_MS, unit, time_zone)  # type: ignore[arg-type]


def read_native_window(reader: SpecReader, node: yaml.Node, path: str) -> Window | None:
    """``30d``, ``{rolling: 28d}`` or ``{calendar: month, time_zone: Europe/Berlin}``."""
    if isinstance(node, yaml.ScalarNode):
        ms = read_duration(reader, node, path)
        return None if ms is None else Window("rolling", ms)
    entries = reader.mapping(node, path, ("rolling", "calendar", "time_zone"))
    if entries is None:
        return None
    if ("rolling" in entries) == ("calendar" in entries):
        reader.error(node, path, "expected exactly one of 'rolling' or 'calendar'")
        return None
    if "rolling" in entries:
        if "time_zone" in entries:
            reader.error(
                entries["time_zone"], child(path, "time_zone"), "only for calendar windows"
            )
            return None
        ms = read_duration(reader, entries["rolling"], child(path, "rolling"))
        return None if ms is None else Window("rolling", ms)
    unit_node = entries["calendar"]
    unit = reader.text(unit_node, child(path, "calendar"))
    zone: str | None = "UTC"
    if "time_zone" in entries:
        zone = read_time_zone(reader, entries["time_zone"], child(path, "time_zone"))
    if unit is not None and unit not in CALENDAR_DAYS:
        reader.error(
            unit_node, child(path, "calendar"), f"expected week, month or quarter, got {unit!r}"
        )
        return None
    if unit is None or zone is None:
        return None
    return _calendar(unit, zone)


def read_shorthand(reader: SpecReader, node: yaml.Node, path: str) -> tuple[int, str] | None:
    """An OpenSLO duration-shorthand (``28d``, ``1M``) as (number, unit)."""
    text = reader.text(node, path)
    if text is None:
        return None
    match = _SHORTHAND.fullmatch(text)
    if match is None:
        reader.error(node, path, f"expected a duration shorthand like 5m, 28d or 1M, got {text!r}")
        return None
    return int(match.group(1)), match.group(2)


def read_shorthand_ms(reader: SpecReader, node: yaml.Node, path: str) -> int | None:
    """A shorthand of minutes, hours, days or weeks in milliseconds (M, Q and Y vary)."""
    parsed = read_shorthand(reader, node, path)
    if parsed is None:
        return None
    number, unit = parsed
    if unit not in _SHORTHAND_MS:
        reader.error(
            node, path, f"expected minutes, hours, days or weeks (m, h, d, w), got {unit!r}"
        )
        return None
    return number * _SHORTHAND_MS[unit]


def read_openslo_time_window(reader: SpecReader, node: yaml.Node, path: str) -> Window | None:
    """OpenSLO's ``timeWindow``: a list of exactly one rolling or calendar window."""
    items = reader.sequence(node, path)
    if items is None:
        return None
    if len(items) != 1:
        reader.error(node, path, f"expected exactly one time window, got {len(items)}")
        return None
    path = f"{path}[0]"
    entries = reader.mapping(items[0], path, ("duration", "isRolling", "calendar"), ("duration",))
    if entries is None or "duration" not in entries:
        return None
    rolling: bool | None = "calendar" not in entries
    if "isRolling" in entries:
        rolling = reader.boolean(entries["isRolling"], child(path, "isRolling"))
    if rolling is None:
        return None
    duration = entries["duration"]
    if rolling:
        if "calendar" in entries:
            reader.error(
                entries["calendar"], child(path, "calendar"), "a rolling window has no calendar"
            )
            return None
        ms = read_shorthand_ms(reader, duration, child(path, "duration"))
        return None if ms is None else Window("rolling", ms)
    return _openslo_calendar(reader, entries, path)


def _openslo_calendar(
    reader: SpecReader, entries: dict[str, yaml.Node], path: str
) -> Window | None:
    duration = entries["duration"]
    parsed = read_shorthand(reader, duration, child(path, "duration"))
    zone: str | None = "UTC"
    if "calendar" in entries:
        cal_path = child(path, "calendar")
        cal = reader.mapping(entries["calendar"], cal_path, ("startTime", "timeZone"))
        if cal is None:
            return None
        if "timeZone" in cal:
            zone = read_time_zone(reader, cal["timeZone"], child(cal_path, "timeZone"))
        if "startTime" in cal:
            _read_start_time(reader, cal["startTime"], child(cal_path, "startTime"))
    if parsed is None:
        return None
    unit = _OPENSLO_CALENDAR.get(f"{parsed[0]}{parsed[1]}")
    if unit is None:
        reader.error(duration, child(path, "duration"), "calendar windows must be 1w, 1M or 1Q")
        return None
    return None if zone is None else _calendar(unit, zone)


def _read_start_time(reader: SpecReader, node: yaml.Node, path: str) -> None:
    """``2022-01-01 00:00:00`` (no zone: ``timeZone`` gives it). Checked, not kept: weeks,
    months and quarters start at their calendar boundary."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
        text = node.value
    else:
        text = reader.text(node, path) or ""
    try:
        dt.datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        reader.error(node, path, f"expected a time like 2024-01-01 00:00:00, got {describe(node)}")
