"""Services and their routes: request rate, errors and p50/p95/p99 duration (RED).

Figures over the page's range are PromQL over one window as long as the range, evaluated at
its end (``increase(..._count[<range>])``, ``histogram_quantile`` of the bucket increases), so
they match what the same expression gives in the query explorer or Prometheus. Charts use
``rate(...[w])`` with ``w`` the larger of 5 minutes (the shipped alert rules' window) and two
chart steps, so no sample falls between two points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from collector.promql.result import Vector
from web.queries import Sources
from web.queries.promql import SeriesPoints, instant_query, range_query, series_of
from web.queries.red import SOURCES, RedSource

__all__ = [
    "QUANTILES",
    "RedStats",
    "RouteStats",
    "ServiceSummary",
    "ServiceView",
    "chart_window_ms",
    "list_services",
    "service_rate_series",
    "service_view",
    "sources_of",
]

QUANTILES = (0.5, 0.95, 0.99)
#: Charts draw this many routes (the busiest); the table lists them all.
CHART_ROUTES = 8
_MIN_CHART_WINDOW_MS = 5 * 60_000


@dataclass(frozen=True)
class RedStats:
    """Rate, errors and duration quantiles over one window (None: no request to measure)."""

    requests: float
    rate_per_s: float
    errors: float
    error_ratio: float | None
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None


@dataclass(frozen=True)
class ServiceSummary:
    name: str
    source: str
    #: other sources that also have data under this name
    also_in: list[str]
    routes: int
    stats: RedStats


@dataclass(frozen=True)
class RouteStats:
    route: str
    labels: dict[str, str]
    stats: RedStats


@dataclass(frozen=True)
class ServiceView:
    """One service: totals, the per-route table and the charts' series."""

    name: str
    source: str
    description: str
    sources_available: list[str]
    stats: RedStats
    routes: list[RouteStats]
    rate_series: list[SeriesPoints] = field(default_factory=list)
    error_series: list[SeriesPoints] = field(default_factory=list)
    latency_series: list[SeriesPoints] = field(default_factory=list)
    route_p95_series: list[SeriesPoints] = field(default_factory=list)


def chart_window_ms(step_ms: int) -> int:
    """The ``rate()`` window of chart queries at this step."""
    return max(2 * step_ms, _MIN_CHART_WINDOW_MS)


def _by_key(sources: Sources, expr: str, at_ms: int, by: tuple[str, ...]):
    result = instant_query(sources, expr, at_ms)
    found: dict[tuple[str, ...], tuple[dict[str, str], float]] = {}
    if isinstance(result.value, Vector):
        for sample in result.value:
            labels = dict(sample.labels)
            found[tuple(labels.get(name, "") for name in by)] = (labels, sample.value)
    return found


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _red_stats(
    sources: Sources, src: RedSource, by: tuple[str, ...], service: str | None, window: tuple
) -> dict[tuple[str, ...], tuple[dict[str, str], RedStats]]:
    """RED per label combination ``by`` over ``window`` = (start_ms, end_ms)."""
    start_ms, end_ms = window
    span = f"[{end_ms - start_ms}ms]"
    group = ", ".join(by)
    with_le = ", ".join((*by, "le"))
    count, bucket = f"{src.histogram}_count", f"{src.histogram}_bucket"
    totals = _by_key(
        sources, f"sum by ({group}) (increase({count}{src.selector(service)}{span}))", end_ms, by
    )
    errors = _by_key(
        sources,
        f"sum by ({group}) (increase({count}{src.selector(service, errors=True)}{span}))",
        end_ms,
        by,
    )
    quantiles = [
        _by_key(
            sources,
            f"histogram_quantile({q}, sum by ({with_le}) "
            f"(increase({bucket}{src.selector(service)}{span})))",
            end_ms,
            by,
        )
        for q in QUANTILES
    ]
    seconds = (end_ms - start_ms) / 1000
    stats = {}
    for key, (labels, requests) in totals.items():
        failed = errors.get(key, ({}, 0.0))[1]
        p50, p95, p99 = (_finite(found.get(key, ({}, None))[1]) for found in quantiles)
        ratio = failed / requests if requests > 0 else None
        stats[key] = (labels, RedStats(requests, requests / seconds, failed, ratio, p50, p95, p99))
    return stats


def _routes_per_service(sources: Sources, src: RedSource, window: tuple) -> dict[str, int]:
    start_ms, end_ms = window
    by = (src.service_label, *src.route_labels)
    expr = (
        f"sum by ({', '.join(by)}) "
        f"(last_over_time({src.histogram}_count{src.selector()}[{end_ms - start_ms}ms]))"
    )
    counts: dict[str, int] = {}
    for key in _by_key(sources, expr, end_ms, by):
        counts[key[0]] = counts.get(key[0], 0) + 1
    return counts


