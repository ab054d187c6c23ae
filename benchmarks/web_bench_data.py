"""Data for the dashboard pages other than the SLO ones, at the scale of a small shop.

Series use the names and labels the SDK and the collector write (see the module docstrings
of :mod:`web.queries.services`, :mod:`web.queries.caches`, :mod:`web.queries.dbpools` and
:mod:`web.queries.rum`), scraped every minute (RUM histograms every 5 minutes, as beacons
aggregate) over the last ``days``:

- HTTP server duration histograms (OpenTelemetry's default buckets) for the jobs ``shop``
  (the job every SLO of :mod:`benchmarks.slo_dataset` selects), ``catalog`` and
  ``payments``, per method, route and status code; ``shop`` is slow in the last two hours,
  when the SLO dataset's incidents burn;
- SQL statement duration histograms of ``shop``;
- two multi-level caches per job (L1, L2, loader) with a ten-minute Redis outage;
- a primary and a replica connection pool per job (gauges, checkout wait, timeouts);
- Web Vitals, API timings and JS errors of the ``shop`` app per page and device class;
- traces of the last ``trace_hours`` (server span, SQL and cache spans below it), stored as
  the OTLP receiver stores them: spans, their RED metrics (spanmetrics) and exemplars.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from benchmarks.slo_dataset import Series
from collector.convert.spans_to_red import RedAccumulator
from collector.convert.web_vitals import API_BUCKETS, API_METRIC, VITALS
from collector.model import METRIC_NAME, Labels
from collector.store.spans import SpanKind, SpanRecord, StatusCode

__all__ = ["JOBS", "page_series", "store_traces", "trace_records"]

SCRAPE_MS = 60_000
RUM_STEP_MS = 300_000
HTTP_BUCKETS = API_BUCKETS  # OpenTelemetry's default duration buckets, in seconds
#: job -> (method, route, requests per second at peak, median latency in seconds)
JOBS: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "shop": (
        ("GET", "/", 40.0, 0.03),
        ("GET", "/search", 15.0, 0.12),
        ("GET", "/product/{id}", 30.0, 0.05),
        ("POST", "/cart", 6.0, 0.08),
        ("POST", "/checkout", 2.0, 0.3),
    ),
    "catalog": (
        ("GET", "/items", 25.0, 0.02),
        ("GET", "/items/{id}", 35.0, 0.015),
        ("PUT", "/items/{id}", 1.0, 0.06),
    ),
    "payments": (("POST", "/charge", 2.0, 0.4), ("GET", "/status/{id}", 4.0, 0.02)),
}
STATEMENTS = (("SELECT", "products", 0.004), ("SELECT", "orders", 0.02), ("INSERT", "orders", 0.01))
RUM_PAGES = ("/", "/search", "/product/:id", "/cart", "/checkout")
#: Web Vital -> median in the metric's unit (seconds, CLS unitless)
VITAL_MEDIANS = {"LCP": 1.9, "FCP": 1.2, "TTFB": 0.45, "INP": 0.14, "CLS": 0.05}


def _erf(values: np.ndarray) -> np.ndarray:
    return np.array([math.erf(v) for v in values.tolist()])


def _bucket_shares(bounds: Sequence[float], median: float, sigma: float) -> np.ndarray:
    """The share of a log-normal distribution's mass in each bucket (``+Inf`` last)."""
    cdf = 0.5 * (1 + _erf((np.log(np.asarray(bounds)) - math.log(median)) / (sigma * math.sqrt(2))))
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def _wave(ts: np.ndarray) -> np.ndarray:
    hours = (ts % 86_400_000) / 3_600_000
    return 0.55 + 0.45 * np.sin((hours - 8.0) / 24.0 * 2 * math.pi)


