""" "Why is it burning": the service's own signals on the SLO's time axis.

For the SLO's service (the ``job`` its SLI selects, else its service name): p95 latency and
5xx ratio of the HTTP server histogram (the spanmetrics series when the service has none),
cache hit ratio per level, DB pool saturation and checkout wait per engine, and the slowest
SQL statements by p95 from the SQLAlchemy integration, each with the text of a slow example
from the span store. Every rate uses a window of one step, at least 5m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from collector.convert.spans_to_red import CALLS, DURATION
from collector.promql.result import Vector
from collector.store.matchers import MatchType
from slo.compile.naming import quote
from slo.compile.windows import MINUTE_MS, format_duration
from slo.spec.model import SLO
from web.queries import Sources
from web.queries.promql import QueryError, SeriesPoints, instant_query, range_query, series_of
from web.queries.slo_selectors import sli_selectors

__all__ = ["Panel", "SlowStatement", "service_job", "signal_panels", "slow_statements"]

HTTP = "http_server_request_duration_seconds"
_MIN_WINDOW_MS = 5 * MINUTE_MS
_MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Panel:
    """One signal over the time range; ``unit`` is ``s`` or ``ratio``."""

    key: str
    title: str
    unit: str
    source: str
    series: list[SeriesPoints] = field(default_factory=list)


def service_job(slo: SLO) -> str:
    """The ``job`` the SLI's queries select (``job="shop"``), else the SLO's service."""
    for matchers in sli_selectors(slo):
        for m in matchers:
            if m.name == "job" and m.type is MatchType.EQUAL and m.value:
                return m.value
    return slo.service


def _queries(slo: SLO, w: str) -> list[tuple[str, str, str, str, list[str]]]:
    """(key, title, unit, series label, candidate expressions) per panel, first with data wins."""
    job = f"job={quote(service_job(slo))}"
    svc = f'service_name={quote(slo.service)}, span_kind="SPAN_KIND_SERVER"'
    http_total = f"sum(rate({HTTP}_count{{{job}}}[{w}]))"
    http_5xx = f'sum(rate({HTTP}_count{{{job}, http_response_status_code=~"5.."}}[{w}]))'
    span_total = f"sum(rate({CALLS}{{{svc}}}[{w}]))"
    span_failed = f'sum(rate({CALLS}{{{svc}, status_code="STATUS_CODE_ERROR"}}[{w}]))'
    cache = f"rate(cache_requests_total{{{job}}}[{w}])"
    cache_hits = f'rate(cache_requests_total{{{job}, result="hit"}}[{w}])'
    pool = "db_client_connection_pool"
    capacity = (
        f"({pool}_size{{{job}}} + ({pool}_max_overflow{{{job}}} >= 0))"
        f" or ({pool}_size{{{job}}} unless {pool}_max_overflow{{{job}}})"
    )
    return [
        ("latency", "p95 latency", "s", "p95", [
            f"histogram_quantile(0.95, sum by (le) (rate({HTTP}_bucket{{{job}}}[{w}])))",
            f"histogram_quantile(0.95, sum by (le) (rate({DURATION}_bucket{{{svc}}}[{w}])))",
        ]),
        ("errors", "5xx ratio", "ratio", "5xx", [
            f"({http_5xx} or 0 * {http_total}) / {http_total}",
            f"({span_failed} or 0 * {span_total}) / {span_total}",
        ]),
        ("cache", "Cache hit ratio", "ratio", "level", [
            f"(sum by (level) ({cache_hits}) or 0 * sum by (level) ({cache}))"
            f" / sum by (level) ({cache})",
        ]),
        ("pool", "DB pool in use", "ratio", "engine", [
            f"sum by (engine) (avg_over_time({pool}_checked_out{{{job}}}[{w}]))"
            f" / (sum by (engine) ({capacity}) > 0)",
        ]),
        ("wait", "DB checkout wait p95", "s", "engine", [
            "histogram_quantile(0.95, sum by (engine, le) "
            f"(rate(db_client_connection_wait_seconds_bucket{{{job}}}[{w}])))",
        ]),
    ]  # fmt: skip


_SOURCES = {
    ("latency", 0): f"{HTTP} (job {{job}})",
    ("latency", 1): f"{DURATION} (server spans of {{service}})",
    ("errors", 0): f"{HTTP} with http_response_status_code 5xx (job {{job}})",
    ("errors", 1): f"{CALLS} with status_code STATUS_CODE_ERROR (server spans of {{service}})",
    ("cache", 0): "cache_requests_total by level (job {job})",
    ("pool", 0): "db_client_connection_pool_checked_out / (size + max_overflow) (job {job})",
    ("wait", 0): "db_client_connection_wait_seconds (job {job})",
}


def signal_panels(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, step_ms: int
) -> tuple[list[Panel], list[str]]:
    """The panels with data, and the titles of those without (to say what is missing)."""
    window = format_duration(max(step_ms, _MIN_WINDOW_MS))
    found, missing = [], []
    names = {"job": service_job(slo), "service": slo.service}
    for key, title, unit, label, candidates in _queries(slo, window):
        for i, expr in enumerate(candidates):
            series = _series(sources, expr, start_ms, end_ms, step_ms, label)
            if series:
                source = _SOURCES[(key, i)].format(**names)
                found.append(Panel(key, title, unit, source, series))
                break
        else:
            missing.append(title)
    return found, missing


def _series(
    sources: Sources, expr: str, start_ms: int, end_ms: int, step_ms: int, label: str
) -> list[SeriesPoints]:
    try:
        result = range_query(sources, expr, start_ms, end_ms, step_ms)
    except QueryError:
        return []
    out = []
    for s in series_of(result):
        if all(v is None for v in s.values):
            continue
        name = f"{label} {s.labels[label]}" if label in s.labels else label
        out.append(SeriesPoints(name, s.labels, s.times_ms, s.values))
    return sorted(out, key=lambda s: s.name)


@dataclass
class SlowStatement:
    """One SQL statement shape (engine, operation, main table) over the time range, with a
    slow example's text and trace when the span store has one."""

    engine: str
    operation: str
    collection: str
    p95_seconds: float
    calls: float | None = None
    slow: float | None = None
    example_text: str = ""
    example_trace_id: str = ""
    example_ms: float | None = None


