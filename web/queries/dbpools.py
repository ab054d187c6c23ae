"""Database connection pools (``sloscope.integrations.sqlalchemy``): saturation, time above
80%, checkout wait and timeouts per engine (``primary``, ``replica``...).

What the SDK exports per ``engine`` (plus the scrape's ``job`` and ``instance``)::

    db_client_connection_pool_{size,checked_out,checked_in,overflow,max_overflow}  gauges
    db_client_connection_wait_seconds       histogram of checkout waits (TimedQueuePool)
    db_client_connection_timeouts_total     checkouts that gave up after pool_timeout

Capacity is ``size + max_overflow``, as in the shipped ``DBPoolSaturated`` alert; a pool
with unlimited overflow (``max_overflow`` -1) cannot saturate, and a plain ``QueuePool``
(no ``max_overflow`` gauge) is measured against ``size``. Saturation is computed at every
scraped sample, so "time above 80%" and the peak are exact at the scrape's resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from collector.promql.result import Vector
from web.queries import Sources
from web.queries.promql import SeriesPoints, instant_query, range_query, series_of
from web.queries.raw_samples import (
    LOOKBACK_MS,
    RawSeries,
    bucket_sum,
    chart_peaks,
    count_step_ms,
    counter_increments,
    held_ms,
    raw_series,
    value_at,
)
from web.queries.services import chart_window_ms

__all__ = ["SATURATED", "DbPoolsView", "PoolStats", "dbpools_view"]

#: "Saturated" as the shipped DBPoolSaturated alert means it: strictly above 80% in use.
SATURATED = 0.8
_GAUGE = "db_client_connection_pool_"
_POOL_KEY = ("job", "instance", "engine")


@dataclass
class PoolStats:
    """One pool over the range; saturation figures are None for an unlimited pool."""

    job: str
    instance: str
    engine: str
    size: float | None
    max_overflow: float | None
    capacity: float | None
    in_use: float | None
    saturation_now: float | None
    saturation_peak: float | None
    saturation_mean: float | None
    above_ms: int
    above_share: float | None
    checkouts: float
    wait_p95_s: float | None
    timeouts: float


@dataclass
class DbPoolsView:
    pools: list[PoolStats]
    saturation_series: list[SeriesPoints]
    wait_series: list[SeriesPoints]
    timeout_series: list[SeriesPoints]


def _key(labels: dict[str, str]) -> tuple[str, str, str]:
    return labels.get("job", ""), labels.get("instance", ""), labels.get("engine", "")


def _by_pool(series: list[RawSeries]) -> dict[tuple, RawSeries]:
    return {_key(s.labels): s for s in series}


def _capacity(size: np.ndarray, overflow: np.ndarray, has_overflow: bool) -> np.ndarray:
    """Capacity at each sample; NaN where unknown or unlimited (overflow -1)."""
    if not has_overflow:
        return size
    limited = np.where(overflow >= 0, size + overflow, math.nan)
    return np.where(np.isnan(overflow), size, limited)


@dataclass(frozen=True)
class _Saturation:
    times_ms: np.ndarray
    ratio: np.ndarray  # NaN where the capacity is unknown or unlimited
    capacity: np.ndarray
    in_use: np.ndarray


def _saturation(gauges: dict[str, dict[tuple, RawSeries]], key: tuple) -> _Saturation:
    used = gauges["checked_out"][key]
    size = value_at(gauges["size"].get(key), used.times_ms)
    overflow_series = gauges["max_overflow"].get(key)
    overflow = value_at(overflow_series, used.times_ms)
    capacity = _capacity(size, overflow, overflow_series is not None)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(capacity > 0, used.values / capacity, math.nan)
    return _Saturation(used.times_ms, ratio, capacity, used.values)


def _pool_figures(sat: _Saturation, window: tuple[int, int]) -> dict:
    start_ms, end_ms = window
    held = held_ms(sat.times_ms, start_ms, end_ms)
    # A sample before the range still counts for the part of the range it is current in.
    relevant = (held > 0) | ((sat.times_ms > start_ms) & (sat.times_ms <= end_ms))
    known = relevant & ~np.isnan(sat.ratio)
    measured = int(held[known].sum())
    above = int(held[known & (sat.ratio > SATURATED)].sum())
    latest = len(sat.times_ms) - 1
    # "now" is what PromQL would read at the end of the range: the latest sample, if recent
    fresh = latest >= 0 and end_ms - int(sat.times_ms[latest]) <= LOOKBACK_MS

    def last(values: np.ndarray) -> float | None:
        value = float(values[latest]) if fresh else math.nan
        return value if math.isfinite(value) else None

    return {
        "capacity": last(sat.capacity),
        "in_use": last(sat.in_use),
        "saturation_now": last(sat.ratio),
        "saturation_peak": float(np.max(sat.ratio[known])) if known.any() else None,
        "saturation_mean": float(np.sum(sat.ratio[known] * held[known]) / measured)
        if measured
        else None,
        "above_ms": above,
        "above_share": above / measured if measured else None,
    }


def _vector(sources: Sources, expr: str, at_ms: int) -> dict[tuple, float]:
    result = instant_query(sources, expr, at_ms)
    if not isinstance(result.value, Vector):
        return {}
    return {_key(dict(s.labels)): s.value for s in result.value}


def _gauges(sources: Sources, start_ms: int, end_ms: int) -> dict[str, dict[tuple, RawSeries]]:
    return {
        name: _by_pool(raw_series(sources, _GAUGE + name, start_ms, end_ms))
        for name in ("checked_out", "size", "max_overflow")
    }


def dbpools_view(
    sources: Sources, start_ms: int, end_ms: int, step_ms: int, *, charts: bool = True
) -> DbPoolsView:
    """Every instrumented pool with samples in the range (and the charts' series unless
    ``charts`` is false)."""
    window = (start_ms, end_ms)
    gauges = _gauges(sources, start_ms, end_ms)
    span = f"[{end_ms - start_ms}ms]"
    by = "sum by (job, instance, engine)"
    checkouts = _vector(
        sources, f"{by} (increase(db_client_connection_wait_seconds_count{span}))", end_ms
    )
    wait_p95 = _vector(
        sources,
        "histogram_quantile(0.95, sum by (job, instance, engine, le) "
        f"(increase(db_client_connection_wait_seconds_bucket{span})))",
        end_ms,
    )
    timeouts = raw_series(sources, "db_client_connection_timeouts_total", start_ms, end_ms)
    timeout_totals: dict[tuple, float] = {}
    for series in timeouts:
        key = _key(series.labels)
        timeout_totals[key] = timeout_totals.get(key, 0.0) + float(
            counter_increments(series, start_ms)[1].sum()
        )
    pools, saturation_series = [], []
    keys = set(gauges["checked_out"]) | set(timeout_totals) | set(checkouts)
    for key in sorted(keys):
        pool = _pool(key, gauges, window)
        pool.checkouts = checkouts.get(key, 0.0)
        p95 = wait_p95.get(key)
        pool.wait_p95_s = p95 if p95 is not None and math.isfinite(p95) else None
        pool.timeouts = timeout_totals.get(key, 0.0)
        pools.append(pool)
        if key in gauges["checked_out"]:
            sat = _saturation(gauges, key)
            times, peaks = chart_peaks(sat.times_ms, sat.ratio, start_ms, end_ms, step_ms)
            labels = dict(zip(_POOL_KEY, key, strict=True))
            saturation_series.append(SeriesPoints(_name(labels), labels, times, peaks))
    if not charts:
        return DbPoolsView(pools, [], [], [])
    grid = (start_ms, end_ms, step_ms)
    return DbPoolsView(
        pools, saturation_series, _wait_series(sources, grid), _timeout_series(timeouts, grid)
    )


def _pool(key: tuple, gauges: dict[str, dict[tuple, RawSeries]], window) -> PoolStats:
    last = {name: _last(gauges[name].get(key)) for name in ("size", "max_overflow")}
    figures = {
        "capacity": None,
        "in_use": None,
        "saturation_now": None,
        "saturation_peak": None,
        "saturation_mean": None,
        "above_ms": 0,
        "above_share": None,
    }
    if key in gauges["checked_out"]:
        figures = _pool_figures(_saturation(gauges, key), window)
    return PoolStats(
        *key,
        size=last["size"],
        max_overflow=last["max_overflow"],
        checkouts=0.0,
        wait_p95_s=None,
        timeouts=0.0,
        **figures,
    )


def _last(series: RawSeries | None) -> float | None:
    return float(series.values[-1]) if series is not None and len(series.values) else None


def _name(labels: dict[str, str]) -> str:
    instance = labels.get("instance", "")
    return labels.get("engine", "") + (f" ({instance})" if instance else "")


def _wait_series(sources: Sources, grid: tuple[int, int, int]) -> list[SeriesPoints]:
    start_ms, end_ms, step_ms = grid
    expr = (
        "histogram_quantile(0.95, sum by (job, instance, engine, le) "
        f"(rate(db_client_connection_wait_seconds_bucket[{chart_window_ms(step_ms)}ms])))"
    )
    found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
    return sorted(
        (SeriesPoints(_name(s.labels), s.labels, s.times_ms, s.values) for s in found),
        key=lambda s: s.name,
    )


def _timeout_series(timeouts: list[RawSeries], grid: tuple[int, int, int]) -> list[SeriesPoints]:
    """Checkout timeouts per bar (:func:`count_step_ms`), counted from the raw samples."""
    start_ms, end_ms, step_ms = grid
    found = []
    for series in timeouts:
        times, growth = counter_increments(series, start_ms)
        points, sums = bucket_sum(times, growth, start_ms, end_ms, count_step_ms(step_ms))
        if any(sums):
            found.append(SeriesPoints(_name(series.labels), series.labels, points, sums))
    return sorted(found, key=lambda s: s.name)