def list_services(sources: Sources, start_ms: int, end_ms: int) -> list[ServiceSummary]:
    """Every service with requests (or idle series) in the range, busiest first.

    A name found in both sources is read from the HTTP metrics; ``also_in`` says so.
    """
    window = (start_ms, end_ms)
    found: dict[str, ServiceSummary] = {}
    for src in SOURCES:
        routes = _routes_per_service(sources, src, window)
        stats = _red_stats(sources, src, (src.service_label,), None, window)
        for name, count in routes.items():
            if name in found:
                found[name].also_in.append(src.kind.value)
                continue
            red = stats.get((name,), ({}, _no_requests()))[1]
            found[name] = ServiceSummary(name, src.kind.value, [], count, red)
    return sorted(found.values(), key=lambda s: (-s.stats.requests, s.name))


def _no_requests() -> RedStats:
    return RedStats(0.0, 0.0, 0.0, None, None, None, None)


def sources_of(sources: Sources, name: str, start_ms: int, end_ms: int) -> list[RedSource]:
    """The sources holding series of service ``name`` in the range, preferred first."""
    present = []
    for src in SOURCES:
        span = f"[{end_ms - start_ms}ms]"
        expr = f"count(last_over_time({src.histogram}_count{src.selector(name)}{span}))"
        if _by_key(sources, expr, end_ms, ()):
            present.append(src)
    return present


def service_view(
    sources: Sources, name: str, kind: str | None, start_ms: int, end_ms: int, step_ms: int
) -> ServiceView | None:
    """Service ``name`` read from source ``kind`` (the preferred one when None); None when
    that source has no series of it in the range."""
    present = sources_of(sources, name, start_ms, end_ms)
    chosen = [s for s in present if kind is None or s.kind.value == kind]
    if not chosen:
        return None
    src = chosen[0]
    window = (start_ms, end_ms)
    total = _red_stats(sources, src, (), name, window).get((), ({}, _no_requests()))[1]
    per_route = _red_stats(sources, src, src.route_labels, name, window)
    routes = sorted(
        (RouteStats(src.route_name(labels), labels, red) for labels, red in per_route.values()),
        key=lambda r: (-r.stats.requests, r.route),
    )
    view = ServiceView(
        name,
        src.kind.value,
        src.description,
        [s.kind.value for s in present],
        total,
        routes,
    )
    _add_series(sources, src, view, (start_ms, end_ms, step_ms))
    return view


def _add_series(sources: Sources, src: RedSource, view: ServiceView, grid: tuple) -> None:
    start_ms, end_ms, step_ms = grid
    rate = f"[{chart_window_ms(step_ms)}ms]"
    by = ", ".join(src.route_labels)
    count, bucket = f"{src.histogram}_count", f"{src.histogram}_bucket"
    busiest = {r.route for r in view.routes[:CHART_ROUTES]}

    def per_route(expr: str) -> list[SeriesPoints]:
        found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
        named = [_renamed(s, src.route_name(s.labels)) for s in found]
        return sorted((s for s in named if s.name in busiest), key=lambda s: s.name)

    view.rate_series.extend(
        per_route(f"sum by ({by}) (rate({count}{src.selector(view.name)}{rate}))")
    )
    errors = src.selector(view.name, errors=True)
    view.error_series.extend(per_route(f"sum by ({by}) (rate({count}{errors}{rate}))"))
    for q in QUANTILES:
        expr = (
            f"histogram_quantile({q}, sum by (le) (rate({bucket}{src.selector(view.name)}{rate})))"
        )
        found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
        view.latency_series.extend(_renamed(s, f"p{round(q * 100)}") for s in found)
    view.route_p95_series.extend(
        per_route(
            f"histogram_quantile(0.95, sum by ({by}, le) "
            f"(rate({bucket}{src.selector(view.name)}{rate})))"
        )
    )


def _renamed(series: SeriesPoints, name: str) -> SeriesPoints:
    values = [v if v is None or math.isfinite(v) else None for v in series.values]
    return SeriesPoints(name, series.labels, series.times_ms, values)


def service_rate_series(
    sources: Sources, services: list[ServiceSummary], start_ms: int, end_ms: int, step_ms: int
) -> list[SeriesPoints]:
    """Requests per second of each listed service over time, from its chosen source."""
    rate = f"[{chart_window_ms(step_ms)}ms]"
    found: list[SeriesPoints] = []
    for src in SOURCES:
        wanted = {s.name for s in services if s.source == src.kind.value}
        if not wanted:
            continue
        label = src.service_label
        expr = f"sum by ({label}) (rate({src.histogram}_count{src.selector()}{rate}))"
        for series in series_of(range_query(sources, expr, start_ms, end_ms, step_ms)):
            name = series.labels.get(label, "")
            if name in wanted:
                found.append(_renamed(series, name))
    return sorted(found, key=lambda s: s.name)