_KEY_LABELS = ("engine", "db_operation_name", "db_collection_name")
_BY = ", ".join(_KEY_LABELS)


def slow_statements(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, limit: int = 10
) -> list[SlowStatement]:
    """The ``limit`` statements with the highest p95 over the range, slowest first."""
    job = f"job={quote(service_job(slo))}"
    span = format_duration(max(end_ms - start_ms, _MIN_WINDOW_MS))
    metric = "db_client_operation_duration_seconds"
    p95 = (
        f"topk({limit}, histogram_quantile(0.95, sum by ({_BY}, le) "
        f"(rate({metric}_bucket{{{job}}}[{span}]))))"
    )
    rows = {key: SlowStatement(*key, value) for key, value in _by_statement(sources, p95, end_ms)}
    if not rows:
        return []
    for attr, expr in (
        ("calls", f"sum by ({_BY}) (increase({metric}_count{{{job}}}[{span}]))"),
        ("slow", f"sum by ({_BY}) (increase(db_client_slow_queries_total{{{job}}}[{span}]))"),
    ):
        for key, value in _by_statement(sources, expr, end_ms):
            if key in rows:
                setattr(rows[key], attr, value)
    ordered = sorted(rows.values(), key=lambda r: -r.p95_seconds)
    for row in ordered[:_MAX_EXAMPLES]:
        _add_example(sources, slo, row, start_ms, end_ms)
    return ordered


def _by_statement(sources: Sources, expr: str, time_ms: int):
    try:
        result = instant_query(sources, expr, time_ms)
    except QueryError:
        return
    if not isinstance(result.value, Vector):
        return
    for s in result.value:
        if math.isfinite(s.value):
            yield tuple(s.labels.get(n) for n in _KEY_LABELS), s.value


def _add_example(sources: Sources, slo: SLO, row: SlowStatement, start_ms: int, end_ms: int):
    """The slowest span of this statement shape in one trace at least as slow as its p95."""
    store = sources.span_store
    if store is None:
        return
    name = f"{row.operation} {row.collection}".strip()
    hits = store.search(
        service=slo.service,
        operation=name,
        min_duration_ns=int(row.p95_seconds * 1e9 * 0.99),
        start_ns=start_ms * 1_000_000,
        end_ns=end_ms * 1_000_000,
        limit=1,
    )
    if not hits:
        return
    spans = store.get_trace(hits[0].trace_id.hex()) or []
    matching = [s for s in spans if s.name == name]
    if matching:
        slowest = max(matching, key=lambda s: s.duration_ns)
        row.example_text = str(slowest.attributes.get("db.query.text", ""))
        row.example_trace_id = slowest.trace_id.hex()
        row.example_ms = slowest.duration_ns / 1e6