def _histogram(
    rng: np.random.Generator,
    name: str,
    labels: dict[str, str],
    ts: np.ndarray,
    counts: np.ndarray,
    shares: np.ndarray,
    bounds: Sequence[float],
    mean: float,
) -> list[Series]:
    """Cumulative ``_bucket``, ``_count`` and ``_sum`` series of ``counts`` observations per
    scrape spread over the buckets by ``shares`` (one row per scrape, or one for all)."""
    per_bucket = rng.multinomial(counts, shares)  # broadcasts over the scrapes
    cumulative = np.cumsum(np.cumsum(per_bucket, axis=1), axis=0).astype(np.float64)
    out = []
    for i, bound in enumerate([*bounds, math.inf]):
        le = "+Inf" if math.isinf(bound) else repr(float(bound))
        bucket = Labels.of({**labels, METRIC_NAME: f"{name}_bucket", "le": le})
        out.append((bucket, ts, cumulative[:, i]))
    total = cumulative[:, -1]
    out.append((Labels.of({**labels, METRIC_NAME: f"{name}_count"}), ts, total))
    sums = np.cumsum(counts * mean * rng.uniform(0.9, 1.1, len(ts)))
    out.append((Labels.of({**labels, METRIC_NAME: f"{name}_sum"}), ts, sums))
    return out


def _counter(name: str, labels: dict[str, str], ts: np.ndarray, increments) -> Series:
    values = np.cumsum(np.asarray(increments, dtype=np.float64))
    return Labels.of({**labels, METRIC_NAME: name}), ts, values


def _http(rng: np.random.Generator, ts: np.ndarray, end_ms: int) -> Iterator[Series]:
    slow = ts > end_ms - 2 * 3_600_000
    for job, routes in JOBS.items():
        base = {"job": job, "instance": f"{job}-1:8000"}
        for method, route, peak, median in routes:
            for code, share in (("200", 0.995), ("500", 0.005)):
                counts = rng.poisson(peak * share * _wave(ts) * SCRAPE_MS / 1000)
                normal = _bucket_shares(HTTP_BUCKETS, median, 0.6)
                shares = np.tile(normal, (len(ts), 1))
                if job == "shop":
                    shares[slow] = _bucket_shares(HTTP_BUCKETS, median * 6, 0.7)
                labels = {
                    **base,
                    "http_request_method": method,
                    "http_route": route,
                    "http_response_status_code": code,
                }
                mean = median * math.exp(0.18)
                yield from _histogram(
                    rng, "http_server_request_duration_seconds", labels, ts, counts, shares,
                    HTTP_BUCKETS, mean,
                )  # fmt: skip


def _statements(rng: np.random.Generator, ts: np.ndarray) -> Iterator[Series]:
    for operation, table, median in STATEMENTS:
        labels = {
            "job": "shop",
            "instance": "shop-1:8000",
            "engine": "primary",
            "db_system_name": "postgresql",
            "db_operation_name": operation,
            "db_collection_name": table,
        }
        counts = rng.poisson(30 * _wave(ts) * SCRAPE_MS / 1000)
        shares = _bucket_shares(HTTP_BUCKETS, median, 0.9)
        name = "db_client_operation_duration_seconds"
        yield from _histogram(rng, name, labels, ts, counts, shares, HTTP_BUCKETS, median * 1.5)
        slow = rng.poisson(0.02 * median * 100, len(ts))
        yield _counter("db_client_slow_queries_total", labels, ts, slow)


