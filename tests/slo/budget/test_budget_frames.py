"""Building events frames: alignment, gaps, rates, error ratios and clear rejections."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from slo.budget.errors import BudgetError
from slo.budget.frames import (
    check_events,
    events_from_counts,
    events_from_error_ratio,
    events_from_rates,
    in_period,
    series_from_samples,
    times_ms,
)
from slo.budget.periods import Period

MIN5 = 300_000


def test_series_from_samples_is_utc_and_keeps_the_milliseconds():
    series = series_from_samples([1_000, 301_500], [1.0, 2.5], name="x")
    assert str(series.index.tz) == "UTC"
    assert list(times_ms(series.index)) == [1_000, 301_500]
    assert list(series) == [1.0, 2.5] and series.name == "x"
    with pytest.raises(BudgetError, match="2 timestamps but 1 values"):
        series_from_samples([1, 2], [1.0])


def test_missing_errors_count_as_zero_and_errors_without_total_are_gaps():
    total = series_from_samples([MIN5, 2 * MIN5, 4 * MIN5], [10.0, 20.0, 30.0])
    # No error sample at 2*MIN5 (the 5xx query returned nothing), one at 3*MIN5 with no total.
    errors = series_from_samples([MIN5, 3 * MIN5, 4 * MIN5], [1.0, 5.0, 3.0])
    frame = events_from_counts(errors, total)
    assert list(times_ms(frame.index)) == [MIN5, 2 * MIN5, 4 * MIN5]
    assert list(frame["errors"]) == [1.0, 0.0, 3.0]
    assert list(frame["total"]) == [10.0, 20.0, 30.0]
    assert list(events_from_counts(None, total)["errors"]) == [0.0, 0.0, 0.0]


def test_nan_totals_are_gaps_and_nan_errors_are_zero():
    stamps = [MIN5, 2 * MIN5, 3 * MIN5]
    frame = events_from_counts(
        series_from_samples(stamps, [math.nan, 1.0, 1.0]),
        series_from_samples(stamps, [10.0, math.nan, 10.0]),
    )
    assert list(times_ms(frame.index)) == [MIN5, 3 * MIN5]
    assert list(frame["errors"]) == [0.0, 1.0]


def test_rates_become_counts_per_step():
    stamps = [MIN5, 2 * MIN5]
    frame = events_from_rates(
        series_from_samples(stamps, [0.1, 0.0]), series_from_samples(stamps, [2.0, 4.0]), MIN5
    )
    assert list(frame["errors"]) == [30.0, 0.0]
    assert list(frame["total"]) == [600.0, 1200.0]
    with pytest.raises(BudgetError, match="positive number of milliseconds"):
        events_from_rates(None, series_from_samples(stamps, [1.0, 1.0]), 0)


def test_error_ratio_weighs_each_sample_by_its_step_and_skips_zero_traffic():
    ratio = series_from_samples([MIN5, 2 * MIN5, 3 * MIN5], [0.01, math.nan, 0.03])
    frame = events_from_error_ratio(ratio, MIN5)
    assert list(times_ms(frame.index)) == [MIN5, 3 * MIN5]
    assert list(frame["total"]) == [300.0, 300.0]
    assert frame["errors"].tolist() == pytest.approx([3.0, 9.0])


def test_check_events_sorts_and_reads_naive_times_as_utc():
    naive = pd.DatetimeIndex(["2024-01-01T00:10", "2024-01-01T00:05"])
    frame = check_events(pd.DataFrame({"errors": [1, 2], "total": [10, 20]}, index=naive))
    assert str(frame.index.tz) == "UTC"
    assert frame["total"].tolist() == [20.0, 10.0]
    assert frame["errors"].dtype == np.float64


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"errors": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"])), "lacks column"),
        (pd.DataFrame({"errors": [1.0], "total": [1.0]}), "expected a DatetimeIndex"),
        (
            pd.DataFrame(
                {"errors": [0.0, 0.0], "total": [1.0, 2.0]},
                index=pd.DatetimeIndex(["2024-01-01", "2024-01-01"], tz="UTC"),
            ),
            "more than one row at 2024-01-01T00:00:00",
        ),
        (
            pd.DataFrame(
                {"errors": [-1.0], "total": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"])
            ),
            "errors is -1.0 at 2024-01-01",
        ),
        (
            pd.DataFrame(
                {"errors": [0.0], "total": [math.inf]}, index=pd.DatetimeIndex(["2024-01-01"])
            ),
            "total is inf",
        ),
        ([1, 2], "expected a DataFrame"),
    ],
)
def test_bad_frames_are_rejected_with_what_is_wrong(frame, message):
    with pytest.raises(BudgetError, match=message):
        check_events(frame)


def test_a_period_takes_rows_whose_interval_ends_inside_it():
    stamps = [0, MIN5, 2 * MIN5, 3 * MIN5]
    frame = events_from_counts(None, series_from_samples(stamps, [1.0, 2.0, 3.0, 4.0]))
    # The row at 0 closes the interval before the period; the row at 2*MIN5 closes its last.
    inside = in_period(frame, Period(0, 2 * MIN5, "p"))
    assert list(times_ms(inside.index)) == [MIN5, 2 * MIN5]
