"""Time to exhaustion: from the current burn rate and from the burndown's trend."""

from __future__ import annotations

import math

import pytest

from slo.budget.burndown import budget_status, burn_rate, burndown
from slo.budget.errors import BudgetError
from slo.budget.forecast import Exhaustion, exhaustion_from_burn, exhaustion_from_trend
from slo.budget.frames import events_from_counts, series_from_samples
from slo.budget.periods import rolling_period

HOUR = 3_600_000
DAY = 24 * HOUR
NOW = 1_717_200_000_000  # 2024-06-01T00:00Z


def hourly(rows: list[tuple[float, float]], end_ms: int = NOW):
    """Rows of (errors, total), the last one stamped ``end_ms``, one hour apart."""
    stamps = [end_ms - HOUR * (len(rows) - 1 - i) for i in range(len(rows))]
    errors = series_from_samples(stamps, [bad for bad, _ in rows])
    return events_from_counts(errors, series_from_samples(stamps, [total for _, total in rows]))


def test_steady_2x_burn_with_half_the_budget_left_lasts_7_5_days():
    found = exhaustion_from_burn(0.5, 2.0, 30 * DAY, NOW)
    assert found == Exhaustion(int(7.5 * DAY), NOW + int(7.5 * DAY))
    assert found.in_days == 7.5


def test_fast_burn_of_a_full_budget():
    # The workbook's page threshold: 14.4x spends a 30-day budget in 50 hours.
    assert exhaustion_from_burn(1.0, 14.4, 30 * DAY, NOW).in_ms == 50 * HOUR


@pytest.mark.parametrize(
    ("remaining", "burn"), [(0.5, 0.0), (0.5, math.nan), (math.nan, 2.0), (0.5, -1.0)]
)
def test_no_exhaustion_when_not_burning_or_undefined(remaining, burn):
    assert exhaustion_from_burn(remaining, burn, 30 * DAY, NOW) is None


def test_an_overspent_budget_is_exhausted_now():
    assert exhaustion_from_burn(-0.2, 3.0, 30 * DAY, NOW) == Exhaustion(0, NOW)
    with pytest.raises(BudgetError, match="longer than 0"):
        exhaustion_from_burn(0.5, 1.0, 0, NOW)


def test_30_day_window_from_events_half_spent_and_burning_2x_in_the_last_hour():
    # 720 hours of 1000 events; objective 0.75 allows 180000 bad. An outage spent 89500 of
    # them earlier; the last hour fails 500 of 1000, twice the allowed ratio.
    rows = [(0.0, 1000.0)] * 720
    rows[100:190] = [(1000.0, 1000.0)] * 89 + [(500.0, 1000.0)]
    rows[-1] = (500.0, 1000.0)
    events = hourly(rows)
    window = rolling_period(30 * DAY, NOW)
    status = budget_status(events, 0.75, window)
    assert status.remaining_ratio == 0.5
    current = burn_rate(events, 0.75, NOW, HOUR)
    assert current == 2.0
    found = exhaustion_from_burn(status.remaining_ratio, current, window.duration_ms, NOW)
    assert found is not None and found.in_ms == int(7.5 * DAY)


def test_trend_of_a_calendar_burndown_under_steady_burn():
    # Objective 0.75, 100 events an hour: 10 clean hours bank 250 events of budget, then
    # failing 50 an hour (2x) spends a net 25 an hour. After 4 such hours 150 are left: 6h.
    events = hourly([(0.0, 100.0)] * 10 + [(50.0, 100.0)] * 4)
    remaining = burndown(events, 0.75)["remaining"]
    assert remaining.iloc[-1] == 150
    found = exhaustion_from_trend(remaining, NOW, 4 * HOUR)
    assert found is not None
    assert found.in_ms == pytest.approx(6 * HOUR, abs=1)
    assert found.at_ms == NOW + found.in_ms


def test_trend_is_none_while_the_budget_grows_or_with_too_little_data():
    clean = burndown(hourly([(0.0, 100.0)] * 6), 0.99)["remaining"]
    assert exhaustion_from_trend(clean, NOW, 6 * HOUR) is None
    assert exhaustion_from_trend(clean, NOW, HOUR) is None  # one point: no line
    assert exhaustion_from_trend(clean, NOW - 10 * DAY, HOUR) is None  # no points
    with pytest.raises(BudgetError, match="longer than 0"):
        exhaustion_from_trend(clean, NOW, 0)


def test_trend_of_an_overspent_budget_is_exhausted_now():
    spent = burndown(hourly([(0.0, 100.0), (90.0, 100.0)]), 0.75)["remaining"]
    assert spent.iloc[-1] < 0
    assert exhaustion_from_trend(spent, NOW, DAY) == Exhaustion(0, NOW)
