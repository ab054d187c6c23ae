"""SLO periods as UTC millisecond bounds: calendar weeks, months and quarters in a time zone,
and rolling windows.

Calendar periods start at local midnight, so their length in UTC follows daylight saving
time: March 2024 in Europe/Berlin is 31 days minus one hour long. Weeks are ISO weeks
(Monday to Monday). A period is half-open, ``[start_ms, end_ms)``, for instants; a data row
stamped ``t`` stands for the interval ending at ``t`` and so belongs to ``(start_ms, end_ms]``
(see :func:`slo.budget.frames.in_period`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slo.budget.errors import BudgetError

__all__ = [
    "CalendarUnit",
    "Period",
    "calendar_period",
    "calendar_periods",
    "format_duration_ms",
    "local_day_start_ms",
    "rolling_period",
    "time_zone",
]

CalendarUnit = Literal["week", "month", "quarter"]
_UNITS = ("week", "month", "quarter")
_DURATION_UNITS = (
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)


@dataclass(frozen=True, order=True)
class Period:
    """One SLO period: ``[start_ms, end_ms)`` in UTC milliseconds, with a human label
    (``2024-03``, ``2024-Q1``, ``2024-W09``, ``30d``)."""

    start_ms: int
    end_ms: int
    label: str

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def contains(self, time_ms: int) -> bool:
        """Whether the instant ``time_ms`` falls in ``[start_ms, end_ms)``."""
        return self.start_ms <= time_ms < self.end_ms


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a :class:`BudgetError` saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BudgetError(f"unknown time zone {name!r} (expected an IANA name)") from exc


def local_day_start_ms(day: dt.date, zone: str) -> int:
    """The first instant of local ``day`` in ``zone``, as UTC ms.

    Where clocks jump over midnight (America/Sao_Paulo on 2018-11-04), the day starts at
    the jump, which is what ``fold=0`` resolves a missing wall time to; where midnight occurs
    twice, the first one is taken.
    """
    local = dt.datetime(day.year, day.month, day.day, tzinfo=time_zone(zone))
    return _ms(local)


def calendar_period(unit: CalendarUnit, zone: str, at_ms: int) -> Period:
    """The calendar ``unit`` (week, month, quarter) in ``zone`` that contains instant ``at_ms``."""
    first = _first_day(unit, _local_date(at_ms, zone))
    period = _period_from(unit, first, zone)
    # A local date near a DST jump can map an instant to the neighbouring period; step once.
    if at_ms < period.start_ms:
        period = _period_from(unit, _first_day(unit, first - dt.timedelta(days=1)), zone)
    elif at_ms >= period.end_ms:
        period = _period_from(unit, _next_first_day(unit, first), zone)
    return period


def calendar_periods(unit: CalendarUnit, zone: str, start_ms: int, end_ms: int) -> list[Period]:
    """Every calendar period that overlaps ``[start_ms, end_ms)``, oldest first."""
    if end_ms <= start_ms:
        return []
    return list(_periods_from(calendar_period(unit, zone, start_ms), unit, zone, end_ms))


def rolling_period(duration_ms: int, now_ms: int) -> Period:
    """The rolling window ending now: ``[now - duration, now)``, labelled like ``30d``."""
    if duration_ms <= 0:
        raise BudgetError(f"a rolling window must be longer than 0, got {duration_ms} ms")
    return Period(now_ms - duration_ms, now_ms, format_duration_ms(duration_ms))


def format_duration_ms(duration_ms: int) -> str:
    """Duration text in days, hours, minutes, seconds: ``2592000000`` -> ``30d``,
    ``5400000`` -> ``1h30m`` (no weeks or years, so a 30-day window reads ``30d``)."""
    if duration_ms <= 0:
        return f"{duration_ms}ms"
    parts, rest = [], duration_ms
    for suffix, size in _DURATION_UNITS:
        count, rest = divmod(rest, size)
        parts += [f"{count}{suffix}"] if count else []
    return "".join(parts)


def _periods_from(first: Period, unit: CalendarUnit, zone: str, end_ms: int) -> Iterator[Period]:
    period = first
    while period.start_ms < end_ms:
        yield period
        period = calendar_period(unit, zone, period.end_ms)


def _period_from(unit: CalendarUnit, first: dt.date, zone: str) -> Period:
    following = _next_first_day(unit, first)
    start, end = local_day_start_ms(first, zone), local_day_start_ms(following, zone)
    return Period(start, end, _label(unit, first))


def _first_day(unit: CalendarUnit, day: dt.date) -> dt.date:
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise BudgetError(f"unknown calendar unit {unit!r} (expected one of {', '.join(_UNITS)})")


def _next_first_day(unit: CalendarUnit, first: dt.date) -> dt.date:
    if unit == "week":
        return first + dt.timedelta(days=7)
    months = 1 if unit == "month" else 3
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _label(unit: CalendarUnit, first: dt.date) -> str:
    if unit == "week":
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return f"{first.year}-{first.month:02d}"
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def _local_date(at_ms: int, zone: str) -> dt.date:
    utc = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=at_ms)
    return utc.astimezone(time_zone(zone)).date()


def _ms(moment: dt.datetime) -> int:
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
