"""Real-user monitoring for the RUM page: the p75 of each Web Vital per page and device
class with its good / needs-improvement / poor shares (as CrUX shows them), the slowest API
calls made from browsers, and JavaScript errors.

Vitals and API calls come from the collector's histograms through PromQL
(``rum_web_vitals_*``, ``rum_api_request_duration_seconds``); their buckets include
web-vitals' "good" and "poor" thresholds, so a share is a bucket divided by the count and
the p75 is ``histogram_quantile(0.75, ...)``. Error counts come from ``rum_js_errors_total``,
error messages from the collector's RUM event store (``rum_events``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from collector.convert.web_vitals import API_METRIC, VITALS
from collector.promql.result import Vector
from collector.store.matchers import Matcher
from web.queries import Sources
from web.queries.promql import SeriesPoints, instant_query, range_query, series_of

__all__ = [
    "ALL_DEVICES",
    "VITAL_ORDER",
    "ApiCallRow",
    "ErrorCount",
    "JsErrorGroup",
    "PageVitals",
    "VitalStat",
    "api_calls",
    "js_error_counts",
    "js_error_messages",
    "js_error_trend",
    "label_selector",
    "rum_apps",
    "vital_trend",
    "page_vitals",
    "vital_units",
]

#: The order CrUX and PageSpeed Insights list the vitals in.
VITAL_ORDER = ("LCP", "INP", "CLS", "FCP", "TTFB")
ALL_DEVICES = "all"
P75 = 0.75
_GROUP = ("app", "page", "device_class")
MAX_PAGES = 50


def vital_units(name: str) -> str:
    """``s`` for the timing vitals (stored in seconds), ``""`` for CLS."""
    return "" if name == "CLS" else "s"


def _quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def label_selector(app: str, **extra: str) -> str:
    """``{app="shop", ...}`` for the chosen app ("" for every app), or ``""``."""
    pairs = ([("app", app)] if app else []) + [(k, v) for k, v in extra.items() if v]
    if not pairs:
        return ""
    return "{" + ", ".join(f"{k}={_quote(v)}" for k, v in pairs) + "}"


def rum_apps(sources: Sources) -> list[str]:
    """Apps that sent Web Vitals, API timings or JS errors."""
    names = "|".join(
        [*(s.metric + "_count" for s in VITALS.values()), API_METRIC + "_count"]
        + ["rum_js_errors_total"]
    )
    return sources.querier.label_values("app", [Matcher.regex("__name__", names)])


def _window_s(start_ms: int, end_ms: int) -> int:
    return max(1, (end_ms - start_ms) // 1000)


def _vector(sources: Sources, expr: str, at_ms: int) -> Vector:
    value = instant_query(sources, expr, at_ms).value
    return value if isinstance(value, Vector) else Vector()


@dataclass(frozen=True)
class VitalStat:
    """One vital of one page and device class over the range. Shares are fractions of
    ``count`` (the measurements, as ``increase()`` extrapolates them); ``rating`` is the
    p75's: ``good``, ``needs-improvement`` or ``poor``, as CrUX rates a page."""

    name: str
    p75: float | None
    count: float
    good: float
    needs_improvement: float
    poor: float
    rating: str
    good_threshold: float
    poor_threshold: float
    unit: str


@dataclass
class PageVitals:
    """The vitals of one page, for all devices together (``device_class`` ``all``) or one
    device class; ``vitals`` has an entry per measured vital, in :data:`VITAL_ORDER`."""

    app: str
    page: str
    device_class: str
    vitals: dict[str, VitalStat] = field(default_factory=dict)

    @property
    def measurements(self) -> float:
        return max((v.count for v in self.vitals.values()), default=0.0)


def _rating(name: str, value: float | None) -> str:
    spec = VITALS[name]
    if value is None:
        return ""
    if value <= spec.good:
        return "good"
    return "poor" if value > spec.poor else "needs-improvement"


def _bucket_counts(vector: Vector, group: tuple[str, ...]) -> dict[tuple, dict[float, float]]:
    """Group key -> {upper bound: cumulative count} of a ``sum by (..., le)`` result."""
    out: dict[tuple, dict[float, float]] = defaultdict(dict)
    for sample in vector:
        le = sample.labels.get("le") or ""
        try:
            bound = float(le)
        except ValueError:
            continue
        key = tuple(sample.labels.get(name) or "" for name in group)
        out[key][bound] = out[key].get(bound, 0.0) + sample.value
    return out


