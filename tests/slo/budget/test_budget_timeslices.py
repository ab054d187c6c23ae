"""Timeslice budgeting: slices graded against their target become an events frame."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.budget.burndown import budget_status
from slo.budget.errors import BudgetError
from slo.budget.frames import events_from_counts, series_from_samples, times_ms
from slo.budget.timeslices import timeslice_events

MIN = 60_000


def minute_rows(rows: list[tuple[float, float]]):
    stamps = [MIN * (i + 1) for i in range(len(rows))]
    errors = series_from_samples(stamps, [bad for bad, _ in rows])
    return events_from_counts(errors, series_from_samples(stamps, [total for _, total in rows]))


# Four 5-minute slices: clean, exactly at target (1 bad of 10), no traffic, 2 bad of 10.
MINUTES = minute_rows(
    [(0, 2)] * 5 + [(1, 2)] + [(0, 2)] * 4 + [(0, 0)] * 5 + [(2, 2)] + [(0, 2)] * 4
)


def test_slices_are_graded_against_the_target_and_empty_slices_do_not_count():
    slices = timeslice_events(MINUTES, 5 * MIN, 0.9)
    assert list(times_ms(slices.index)) == [5 * MIN, 10 * MIN, 20 * MIN]
    assert slices["errors"].tolist() == [0.0, 0.0, 1.0]
    assert slices["total"].tolist() == [1.0, 1.0, 1.0]
    status = budget_status(slices, 0.5)
    assert status.sli == pytest.approx(2 / 3)
    assert (status.budget, status.consumed) == (1.5, 1.0)
    assert status.remaining_ratio == pytest.approx(1 / 3)


def test_slices_align_to_the_origin():
    # Slices (2m, 7m], (7m, 12m], ...: the 1-minute row falls in the slice ending at 2m.
    slices = timeslice_events(MINUTES, 5 * MIN, 0.9, origin_ms=2 * MIN)
    assert list(times_ms(slices.index)) == [2 * MIN, 7 * MIN, 12 * MIN, 17 * MIN, 22 * MIN]
    # (2m, 7m] holds the 1-bad-of-2 minute at 6m: 1 bad of 10, still good at 0.9.
    assert slices["errors"].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("slice_ms", "target", "message"),
    [(0, 0.9, "positive duration"), (MIN, 0.0, "fraction in \\(0, 1\\]"), (MIN, 1.2, "got 1.2")],
)
def test_bad_timeslice_settings(slice_ms, target, message):
    with pytest.raises(BudgetError, match=message):
        timeslice_events(MINUTES, slice_ms, target)


@settings(deadline=None)  # no wall-clock limits: the machine is shared
@given(
    rows=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=60),
    slice_minutes=st.integers(1, 15),
    target=st.sampled_from([0.5, 0.9, 0.99, 1.0]),
)
def test_slice_counts_add_up(rows, slice_minutes, target):
    events = minute_rows([(bad, good + bad) for good, bad in rows])
    slices = timeslice_events(events, slice_minutes * MIN, target)
    busy_slices = {(i // slice_minutes) for i, (good, bad) in enumerate(rows) if good + bad}
    assert len(slices) == len(busy_slices)
    assert set(slices["errors"]) <= {0.0, 1.0}
    if target == 1.0:
        bad_slices = {(i // slice_minutes) for i, (_, bad) in enumerate(rows) if bad}
        assert slices["errors"].sum() == len(bad_slices)