def _caches(rng: np.random.Generator, ts: np.ndarray, end_ms: int) -> Iterator[Series]:
    outage = (ts > end_ms - 5 * 3_600_000) & (ts <= end_ms - 5 * 3_600_000 + 600_000)
    for job in JOBS:
        for cache, l1_hit in (("products", 0.8), ("sessions", 0.6)):
            base = {"job": job, "instance": f"{job}-1:8000", "cache": cache}
            lookups = rng.poisson(50 * _wave(ts) * SCRAPE_MS / 1000)
            l1_hits = rng.binomial(lookups, l1_hit)
            l2_lookups = np.where(outage, 0, lookups - l1_hits)
            l2_hits = rng.binomial(l2_lookups, 0.7)
            loads = lookups - l1_hits - l2_hits
            for level, hits, misses in (
                ("l1", l1_hits, lookups - l1_hits),
                ("l2", l2_hits, l2_lookups - l2_hits),
                ("loader", loads, np.zeros_like(loads)),
            ):
                for result, n in (("hit", hits), ("miss", misses)):
                    labels = {**base, "level": level, "result": result}
                    yield _counter("cache_requests_total", labels, ts, n)
            down = np.where(outage, lookups - l1_hits, 0)
            for reason, n in (("connection", down // 5), ("circuit_open", down - down // 5)):
                labels = {**base, "level": "l2", "reason": reason}
                yield _counter("cache_errors_total", labels, ts, n)
            stale = {**base, "level": "l1"}
            yield _counter("cache_stale_served_total", stale, ts, rng.poisson(0.1, len(ts)))
            name, shares = "cache_load_duration_seconds", _bucket_shares(HTTP_BUCKETS, 0.02, 0.8)
            yield from _histogram(rng, name, base, ts, loads, shares, HTTP_BUCKETS, 0.025)


def _pools(rng: np.random.Generator, ts: np.ndarray, end_ms: int) -> Iterator[Series]:
    for job in JOBS:
        for engine, size, overflow in (("primary", 10, 5), ("replica", 5, 5)):
            base = {"job": job, "instance": f"{job}-1:8000", "engine": engine}
            busy = np.clip(np.round(_wave(ts) * size * 0.9 + rng.normal(0, 1.5, len(ts))), 0, None)
            if job == "shop" and engine == "primary":
                busy[ts > end_ms - 2 * 3_600_000] = size + overflow  # saturated in the incident
            busy = np.minimum(busy, size + overflow)
            gauges = {
                "size": np.full(len(ts), float(size)),
                "max_overflow": np.full(len(ts), float(overflow)),
                "checked_out": busy,
                "checked_in": np.maximum(size - busy, 0),
                "overflow": np.maximum(busy - size, 0),
            }
            for gauge, values in gauges.items():
                labels = Labels.of({**base, METRIC_NAME: f"db_client_connection_pool_{gauge}"})
                yield labels, ts, values.astype(np.float64)
            checkouts = rng.poisson(40 * _wave(ts) * SCRAPE_MS / 1000)
            saturation = busy / (size + overflow)
            shares = np.stack(
                [_bucket_shares(HTTP_BUCKETS, 0.001 + 0.5 * s**4, 1.0) for s in (0, 0.5, 0.8, 1)]
            )
            rows = shares[np.digitize(saturation, (0.5, 0.8, 1.0))]
            name = "db_client_connection_wait_seconds"
            yield from _histogram(rng, name, base, ts, checkouts, rows, HTTP_BUCKETS, 0.01)
            timeouts = np.where(saturation >= 1.0, rng.poisson(0.5, len(ts)), 0)
            yield _counter("db_client_connection_timeouts_total", base, ts, timeouts)


def _rum(rng: np.random.Generator, ts: np.ndarray) -> Iterator[Series]:
    for page in RUM_PAGES:
        for device, slower in (("mobile", 1.6), ("desktop", 1.0)):
            base = {"app": "shop", "page": page}
            views = rng.poisson(20 * _wave(ts) * RUM_STEP_MS / 60_000 / len(RUM_PAGES))
            for name, spec in VITALS.items():
                labels = {**base, "device_class": device}
                median = VITAL_MEDIANS[name] * slower
                shares = _bucket_shares(spec.buckets, median, 0.5)
                counts = views if name in ("FCP", "TTFB", "LCP") else rng.binomial(views, 0.6)
                yield from _histogram(
                    rng, spec.metric, labels, ts, counts, shares, spec.buckets, median * 1.1
                )
        api = {**base, "http_request_method": "GET", "http_route": f"/api{page.rstrip('/')}"}
        for status, share in (("2xx", 0.99), ("5xx", 0.01)):
            counts = rng.poisson(10 * share * _wave(ts) * RUM_STEP_MS / 60_000)
            shares = _bucket_shares(API_BUCKETS, 0.15, 0.7)
            labels = {**api, "status_class": status}
            yield from _histogram(rng, API_METRIC, labels, ts, counts, shares, API_BUCKETS, 0.18)
        yield _counter("rum_js_errors_total", base, ts, rng.poisson(0.05, len(ts)))


def _times(start_ms: int, end_ms: int, step_ms: int, rng: np.random.Generator) -> np.ndarray:
    offset = int(rng.integers(1_000, step_ms - 1_000))
    return np.arange(start_ms + offset, end_ms + 1, step_ms, dtype=np.int64)


def page_series(end_ms: int, days: float, seed: int = 11) -> Iterator[Series]:
    """Every series of the Services, Caches, DB pools and RUM pages, one at a time."""
    rng = np.random.default_rng(seed)
    start_ms = end_ms - int(days * 86_400_000)
    ts = _times(start_ms, end_ms, SCRAPE_MS, rng)
    yield from _http(rng, ts, end_ms)
    yield from _statements(rng, ts)
    yield from _caches(rng, ts, end_ms)
    yield from _pools(rng, ts, end_ms)
    yield from _rum(rng, _times(start_ms, end_ms, RUM_STEP_MS, rng))


def _span(trace_id: bytes, span_id: int, parent: int | None, **fields) -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=None if parent is None else parent.to_bytes(8, "big"),
        **fields,
    )


def _trace(rng: np.random.Generator, number: int, start_ms: int) -> list[SpanRecord]:
    """One ``shop`` request: the server span, a cache lookup and a SQL statement below it."""
    method, route, _, median = JOBS["shop"][number % len(JOBS["shop"])]
    trace_id = (10_000 + number).to_bytes(16, "big")
    t0 = start_ms * 1_000_000
    duration = int(rng.lognormal(math.log(median), 0.6) * 1e9)
    failed = rng.random() < 0.02
    operation, table, _ = STATEMENTS[number % len(STATEMENTS)]
    resource = {"service.name": "shop", "host.name": "shop-1"}
    common = {"service": "shop", "resource_attributes": resource}
    return [
        _span(
            trace_id, 1, None, name=f"{method} {route}", kind=SpanKind.SERVER,
            start_time_unix_nano=t0, duration_ns=duration,
            status_code=StatusCode.ERROR if failed else StatusCode.UNSET,
            http_route=route, http_method=method, http_status_code=500 if failed else 200,
            attributes={"http.route": route, "http.request.method": method}, **common,
        ),
        _span(
            trace_id, 2, 1, name="cache get", kind=SpanKind.CLIENT,
            start_time_unix_nano=t0 + duration // 20, duration_ns=duration // 10,
            attributes={"cache.name": "products", "cache.level": "l1"}, **common,
        ),
        _span(
            trace_id, 3, 1, name=f"{operation} {table}", kind=SpanKind.CLIENT,
            start_time_unix_nano=t0 + duration // 5, duration_ns=duration // 2,
            attributes={
                "db.system.name": "postgresql",
                "db.operation.name": operation,
                "db.collection.name": table,
                "db.query.text": f"{operation} * FROM {table} WHERE id = $1",
            },
            **common,
        ),
    ]  # fmt: skip


def trace_records(end_ms: int, hours: float, count: int, seed: int = 5) -> list[list[SpanRecord]]:
    """``count`` traces spread evenly over the last ``hours``, oldest first."""
    rng = np.random.default_rng(seed)
    first = end_ms - int(hours * 3_600_000)
    step = max(1, (end_ms - first) // count)
    return [_trace(rng, i, first + i * step) for i in range(count)]


def store_traces(collector, appender, traces: Sequence[list[SpanRecord]], batch: int = 200) -> int:
    """Store ``traces`` as the OTLP receiver does (spans, spanmetrics, exemplars), in
    batches of ``batch`` traces; returns the number of spans stored."""
    red = RedAccumulator()
    stored = 0
    for i in range(0, len(traces), batch):
        records = [r for trace in traces[i : i + batch] for r in trace]
        new = collector.span_store.write_new(records)
        samples, exemplars = red.observe_batch(new)
        appender.append(samples)
        if exemplars:
            collector.exemplar_store.append(exemplars)
        stored += len(new)
    return stored