def _stat(name: str, buckets: dict[float, float], p75: float | None) -> VitalStat | None:
    spec = VITALS[name]
    count = buckets.get(math.inf, 0.0)
    if count <= 0:
        return None
    good = buckets.get(spec.good, 0.0)
    poor = count - buckets.get(spec.poor, count)
    p75 = p75 if p75 is not None and math.isfinite(p75) else None
    return VitalStat(
        name=name,
        p75=p75,
        count=count,
        good=good / count,
        needs_improvement=max(0.0, count - good - poor) / count,
        poor=poor / count,
        rating=_rating(name, p75),
        good_threshold=spec.good,
        poor_threshold=spec.poor,
        unit=vital_units(name),
    )


def _one_vital(
    sources: Sources, name: str, selector: str, window_s: int, end_ms: int, group: tuple
) -> dict[tuple, VitalStat]:
    """The stats of one vital by ``group`` (with or without ``device_class``)."""
    by = ", ".join(group)
    buckets = f"sum by ({by}, le) (increase({VITALS[name].metric}_bucket{selector}[{window_s}s]))"
    counts = _bucket_counts(_vector(sources, buckets, end_ms), group)
    p75s = {
        tuple(s.labels.get(n) or "" for n in group): s.value
        for s in _vector(sources, f"histogram_quantile({P75}, {buckets})", end_ms)
    }
    found = {key: _stat(name, b, p75s.get(key)) for key, b in counts.items()}
    return {key: stat for key, stat in found.items() if stat is not None}


def page_vitals(sources: Sources, start_ms: int, end_ms: int, app: str = "") -> list[PageVitals]:
    """Per page (busiest first, at most :data:`MAX_PAGES`): one row for all devices, then
    one per device class (mobile, tablet, desktop), each with the vitals measured."""
    selector, window_s = label_selector(app), _window_s(start_ms, end_ms)
    rows: dict[tuple[str, str, str], PageVitals] = {}
    for name in VITAL_ORDER:
        for group in (_GROUP, _GROUP[:2]):
            for key, stat in _one_vital(sources, name, selector, window_s, end_ms, group).items():
                device = key[2] if len(key) == 3 else ALL_DEVICES
                row = rows.setdefault((key[0], key[1], device), PageVitals(key[0], key[1], device))
                row.vitals[name] = stat
    for row in rows.values():
        row.vitals = {n: row.vitals[n] for n in VITAL_ORDER if n in row.vitals}
    totals = {(r.app, r.page): r.measurements for r in rows.values() if r.device_class == "all"}
    pages = sorted(totals, key=lambda k: (-totals[k], k))[:MAX_PAGES]
    device_rank = {ALL_DEVICES: 0, "mobile": 1, "tablet": 2, "desktop": 3}
    return [
        rows[(a, p, d)]
        for a, p in pages
        for d in sorted(
            {k[2] for k in rows if k[:2] == (a, p)}, key=lambda d: device_rank.get(d, 9)
        )
    ]


