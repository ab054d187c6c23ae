"""SLOs and their data for the SLO page tests, with figures simple enough to compute by hand.

- ``shop-availability`` (events, 99 %, 30d): recorded series written as the rules role would
  write them, every minute for the last 12 hours: error ratios 5m 0.02, 30m 0.07, 1h 0.01
  (0.03 from 40 to 20 minutes ago: the burning window), 2h 0.008, 6h 0.07, 1d and 3d and
  30d 0.005; event rates 0.05 bad and 10 total per second. Raw metrics of job ``shop`` for
  "why is it burning", exemplars and a slow SQL span whose texts carry script payloads.
- ``search-availability`` (events, 98 %, 30d): raw counters only (1 % errors), so the pages
  compute it from its SLI queries; its description and a label carry script payloads.
- ``shop-latency`` (latency ≤ 0.5 s, 99.9 %, calendar month, alerts disabled): computed from
  the raw histogram, where 1 % of requests are slower: SLI 0.99, budget -9 (overspent).
- ``search-uptime`` (probe, 99.5 %): no data at all.
"""

from __future__ import annotations

from pathlib import Path

from web_testdata import NOW_MS, XSS_IMG, XSS_SCRIPT, span

from collector.model import Labels
from collector.store.exemplars import Exemplar
from collector.store.spans import SpanKind
from slo.spec.loader import load_slo_files

MINUTE = 60_000
HOUR = 60 * MINUTE
BURN_START = NOW_MS - 40 * MINUTE
BURN_END = NOW_MS - 20 * MINUTE
SLOW_TRACE = 7777
SHOP_RATIOS = {"5m": 0.02, "30m": 0.07, "1h": 0.01, "2h": 0.008, "6h": 0.07, "1d": 0.005,
               "3d": 0.005, "30d": 0.005}  # fmt: skip

SPEC = f"""
service: shop
labels:
  team: shop
slos:
  - name: availability
    description: Shop API requests that do not fail with a 5xx.
    objective: 99%
    window: 30d
    sli:
      events:
        error_query: >-
          sum(rate(http_server_request_duration_seconds_count{{
            job="shop",http_response_status_code=~"5.."}}[{{{{.window}}}}]))
        total_query: >-
          sum(rate(http_server_request_duration_seconds_count{{job="shop"}}[{{{{.window}}}}]))
    alerting:
      name: ShopAvailability
  - name: latency
    description: API requests served within 500 ms.
    objective: 99.9%
    window: {{calendar: month, time_zone: Europe/Berlin}}
    sli:
      latency:
        metric: http_server_request_duration_seconds
        threshold: 500ms
        selector: job="shop"
    alerting:
      page: false
      ticket: false
---
service: search
labels:
  owner: '{XSS_SCRIPT}'
slos:
  - name: availability
    description: 'Search requests {XSS_IMG}'
    objective: 98%
    window: 30d
    sli:
      events:
        error_query: sum(rate(search_requests_total{{job="search",code="500"}}[{{{{.window}}}}]))
        total_query: sum(rate(search_requests_total{{job="search"}}[{{{{.window}}}}]))
  - name: uptime
    objective: 99.5%
    sli:
      bool_gauge:
        query: probe_success{{job="blackbox"}}
"""


def load_slos(tmp_path: Path):
    path = tmp_path / "slos.yml"
    path.write_text(SPEC, encoding="utf-8")
    slos, errors = load_slo_files([str(path)])
    assert errors == []
    return tuple(slos)


def _sloth(slo_id: str, service: str, name: str, **extra: str) -> dict[str, str]:
    return {
        "sloth_id": slo_id,
        "sloth_service": service,
        "sloth_slo": name,
        "team": "shop",
        **extra,
    }


def _shop_ratio(window: str, t: int) -> float:
    if window == "1h" and BURN_START < t <= BURN_END:
        return 0.03
    return SHOP_RATIOS[window]


def recorded_samples() -> list:
    """The shop-availability recordings, every minute in (now - 12h, now]."""
    out = []
    times = [NOW_MS - k * MINUTE for k in range(719, -1, -1)]
    for window in SHOP_RATIOS:
        extra = _sloth("shop-availability", "shop", "availability", sloth_window=window)
        labels = Labels.of({"__name__": f"slo:sli_error:ratio_rate{window}", **extra})
        out += [(labels, t, _shop_ratio(window, t)) for t in times]
    for name, value in (
        ("slo:sli_error_events:rate5m", 0.05),
        ("slo:sli_total_events:rate5m", 10.0),
    ):
        labels = Labels.of(
            {
                "__name__": name,
                **_sloth("shop-availability", "shop", "availability", sloth_window="5m"),
            }
        )
        out += [(labels, t, value) for t in times]
    return out


def _counter(name: str, labels: dict[str, str], per_second: float, start_ms: int) -> list:
    series = Labels.of({"__name__": name, **labels})
    return [
        (series, t, per_second * (t - start_ms) / 1000) for t in range(start_ms, NOW_MS + 1, 15_000)
    ]


