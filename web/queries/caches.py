"""Caches (``sloscope.cache.MultiLevelCache``): hit ratio per cache and level, misses,
errors and L2 (Redis) outages.

What the SDK exports (plus the scrape's ``job`` and ``instance``)::

    cache_requests_total{cache, level, result}   level l1, l2 or loader; result hit or miss
    cache_errors_total{cache, level, reason}     l2: connection, timeout, circuit_open,
                                                 redis_error, decode, encode; loader: exception
    cache_stale_served_total{cache, level}
    cache_load_duration_seconds{cache}           the loader's run time

A lookup missed every level when it missed L2 (or L1, for a cache without Redis). An L2
outage is a run of scrape intervals in which Redis calls failed for want of Redis
(``connection``, ``timeout``) or were skipped because it had just failed (``circuit_open``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from collector.promql.result import Vector
from web.queries import Sources
from web.queries.promql import SeriesPoints, instant_query, range_query, series_of
from web.queries.raw_samples import (
    RawSeries,
    bucket_sum,
    count_step_ms,
    counter_increments,
    raw_series,
)
from web.queries.services import chart_window_ms

__all__ = ["L2_DOWN_REASONS", "CacheStats", "CachesView", "LevelStats", "Outage", "caches_view"]

L2_DOWN_REASONS = ("connection", "timeout", "circuit_open")
_CACHE_KEY = ("job", "cache")


@dataclass(frozen=True)
class LevelStats:
    level: str
    lookups: float
    hits: float
    misses: float
    hit_ratio: float | None
    stale_served: float


@dataclass(frozen=True)
class Outage:
    """Redis unusable for one cache in one process: from the last scrape before the first
    failure to the scrape that counted the last one."""

    job: str
    instance: str
    cache: str
    start_ms: int
    end_ms: int
    duration_ms: int
    failed_calls: float
    reasons: list[str]


@dataclass
class CacheStats:
    job: str
    cache: str
    levels: list[LevelStats]
    has_l2: bool
    lookups: float
    missed_all_levels: float
    hit_ratio: float | None
    loads: float
    load_failures: float
    load_p95_s: float | None
    errors: dict[str, float] = field(default_factory=dict)  # "level/reason" -> count
    outages: int = 0


@dataclass
class CachesView:
    caches: list[CacheStats]
    outages: list[Outage]
    ratio_series: list[SeriesPoints]
    miss_series: list[SeriesPoints]
    error_series: list[SeriesPoints]


def _vector(sources: Sources, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
    result = instant_query(sources, expr, at_ms)
    if not isinstance(result.value, Vector):
        return []
    return [(dict(s.labels), s.value) for s in result.value]


def _key(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("job", ""), labels.get("cache", "")


def _lookups(sources: Sources, window: tuple[int, int]) -> dict[tuple, dict[tuple, float]]:
    """Per cache: (level, result) -> lookups over the window."""
    start_ms, end_ms = window
    expr = (
        "sum by (job, cache, level, result) "
        f"(increase(cache_requests_total[{end_ms - start_ms}ms]))"
    )
    found: dict[tuple, dict[tuple, float]] = {}
    for labels, value in _vector(sources, expr, end_ms):
        found.setdefault(_key(labels), {})[(labels.get("level"), labels.get("result"))] = value
    return found


def _level(level: str, counts: dict[tuple, float], stale: float) -> LevelStats:
    hits, misses = counts.get((level, "hit"), 0.0), counts.get((level, "miss"), 0.0)
    lookups = hits + misses
    return LevelStats(level, lookups, hits, misses, hits / lookups if lookups else None, stale)


def _cache_stats(key: tuple, counts: dict[tuple, float], extras: dict) -> CacheStats:
    has_l2 = any(level == "l2" for level, _ in counts)
    stale = extras["stale"].get(key, {})
    names = ("l1", "l2") if has_l2 else ("l1",)
    levels = [_level(lv, counts, stale.get(lv, 0.0)) for lv in names]
    lookups = levels[0].lookups
    missed = levels[-1].misses
    return CacheStats(
        job=key[0],
        cache=key[1],
        levels=levels,
        has_l2=has_l2,
        lookups=lookups,
        missed_all_levels=missed,
        hit_ratio=1 - missed / lookups if lookups else None,
        loads=counts.get(("loader", "hit"), 0.0) + counts.get(("loader", "miss"), 0.0),
        load_failures=counts.get(("loader", "miss"), 0.0),
        load_p95_s=extras["load_p95"].get(key),
    )


def _extras(sources: Sources, window: tuple[int, int]) -> dict[str, dict]:
    start_ms, end_ms = window
    span = f"[{end_ms - start_ms}ms]"
    stale: dict[tuple, dict[str, float]] = {}
    expr = f"sum by (job, cache, level) (increase(cache_stale_served_total{span}))"
    for labels, value in _vector(sources, expr, end_ms):
        stale.setdefault(_key(labels), {})[labels.get("level", "")] = value
    expr = (
        "histogram_quantile(0.95, sum by (job, cache, le) "
        f"(increase(cache_load_duration_seconds_bucket{span})))"
    )
    load_p95 = {_key(lb): v for lb, v in _vector(sources, expr, end_ms) if math.isfinite(v)}
    return {"stale": stale, "load_p95": load_p95}


def _interval_starts(series: RawSeries, times: np.ndarray) -> np.ndarray:
    """When each counted interval began: the series' previous sample (for the first sample
    of a series born in the range, one typical scrape interval earlier)."""
    index = np.searchsorted(series.times_ms, times) - 1
    gaps = np.diff(series.times_ms)
    typical = int(np.median(gaps)) if len(gaps) else 0
    earlier = series.times_ms[np.maximum(index, 0)]
    return np.where(index >= 0, earlier, times - typical)


def _outages(errors: list[RawSeries], start_ms: int) -> list[Outage]:
    spells: dict[tuple, list[tuple[int, int, float, str]]] = {}
    for series in errors:
        labels = series.labels
        if labels.get("level") != "l2" or labels.get("reason") not in L2_DOWN_REASONS:
            continue
        times, growth = counter_increments(series, start_ms)
        failing = growth > 0
        starts = _interval_starts(series, times[failing])
        key = (labels.get("job", ""), labels.get("instance", ""), labels.get("cache", ""))
        for begin, end, count in zip(starts, times[failing], growth[failing], strict=True):
            spells.setdefault(key, []).append(
                (max(int(begin), start_ms), int(end), float(count), labels["reason"])
            )
    found = []
    for (job, instance, cache), parts in spells.items():
        merged: list[list] = []
        for begin, end, count, reason in sorted(parts):
            if merged and begin <= merged[-1][1]:
                last = merged[-1]
                last[1], last[2] = max(last[1], end), last[2] + count
                last[3].add(reason)
            else:
                merged.append([begin, end, count, {reason}])
        found += [Outage(job, instance, cache, b, e, e - b, c, sorted(r)) for b, e, c, r in merged]
    return sorted(found, key=lambda o: (-o.start_ms, o.cache))


def _error_totals(errors: list[RawSeries], start_ms: int) -> dict[tuple, dict[str, float]]:
    totals: dict[tuple, dict[str, float]] = {}
    for series in errors:
        _, growth = counter_increments(series, start_ms)
        if growth.sum() > 0:
            name = f"{series.labels.get('level', '')}/{series.labels.get('reason', '')}"
            per_cache = totals.setdefault(_key(series.labels), {})
            per_cache[name] = per_cache.get(name, 0.0) + float(growth.sum())
    return totals


def caches_view(
    sources: Sources, start_ms: int, end_ms: int, step_ms: int, *, charts: bool = True
) -> CachesView:
    """Every cache with lookups in the range, its levels, errors and L2 outages (and the
    charts' series unless ``charts`` is false: the home page needs only the figures)."""
    window = (start_ms, end_ms)
    lookups = _lookups(sources, window)
    extras = _extras(sources, window)
    errors = raw_series(sources, "cache_errors_total", start_ms, end_ms)
    error_totals = _error_totals(errors, start_ms)
    outages = _outages(errors, start_ms)
    caches = []
    for key in sorted(set(lookups) | set(error_totals)):
        stats = _cache_stats(key, lookups.get(key, {}), extras)
        stats.errors = error_totals.get(key, {})
        stats.outages = sum(1 for o in outages if (o.job, o.cache) == key)
        caches.append(stats)
    if not charts:
        return CachesView(caches, outages, [], [], [])
    grid = (start_ms, end_ms, step_ms)
    return CachesView(
        caches,
        outages,
        _ratio_series(sources, grid),
        _miss_series(sources, grid),
        _l2_error_series(errors, grid),
    )


def _name(labels: dict[str, str], *parts: str) -> str:
    return " ".join(p for p in (labels.get("cache", ""), *parts) if p) + (
        f" ({labels['job']})" if labels.get("job") else ""
    )


def _ratio_series(sources: Sources, grid: tuple[int, int, int]) -> list[SeriesPoints]:
    start_ms, end_ms, step_ms = grid
    w = f"[{chart_window_ms(step_ms)}ms]"
    by = "sum by (job, cache, level)"
    looked = f'{by} (rate(cache_requests_total{{level=~"l1|l2"}}{w}))'
    hits = f'{by} (rate(cache_requests_total{{level=~"l1|l2", result="hit"}}{w}))'
    expr = f"({hits} or {looked} * 0) / {looked}"
    found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
    named = [_renamed(s, _name(s.labels, s.labels.get("level", ""))) for s in found]
    return sorted(named, key=lambda s: s.name)


def _miss_series(sources: Sources, grid: tuple[int, int, int]) -> list[SeriesPoints]:
    """Lookups per second that missed every level (the shipped recording rule's formula)."""
    start_ms, end_ms, step_ms = grid
    w = f"[{chart_window_ms(step_ms)}ms]"
    by = "sum by (job, cache)"
    expr = (
        f'{by} (rate(cache_requests_total{{level="l2", result="miss"}}{w})) '
        f'or {by} (rate(cache_requests_total{{level="l2"}}{w})) * 0 '
        f'or {by} (rate(cache_requests_total{{level="l1", result="miss"}}{w}))'
    )
    found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
    return sorted((_renamed(s, _name(s.labels)) for s in found), key=lambda s: s.name)


def _l2_error_series(errors: list[RawSeries], grid: tuple[int, int, int]) -> list[SeriesPoints]:
    """Failed L2 calls per bar (:func:`count_step_ms`), by cache and reason, counted from
    the raw samples."""
    start_ms, end_ms, step_ms = grid
    step_ms = count_step_ms(step_ms)
    grouped: dict[str, tuple[dict[str, str], list[float]]] = {}
    points: list[int] = []
    for series in errors:
        if series.labels.get("level") != "l2":
            continue
        times, growth = counter_increments(series, start_ms)
        points, sums = bucket_sum(times, growth, start_ms, end_ms, step_ms)
        name = _name(series.labels, series.labels.get("reason", ""))
        labels, total = grouped.setdefault(name, (series.labels, [0.0] * len(sums)))
        grouped[name] = (labels, [a + b for a, b in zip(total, sums, strict=True)])
    return [
        SeriesPoints(name, labels, points, list(values))
        for name, (labels, values) in sorted(grouped.items())
        if any(values)
    ]


def _renamed(series: SeriesPoints, name: str) -> SeriesPoints:
    return SeriesPoints(name, series.labels, series.times_ms, series.values)