def vital_trend(
    sources: Sources, start_ms: int, end_ms: int, step_ms: int, name: str, app: str = ""
) -> list[SeriesPoints]:
    """The p75 of vital ``name`` over time, one series per device class (all pages)."""
    window_s = max(300, 4 * step_ms // 1000)
    metric = VITALS[name].metric
    expr = (
        f"histogram_quantile({P75}, sum by (device_class, le) "
        f"(rate({metric}_bucket{label_selector(app)}[{window_s}s])))"
    )
    series = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
    named = [
        SeriesPoints(s.labels.get("device_class") or "unknown", s.labels, s.times_ms, s.values)
        for s in series
    ]
    return sorted(named, key=lambda s: s.name)


@dataclass(frozen=True)
class ApiCallRow:
    """An API route called from browsers: calls in the range, the share that failed
    (network errors and 5xx), and the p75 and p95 of its duration in seconds."""

    app: str
    method: str
    route: str
    calls: float
    failed: float
    p75: float | None
    p95: float | None


def _by_route(vector: Vector) -> dict[tuple[str, str, str], float]:
    names = ("app", "http_request_method", "http_route")
    return {tuple(s.labels.get(n) or "" for n in names): s.value for s in vector}


def api_calls(
    sources: Sources, start_ms: int, end_ms: int, app: str = "", limit: int = 15
) -> list[ApiCallRow]:
    """The ``limit`` slowest API routes by p95 (ties: more calls first)."""
    window_s, by = _window_s(start_ms, end_ms), "app, http_request_method, http_route"
    selector = label_selector(app)
    failed_selector = label_selector(app, status_class="error|5xx").replace(
        'status_class="', 'status_class=~"'
    )
    counts = _by_route(_vector(sources, _api_increase("count", by, selector, window_s), end_ms))
    failed_expr = _api_increase("count", by, failed_selector, window_s)
    failed = _by_route(_vector(sources, failed_expr, end_ms))
    buckets = _api_increase("bucket", by + ", le", selector, window_s)
    quantiles = {
        q: _by_route(_vector(sources, f"histogram_quantile({q}, {buckets})", end_ms))
        for q in (0.75, 0.95)
    }
    rows = [
        ApiCallRow(
            *key,
            calls=calls,
            failed=failed.get(key, 0.0) / calls,
            p75=_finite(quantiles[0.75].get(key)),
            p95=_finite(quantiles[0.95].get(key)),
        )
        for key, calls in counts.items()
        if calls > 0
    ]
    rows.sort(key=lambda r: (-(r.p95 or 0.0), -r.calls, r.route))
    return rows[:limit]


def _api_increase(suffix: str, by: str, selector: str, window_s: int) -> str:
    return f"sum by ({by}) (increase({API_METRIC}_{suffix}{selector}[{window_s}s]))"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# -- JavaScript errors ---------------------------------------------------------------------

JS_ERRORS = "rum_js_errors_total"
#: Error events read per app for the message table (newest first from the range's start).
ERROR_SCAN = 2_000


@dataclass(frozen=True)
class ErrorCount:
    app: str
    page: str
    errors: float


def js_error_counts(
    sources: Sources, start_ms: int, end_ms: int, app: str = ""
) -> list[ErrorCount]:
    """JS errors per page within the range, most first (from ``rum_js_errors_total``)."""
    window_s = _window_s(start_ms, end_ms)
    expr = f"sum by (app, page) (increase({JS_ERRORS}{label_selector(app)}[{window_s}s]))"
    rows = [
        ErrorCount(s.labels.get("app") or "", s.labels.get("page") or "", s.value)
        for s in _vector(sources, expr, end_ms)
        if s.value > 0
    ]
    return sorted(rows, key=lambda r: (-r.errors, r.app, r.page))


def js_error_trend(
    sources: Sources, start_ms: int, end_ms: int, step_ms: int, app: str = ""
) -> list[SeriesPoints]:
    """JS errors per minute over time, one series per page."""
    window_s = max(300, 4 * step_ms // 1000)
    expr = f"sum by (page) (rate({JS_ERRORS}{label_selector(app)}[{window_s}s])) * 60"
    series = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
    named = [
        SeriesPoints(s.labels.get("page") or "", s.labels, s.times_ms, s.values) for s in series
    ]
    return sorted(named, key=lambda s: s.name)


@dataclass(frozen=True)
class JsErrorGroup:
    """Errors with the same message and source location, newest occurrence first."""

    app: str
    message: str
    source: str
    line: int | None
    col: int | None
    count: int
    pages: list[str]
    last_seen_ms: int
    stack: str


def _event_store(sources: Sources):
    """The collector's RUM event store on the server's database, or None if the server
    receives no beacons (no ``rum_events`` table)."""
    import sqlalchemy as sa

    from collector.receivers.rum_events import RumEventStore, rum_events

    engine = getattr(sources.querier, "engine", None)
    if engine is None or not sa.inspect(engine).has_table(rum_events.name):
        return None
    return RumEventStore(engine)


def js_error_messages(
    sources: Sources, start_ms: int, end_ms: int, app: str = "", limit: int = 20
) -> list[JsErrorGroup] | None:
    """The most frequent error messages in the range (up to :data:`ERROR_SCAN` newest
    events per app are read); None without a RUM event table."""
    store = _event_store(sources)
    if store is None:
        return None
    groups: dict[tuple, dict] = {}
    for name in [app] if app else rum_apps(sources):
        for event in store.query(name, "js_error", since_ms=start_ms, limit=ERROR_SCAN):
            if event["ts_ms"] > end_ms:
                continue
            p = event["payload"] or {}
            key = (name, p.get("message") or "", p.get("source") or "", p.get("line"), p.get("col"))
            group = groups.setdefault(key, {"count": 0, "pages": set(), "last": 0, "stack": ""})
            group["count"] += 1
            group["pages"].add(event["page"])
            if event["ts_ms"] >= group["last"]:
                group["last"], group["stack"] = event["ts_ms"], p.get("stack") or ""
    rows = [
        JsErrorGroup(*key, g["count"], sorted(g["pages"]), g["last"], g["stack"])
        for key, g in groups.items()
    ]
    rows.sort(key=lambda r: (-r.count, -r.last_seen_ms, r.message))
    return rows[:limit]