def raw_samples() -> list:
    """Two hours of job "shop" metrics and of the search service's counters."""
    start = NOW_MS - 2 * HOUR
    http = "http_server_request_duration_seconds"
    out = []
    route = {"job": "shop", "http_route": "/api/orders"}
    for le, rate in (("0.1", 8.0), ("0.25", 9.5), ("0.5", 9.9), ("1", 10.0), ("+Inf", 10.0)):
        out += _counter(f"{http}_bucket", {**route, "le": le}, rate, start)
    out += _counter(f"{http}_count", {**route, "http_response_status_code": "200"}, 9.95, start)
    out += _counter(f"{http}_count", {**route, "http_response_status_code": "500"}, 0.05, start)
    for level, hits, misses in (("l1", 9.0, 1.0), ("l2", 0.5, 0.5)):
        for result, rate in (("hit", hits), ("miss", misses)):
            labels = {"job": "shop", "cache": "products", "level": level, "result": result}
            out += _counter("cache_requests_total", labels, rate, start)
    for gauge, value in (("checked_out", 4.0), ("size", 5.0), ("max_overflow", 5.0)):
        series = Labels.of(
            {"__name__": f"db_client_connection_pool_{gauge}", "job": "shop", "engine": "primary"}
        )
        out += [(series, t, value) for t in range(start, NOW_MS + 1, 15_000)]
    db = "db_client_operation_duration_seconds"
    for op, table, buckets in (
        ("SELECT", "orders", (("0.01", 0.0), ("0.5", 0.0), ("1", 2.0), ("+Inf", 2.0))),
        ("UPDATE", "stock", (("0.01", 1.0), ("0.5", 1.0), ("1", 1.0), ("+Inf", 1.0))),
    ):
        stmt = {
            "job": "shop",
            "engine": "primary",
            "db_operation_name": op,
            "db_collection_name": table,
        }
        for le, rate in buckets:
            out += _counter(f"{db}_bucket", {**stmt, "le": le}, rate, start)
        out += _counter(f"{db}_count", stmt, buckets[-1][1], start)
    select = {"job": "shop", "engine": "primary", "db_operation_name": "SELECT"}
    select["db_collection_name"] = "orders"
    out += _counter("db_client_slow_queries_total", select, 2.0, start)
    out += _counter("search_requests_total", {"job": "search", "code": "200"}, 9.9, start)
    out += _counter("search_requests_total", {"job": "search", "code": "500"}, 0.1, start)
    return out


def alerts_samples() -> list:
    """``ALERTS`` as the rules role writes it: the shop-availability page alert firing."""
    extra = _sloth("shop-availability", "shop", "availability", sloth_severity="page")
    names = {"__name__": "ALERTS", "alertname": "ShopAvailability", "alertstate": "firing"}
    labels = Labels.of({**names, **extra, "severity": "page"})
    return [(labels, NOW_MS - k * MINUTE, 1.0) for k in range(9, -1, -1)]


def exemplars(trace_ids: list[str]) -> list[Exemplar]:
    """Exemplars of two seeded traces inside the burning window: one on the 5xx series of a
    route whose name is a script payload (bad), one on a fast 200."""
    http = "http_server_request_duration_seconds_bucket"
    bad = Labels.of({"__name__": http, "job": "shop", "http_route": XSS_SCRIPT,
                     "http_response_status_code": "500", "le": "1"})  # fmt: skip
    good = Labels.of({"__name__": http, "job": "shop", "http_route": "/api/orders",
                      "http_response_status_code": "200", "le": "0.1"})  # fmt: skip
    return [
        Exemplar(
            bad,
            Labels.of({"trace_id": trace_ids[0], "span_id": "01" * 8}),
            BURN_START + 5 * MINUTE,
            0.8,
        ),
        Exemplar(
            good,
            Labels.of({"trace_id": trace_ids[1], "span_id": "02" * 8}),
            BURN_START + 9 * MINUTE,
            0.05,
        ),
    ]


def slow_sql_spans() -> list:
    """A trace with a 1.2 s ``SELECT orders`` whose statement text carries a payload."""
    t0 = (NOW_MS - 30 * MINUTE) * 1_000_000
    root = span(SLOW_TRACE, 1, None, start_time_unix_nano=t0, duration_ns=1_300_000_000)
    query = span(
        SLOW_TRACE, 2, 1, name="SELECT orders", kind=SpanKind.CLIENT,
        start_time_unix_nano=t0 + 10_000_000, duration_ns=1_200_000_000,
        attributes={"db.query.text": f"SELECT * FROM orders WHERE note = '{XSS_IMG}'",
                    "db.operation.name": "SELECT", "db.collection.name": "orders"},
    )  # fmt: skip
    return [root, query]


def seed_slo_data(seeded, *, alerts: bool = True) -> None:
    """Load everything above into the seeded store, span store and exemplar store."""
    store, collector = seeded.store, seeded.collector
    store.append(recorded_samples())
    store.append(raw_samples())
    if alerts:
        store.append(alerts_samples())
    collector.span_store.write(slow_sql_spans())
    collector.exemplar_store.append(exemplars(seeded.trace_ids[10:12]))


def build_app(seeded, users, slos, *, rule_manager=None):
    """The full server app with the dashboard over ``seeded``, these SLOs and exemplars."""
    from sloscope.server.run import create_http_app
    from web import Sources, register_web
    from web.settings import WebSettings

    app = create_http_app(seeded.store, seeded.collector)
    app.config["TESTING"] = True
    sources = Sources(
        seeded.store,
        span_store=seeded.collector.span_store,
        rule_manager=rule_manager,
        slos=tuple(slos),
        exemplars=seeded.collector.exemplar_store,
    )
    settings = WebSettings(auth_enabled=True, users=users, secret_key="test-secret-" * 3)
    register_web(app, sources, settings, clock=lambda: NOW_MS)
    return app
