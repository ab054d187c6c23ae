"""Budget, burndown, rolling budget and burn rate: hand-computed cases and properties.

Objective 0.75 keeps the allowed ratio (0.25) exact in binary, so most figures compare with
``==``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.budget.burndown import (
    BURNDOWN_COLUMNS,
    budget_status,
    burn_rate,
    burndown,
    rolling_budget,
)
from slo.budget.errors import BudgetError, allowed_error_ratio
from slo.budget.frames import events_from_counts, series_from_samples
from slo.budget.periods import Period

MIN5 = 300_000


def frame(rows: list[tuple[float, float]], step_ms: int = MIN5) -> pd.DataFrame:
    """Rows of (errors, total), stamped step, 2*step, ..."""
    stamps = [step_ms * (i + 1) for i in range(len(rows))]
    errors = series_from_samples(stamps, [bad for bad, _ in rows])
    return events_from_counts(errors, series_from_samples(stamps, [total for _, total in rows]))


SMALL = frame([(1, 8), (0, 0), (3, 8), (0, 16)])


def test_burndown_by_hand():
    result = burndown(SMALL, 0.75)
    assert tuple(result.columns) == BURNDOWN_COLUMNS
    assert result["consumed"].tolist() == [1, 1, 4, 4]
    assert result["events"].tolist() == [8, 8, 16, 32]
    assert result["budget"].tolist() == [2, 2, 4, 8]
    assert result["remaining"].tolist() == [1, 1, 0, 4]
    assert result["remaining_ratio"].tolist() == [0.5, 0.5, 0.0, 0.5]
    assert result["sli"].tolist() == [0.875, 0.875, 0.75, 0.875]
    burn = result["burn_rate"].tolist()
    assert burn[0] == 0.5 and math.isnan(burn[1]) and burn[2:] == [1.5, 0.0]


def test_budget_status_of_a_period_reads_rows_in_start_exclusive_end_inclusive():
    status = budget_status(SMALL, 0.75, Period(MIN5, 3 * MIN5, "p"))
    assert (status.events, status.consumed, status.budget) == (8, 3, 2)
    assert status.remaining == -1 and status.remaining_ratio == -0.5
    assert status.sli == 0.625 and status.burn_rate == 1.5
    whole = budget_status(SMALL, 0.75)
    assert (whole.events, whole.consumed, whole.remaining_ratio) == (32, 4, 0.5)


def test_zero_traffic_leaves_the_sli_and_ratios_undefined():
    quiet = frame([(0, 0), (0, 0)])
    status = budget_status(quiet, 0.99)
    assert status.events == 0 and status.budget == 0 and status.remaining == 0
    assert math.isnan(status.sli) and math.isnan(status.remaining_ratio)
    assert math.isnan(status.burn_rate)
    assert burndown(quiet, 0.99)[["sli", "remaining_ratio", "burn_rate"]].isna().all().all()
    assert math.isnan(budget_status(SMALL.iloc[:0], 0.99).sli)


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (1.0, "objective 1.0 \\(100%\\) leaves no error budget"),
        (1.5, "fraction in \\(0, 1\\), got 1.5"),
        (0.0, "fraction in \\(0, 1\\), got 0.0"),
        (math.nan, "fraction in \\(0, 1\\), got nan"),
        ("0.99", "must be a number, got '0.99'"),
    ],
)
def test_objectives_without_a_budget_are_rejected(objective, message):
    with pytest.raises(BudgetError, match=message):
        burndown(SMALL, objective)


def test_objective_errors_name_the_spec_position():
    with pytest.raises(BudgetError, match=r"^slos/shop\.yml:4:14: objective 1\.0"):
        allowed_error_ratio(1.0, "slos/shop.yml:4:14")


def test_rolling_budget_by_hand():
    result = rolling_budget(SMALL, 0.75, 2 * MIN5)
    assert result["errors"].tolist() == [1, 1, 3, 3]
    assert result["total"].tolist() == [8, 8, 8, 24]
    assert result["burn_rate"].tolist() == [0.5, 0.5, 1.5, 0.5]
    assert result["remaining_ratio"].tolist() == [0.5, 0.5, -0.5, 0.5]


def test_rolling_budget_is_undefined_once_all_traffic_left_the_window():
    rows = [(0.1, 0.7), (0.2, 0.3), (0.3, 0.9), (0, 0), (0, 0), (0, 0)]
    result = rolling_budget(frame(rows), 0.9, 2 * MIN5)
    assert result["total"].tolist()[-2:] == [0.0, 0.0]
    assert result["sli"].isna().tolist() == [False] * 4 + [True] * 2
    with pytest.raises(BudgetError, match="longer than 0"):
        rolling_budget(SMALL, 0.9, 0)


def test_burn_rate_over_the_last_window():
    assert burn_rate(SMALL, 0.75, 4 * MIN5, 2 * MIN5) == 0.5
    assert burn_rate(SMALL, 0.75, 3 * MIN5, MIN5) == 1.5
    assert math.isnan(burn_rate(SMALL, 0.75, 2 * MIN5, MIN5))  # only the zero-traffic row
    assert math.isnan(burn_rate(SMALL, 0.75, 100 * MIN5, MIN5))  # no rows at all


# --- properties ----------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=10_000)
rows_of_events = st.lists(st.tuples(counts, counts), min_size=1, max_size=40)
objectives = st.sampled_from([0.5, 0.9, 0.99, 0.999, 0.9999])


def good_bad_frame(rows: list[tuple[int, int]]) -> pd.DataFrame:
    return frame([(bad, good + bad) for good, bad in rows])


@settings(deadline=None)  # no wall-clock limits: the machine is shared
@given(history=rows_of_events, bad_runs=st.lists(counts, min_size=1, max_size=20), o=objectives)
def test_only_bad_events_never_raise_the_remaining_budget(history, bad_runs, o):
    events = good_bad_frame(history + [(0, bad) for bad in bad_runs])
    tail = burndown(events, o).iloc[len(history) - 1 :]
    assert (np.diff(tail["remaining"]) <= 1e-9).all()
    ratio = tail["remaining_ratio"].dropna()
    assert (np.diff(ratio) <= 1e-12).all()


@settings(deadline=None)  # no wall-clock limits: the machine is shared
@given(history=rows_of_events, row=st.integers(min_value=0, max_value=39), extra=counts)
def test_adding_bad_events_anywhere_never_raises_the_period_remaining(history, row, extra):
    row %= len(history)
    worse = list(history)
    worse[row] = (worse[row][0], worse[row][1] + extra)
    before = budget_status(good_bad_frame(history), 0.99)
    after = budget_status(good_bad_frame(worse), 0.99)
    assert after.remaining <= before.remaining + 1e-9
    if not math.isnan(before.remaining_ratio):
        assert after.remaining_ratio <= before.remaining_ratio + 1e-12


@settings(deadline=None)  # no wall-clock limits: the machine is shared
@given(history=rows_of_events, o=objectives)
def test_burndown_ends_where_the_period_budget_is(history, o):
    events = good_bad_frame(history)
    last = burndown(events, o).iloc[-1]
    status = budget_status(events, o)
    assert last["consumed"] == status.consumed and last["events"] == status.events
    if status.events:
        assert last["remaining_ratio"] == pytest.approx(1 - status.burn_rate, abs=1e-12)
        assert 0.0 <= status.sli <= 1.0
        assert status.remaining == pytest.approx(status.budget - status.consumed)
