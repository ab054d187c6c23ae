"""Raw samples of a range, for figures PromQL's ``increase()`` gets wrong on rare events.

A prometheus_client counter with labels is born at its first increment: the first scrape
already reads 1, and ``increase()`` (which only sees growth between samples) misses that first
event. For counters of rare events (pool checkout timeouts, Redis failures) one missed event
is the difference between "none" and "one", so these pages count them from the raw samples:
a series first seen inside the range counts from zero.

Gauges read the same way give exact "how long above a threshold" figures: each sample holds
until the next one, at most for the store's lookback (5 minutes), as PromQL sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from collector.promql.result import Matrix
from web.queries import Sources
from web.queries.promql import instant_query

__all__ = [
    "LOOKBACK_MS",
    "RawSeries",
    "bucket_max",
    "bucket_sum",
    "chart_peaks",
    "count_step_ms",
    "counter_increments",
    "held_ms",
    "raw_series",
    "value_at",
]

#: How long a sample stays current when no newer one follows (PromQL's lookback delta).
LOOKBACK_MS = 5 * 60_000


@dataclass(frozen=True)
class RawSeries:
    """One series' samples (stale markers dropped), ascending in time."""

    labels: dict[str, str]
    times_ms: np.ndarray
    values: np.ndarray


def raw_series(sources: Sources, selector: str, start_ms: int, end_ms: int) -> list[RawSeries]:
    """Every sample of ``selector`` from a lookback before ``start_ms`` up to ``end_ms``.

    The samples before ``start_ms`` are the baseline a counter grows from.

    :raise QueryError: as Prometheus would answer.
    """
    span_ms = max(1, end_ms - start_ms + LOOKBACK_MS)
    result = instant_query(sources, f"{selector}[{span_ms}ms]", end_ms)
    found: list[RawSeries] = []
    if not isinstance(result.value, Matrix):
        return found
    for series in result.value:
        keep = ~np.isnan(series.values)
        if keep.any():
            found.append(
                RawSeries(
                    dict(series.labels),
                    series.timestamps[keep].astype(np.int64),
                    series.values[keep].astype(float),
                )
            )
    return found


def counter_increments(series: RawSeries, start_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """The counter's growth at each of its samples after ``start_ms``: (times, increments).

    A drop is a reset (the process restarted), so the new value is all growth. A series
    with no sample at or before ``start_ms`` was born inside the range and grows from zero.
    """
    times, values = series.times_ms, series.values
    inside = times > start_ms
    if not inside.any():
        return times[:0], values[:0]
    first = int(np.argmax(inside))
    baseline = values[first - 1] if first > 0 else 0.0
    previous = np.concatenate(([baseline], values[first:-1]))
    current = values[first:]
    growth = np.where(current >= previous, current - previous, current)
    return times[first:], growth


def value_at(series: RawSeries | None, times_ms: np.ndarray) -> np.ndarray:
    """The series' value in force at each time (NaN before its first sample, or when the
    latest sample is older than the lookback)."""
    out = np.full(len(times_ms), math.nan)
    if series is None or len(series.times_ms) == 0:
        return out
    index = np.searchsorted(series.times_ms, times_ms, side="right") - 1
    found = index >= 0
    fresh = found.copy()
    fresh[found] = times_ms[found] - series.times_ms[index[found]] <= LOOKBACK_MS
    out[fresh] = series.values[index[fresh]]
    return out


def held_ms(times_ms: np.ndarray, start_ms: int, end_ms: int) -> np.ndarray:
    """How long each sample is current within ``[start_ms, end_ms]``: until the next sample,
    at most :data:`LOOKBACK_MS`, clipped to the range."""
    if len(times_ms) == 0:
        return np.zeros(0, dtype=np.int64)
    following = np.concatenate((times_ms[1:], [end_ms]))
    until = np.minimum(np.minimum(following, times_ms + LOOKBACK_MS), end_ms)
    since = np.maximum(times_ms, start_ms)
    return np.maximum(until - since, 0)


def _bucket_index(times_ms: np.ndarray, start_ms: int, step_ms: int) -> np.ndarray:
    # Bucket i covers (start + (i-1)*step, start + i*step] and is drawn at its end, as a
    # PromQL range query's point sums the window that ends at it.
    return np.ceil((times_ms - start_ms) / step_ms).astype(np.int64)


def bucket_sum(
    times_ms: np.ndarray, values: np.ndarray, start_ms: int, end_ms: int, step_ms: int
) -> tuple[list[int], list[float]]:
    """Values summed per step over the range (zero where nothing happened)."""
    points = list(range(start_ms, end_ms + 1, step_ms))
    sums = np.zeros(len(points))
    index = _bucket_index(times_ms, start_ms, step_ms)
    keep = (index >= 0) & (index < len(points))
    np.add.at(sums, index[keep], values[keep])
    return points, [float(v) for v in sums]


def bucket_max(
    times_ms: np.ndarray, values: np.ndarray, start_ms: int, end_ms: int, step_ms: int
) -> tuple[list[int], list[float | None]]:
    """The highest value per step over the range (None where there is no sample)."""
    points = list(range(start_ms, end_ms + 1, step_ms))
    highest = np.full(len(points), -math.inf)
    index = _bucket_index(times_ms, start_ms, step_ms)
    keep = (index >= 0) & (index < len(points)) & ~np.isnan(values)
    np.maximum.at(highest, index[keep], values[keep])
    return points, [float(v) if math.isfinite(v) else None for v in highest]


def count_step_ms(step_ms: int) -> int:
    """The width of the bars counting events (timeouts, failed calls) on a chart of this
    step: the step, but at least a minute, so a bar spans several scrapes."""
    return max(step_ms, 60_000)


#: Up to this many samples in the range are drawn as they are; more are reduced to peaks.
MAX_RAW_POINTS = 1500


def chart_peaks(
    times_ms: np.ndarray, values: np.ndarray, start_ms: int, end_ms: int, step_ms: int
) -> tuple[list[int], list[float | None]]:
    """A gauge for a chart: every sample of the range when they are few (a step shorter
    than the scrape interval would leave gaps), else the highest value per step."""
    inside = (times_ms > start_ms) & (times_ms <= end_ms)
    if inside.sum() <= MAX_RAW_POINTS:
        return (
            [int(t) for t in times_ms[inside]],
            [float(v) if math.isfinite(v) else None for v in values[inside]],
        )
    return bucket_max(times_ms, values, start_ms, end_ms, step_ms)
