"""The raw-sample arithmetic behind exact event counts and "time above" figures."""

from __future__ import annotations

import numpy as np
import pytest

from web.queries.raw_samples import (
    LOOKBACK_MS,
    RawSeries,
    bucket_sum,
    chart_peaks,
    counter_increments,
    held_ms,
    value_at,
)


def series(times: list[int], values: list[float]) -> RawSeries:
    return RawSeries({}, np.array(times, dtype=np.int64), np.array(values, dtype=float))


def test_a_counter_born_inside_the_range_counts_from_zero():
    times, growth = counter_increments(series([100, 200, 300], [2, 2, 5]), start_ms=50)
    assert times.tolist() == [100, 200, 300] and growth.tolist() == [2, 0, 3]


def test_a_counter_grows_from_its_last_sample_before_the_range_and_survives_a_reset():
    times, growth = counter_increments(series([0, 100, 200, 300], [7, 9, 1, 4]), start_ms=50)
    assert times.tolist() == [100, 200, 300]
    assert growth.tolist() == [2, 1, 3]  # 7 -> 9, reset to 1 (all growth), 1 -> 4


def test_no_sample_inside_the_range_is_no_growth():
    times, growth = counter_increments(series([0, 10], [1, 2]), start_ms=10)
    assert len(times) == 0 and len(growth) == 0


def test_samples_hold_until_the_next_one_at_most_the_lookback():
    times = np.array([0, 15_000, 30_000, 30_000 + 2 * LOOKBACK_MS], dtype=np.int64)
    held = held_ms(times, start_ms=10_000, end_ms=30_000 + 2 * LOOKBACK_MS + 5_000)
    assert held.tolist() == [5_000, 15_000, LOOKBACK_MS, 5_000]


def test_value_at_reads_the_latest_fresh_sample():
    found = value_at(series([100, 200], [1, 2]), np.array([50, 100, 150, 200 + LOOKBACK_MS + 1]))
    assert np.isnan(found[0]) and found[1:3].tolist() == [1, 1] and np.isnan(found[3])
    assert np.isnan(value_at(None, np.array([1]))).all()


def test_bucket_sum_puts_each_event_in_the_step_ending_at_or_after_it():
    times = np.array([1, 10, 11, 30], dtype=np.int64)
    points, sums = bucket_sum(times, np.array([1.0, 2.0, 4.0, 8.0]), 0, 30, 10)
    assert points == [0, 10, 20, 30] and sums == [0.0, 3.0, 4.0, 8.0]


def test_chart_peaks_keeps_few_samples_and_reduces_many_to_the_highest_per_step():
    few = chart_peaks(np.array([5, 10], dtype=np.int64), np.array([0.5, 1.0]), 0, 10, 5)
    assert few == ([5, 10], [0.5, 1.0])
    times = np.arange(1, 3001, dtype=np.int64)
    values = (times % 7).astype(float)
    points, peaks = chart_peaks(times, values, 0, 3000, 1000)
    assert points == [0, 1000, 2000, 3000]
    assert peaks == [None, pytest.approx(6.0), pytest.approx(6.0), pytest.approx(6.0)]
