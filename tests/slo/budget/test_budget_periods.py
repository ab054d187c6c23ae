"""Calendar periods in a time zone: DST-correct bounds, quarters, ISO weeks, rolling windows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.budget.errors import BudgetError
from slo.budget.periods import (
    Period,
    calendar_period,
    calendar_periods,
    format_duration_ms,
    local_day_start_ms,
    rolling_period,
)

HOUR = 3_600_000
DAY = 24 * HOUR


def utc_ms(text: str) -> int:
    """``2024-02-29T23:00`` read as UTC, in ms."""
    moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1000


@pytest.mark.parametrize(
    ("zone", "inside", "start", "end", "label", "hours"),
    [
        # spring forward on 2024-03-31: the month is one hour short
        (
            "Europe/Berlin",
            "2024-03-15T12:00",
            "2024-02-29T23:00",
            "2024-03-31T22:00",
            "2024-03",
            743,
        ),
        # fall back on 2024-10-27: one hour long
        (
            "Europe/Berlin",
            "2024-10-15T12:00",
            "2024-09-30T22:00",
            "2024-10-31T23:00",
            "2024-10",
            745,
        ),
        (
            "America/New_York",
            "2024-03-09T12:00",
            "2024-03-01T05:00",
            "2024-04-01T04:00",
            "2024-03",
            743,
        ),
        (
            "America/New_York",
            "2024-11-30T12:00",
            "2024-11-01T04:00",
            "2024-12-01T05:00",
            "2024-11",
            721,
        ),
        ("UTC", "2024-02-10T00:00", "2024-02-01T00:00", "2024-03-01T00:00", "2024-02", 696),
    ],
)
def test_month_bounds_follow_daylight_saving(zone, inside, start, end, label, hours):
    period = calendar_period("month", zone, utc_ms(inside))
    assert period == Period(utc_ms(start), utc_ms(end), label)
    assert period.duration_ms == hours * HOUR


def test_instants_at_a_month_boundary_belong_to_the_month_that_starts_there():
    # 2024-04-01 00:00 CEST is 2024-03-31 22:00 UTC, still March 31st in UTC terms.
    boundary = utc_ms("2024-03-31T22:00")
    assert calendar_period("month", "Europe/Berlin", boundary).label == "2024-04"
    assert calendar_period("month", "Europe/Berlin", boundary - 1).label == "2024-03"
    assert calendar_period("month", "UTC", boundary).label == "2024-03"


@pytest.mark.parametrize(
    ("zone", "inside", "start", "end", "label"),
    [
        ("Europe/Berlin", "2024-02-01T00:00", "2023-12-31T23:00", "2024-03-31T22:00", "2024-Q1"),
        ("Europe/Berlin", "2024-03-31T22:00", "2024-03-31T22:00", "2024-06-30T22:00", "2024-Q2"),
        ("America/New_York", "2024-12-31T23:59", "2024-10-01T04:00", "2025-01-01T05:00", "2024-Q4"),
        # 2025-01-01 03:00 UTC is still New Year's Eve in New York
        ("America/New_York", "2025-01-01T03:00", "2024-10-01T04:00", "2025-01-01T05:00", "2024-Q4"),
        ("UTC", "2025-07-01T00:00", "2025-07-01T00:00", "2025-10-01T00:00", "2025-Q3"),
    ],
)
def test_quarter_bounds(zone, inside, start, end, label):
    assert calendar_period("quarter", zone, utc_ms(inside)) == Period(
        utc_ms(start), utc_ms(end), label
    )


def test_iso_weeks_start_on_monday_and_shrink_over_a_dst_sunday():
    # Sunday 2024-03-31 is the last day of ISO week 13 and the day Berlin springs forward.
    week = calendar_period("week", "Europe/Berlin", utc_ms("2024-03-31T12:00"))
    assert week == Period(utc_ms("2024-03-24T23:00"), utc_ms("2024-03-31T22:00"), "2024-W13")
    assert week.duration_ms == 167 * HOUR
    # Monday 2024-12-30 opens ISO week 1 of 2025.
    new_year = calendar_period("week", "UTC", utc_ms("2025-01-01T00:00"))
    assert new_year == Period(utc_ms("2024-12-30T00:00"), utc_ms("2025-01-06T00:00"), "2025-W01")


def test_calendar_periods_list_every_overlapping_period_in_order():
    periods = calendar_periods(
        "month", "America/New_York", utc_ms("2024-02-15T00:00"), utc_ms("2024-04-01T04:00")
    )
    assert [p.label for p in periods] == ["2024-02", "2024-03"]
    assert periods[0].end_ms == periods[1].start_ms
    one_more = calendar_periods(
        "month", "America/New_York", utc_ms("2024-02-15T00:00"), utc_ms("2024-04-01T04:00") + 1
    )
    assert [p.label for p in one_more] == ["2024-02", "2024-03", "2024-04"]
    assert calendar_periods("month", "UTC", 10, 10) == []


def test_a_day_whose_midnight_does_not_exist_starts_at_the_clock_jump():
    # Brazil sprang forward at 00:00 on 2018-11-04: clocks went from 23:59:59 to 01:00.
    start = local_day_start_ms(dt.date(2018, 11, 4), "America/Sao_Paulo")
    assert start == utc_ms("2018-11-04T03:00")
    previous = local_day_start_ms(dt.date(2018, 11, 3), "America/Sao_Paulo")
    assert start - previous == DAY


def test_rolling_window_ends_now():
    assert rolling_period(30 * DAY, 100 * DAY) == Period(70 * DAY, 100 * DAY, "30d")
    with pytest.raises(BudgetError, match="longer than 0"):
        rolling_period(0, 100)


@pytest.mark.parametrize(
    ("ms", "text"),
    [(30 * DAY, "30d"), (90 * 60_000, "1h30m"), (DAY + 1500, "1d1s500ms"), (0, "0ms")],
)
def test_format_duration(ms, text):
    assert format_duration_ms(ms) == text


def test_unknown_zone_and_unit_are_named():
    with pytest.raises(BudgetError, match="unknown time zone 'Mars/Olympus'"):
        calendar_period("month", "Mars/Olympus", 0)
    with pytest.raises(BudgetError, match="unknown calendar unit 'fortnight'"):
        calendar_period("fortnight", "UTC", 0)  # type: ignore[arg-type]


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@settings(deadline=None)  # no wall-clock limits: the machine is shared
@given(
    unit=st.sampled_from(["week", "month", "quarter"]),
    zone=st.sampled_from(ZONES),
    at_ms=st.integers(min_value=utc_ms("1990-01-01T00:00"), max_value=utc_ms("2040-01-01T00:00")),
)
def test_periods_contain_the_instant_start_at_local_midnight_and_tile(unit, zone, at_ms):
    period = calendar_period(unit, zone, at_ms)
    assert period.contains(at_ms)
    local_start = dt.datetime.fromtimestamp(period.start_ms / 1000, ZoneInfo(zone))
    assert (local_start.hour, local_start.minute) == (0, 0)
    if unit == "week":
        assert local_start.weekday() == 0
    else:
        assert local_start.day == 1
    if unit == "quarter":
        assert local_start.month in (1, 4, 7, 10)
    following = calendar_period(unit, zone, period.end_ms)
    assert following.start_ms == period.end_ms
    assert calendar_period(unit, zone, period.start_ms - 1).end_ms == period.start_ms
