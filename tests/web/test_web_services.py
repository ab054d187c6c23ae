"""Services pages on real SDK output (a scraped Flask shop) and on spanmetrics: the JSON
twins' figures against what the scenario in ``web_sdk_shop`` makes them by hand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from web_sdk_shop import counter, dashboard, delete_keys, hostile_samples, run_shop
from web_testdata import NOW_MS, XSS_LINK, XSS_SCRIPT, log_in

from collector.convert.spans_to_red import RedAccumulator
from collector.store.spans import SpanKind, SpanRecord
from collector.store.sql import SqlStore

LAST_15M = "?range=15m"
WINDOW_S = 900  # 60 scrape intervals of 15 s, all inside the range


@pytest.fixture(scope="module")
def shop(tmp_path_factory, redis_url) -> Iterator[SqlStore]:
    path = tmp_path_factory.mktemp("shop-services")
    prefix = f"sloscope-test:web-services:{uuid.uuid4().hex}:"
    with SqlStore(f"sqlite:///{path}/shop.db") as store:
        try:
            run_shop(store, str(path), redis_url, prefix, NOW_MS)
        finally:
            delete_keys(redis_url, prefix)
        yield store


def viewer(store: SqlStore):
    client = dashboard(store, NOW_MS).test_client()
    log_in(client, "vera")
    return client


def by_name(rows: list[dict], key: str = "name") -> dict[str, dict]:
    return {row[key]: row for row in rows}


def test_services_list_reads_http_metrics_and_spanmetrics(shop):
    answer = viewer(shop).get("/api/ui/services" + LAST_15M)
    assert answer.status_code == 200
    services = by_name(answer.json["services"])
    assert list(services) == ["payments", "shop"]  # busiest first: 600 vs 480 requests
    web = services["shop"]
    # 8 requests per interval (6 orders, 2 payments of which one fails) for 60 intervals
    assert (web["source"], web["also_in"], web["routes"]) == ("metrics", [], 2)
    assert web["stats"]["requests"] == pytest.approx(480)
    assert web["stats"]["rate_per_s"] == pytest.approx(480 / WINDOW_S)
    assert web["stats"]["errors"] == pytest.approx(60)
    assert web["stats"]["error_ratio"] == pytest.approx(0.125)
    p50, p95, p99 = (web["stats"][k] for k in ("p50_s", "p95_s", "p99_s"))
    assert 0 < p50 <= p95 <= p99 <= 10  # real request durations: ordered, within the buckets
    spans = services["payments"]
    assert (spans["source"], spans["routes"]) == ("spanmetrics", 1)
    assert spans["stats"]["requests"] == pytest.approx(600)
    assert spans["stats"]["error_ratio"] == pytest.approx(0.1)
    # 8 of 10 spans in the (4 ms, 6 ms] bucket, one in (50, 100], one in (200, 400]:
    # p50 = 4 + 2 * 0.5/0.8 ms; p95 = 200 + 200 * (0.95 - 0.9)/0.1 ms; p99 likewise
    assert spans["stats"]["p50_s"] == pytest.approx(0.00525)
    assert spans["stats"]["p95_s"] == pytest.approx(0.3)
    assert spans["stats"]["p99_s"] == pytest.approx(0.38)
    assert [t["name"] for t in answer.json["figure"]["data"]] == ["payments", "shop"]


def test_service_page_has_red_per_route_and_its_charts(shop):
    answer = viewer(shop).get("/api/ui/services/shop" + LAST_15M)
    assert answer.status_code == 200
    view = answer.json["service"]
    assert view["source"] == "metrics" and view["sources_available"] == ["metrics"]
    routes = by_name(view["routes"], "route")
    assert list(routes) == ["GET /orders/<int:order_id>", "POST /pay"]
    orders, pay = routes["GET /orders/<int:order_id>"]["stats"], routes["POST /pay"]["stats"]
    assert (orders["requests"], orders["errors"]) == (pytest.approx(360), pytest.approx(0))
    assert orders["rate_per_s"] == pytest.approx(0.4)
    assert (pay["requests"], pay["errors"]) == (pytest.approx(120), pytest.approx(60))
    assert pay["error_ratio"] == pytest.approx(0.5)
    last = {s["name"]: s["values"][-1] for s in view["rate_series"]}
    assert last == {
        "GET /orders/<int:order_id>": pytest.approx(0.4),
        "POST /pay": pytest.approx(2 / 15),
    }
    errors = {s["name"]: s["values"][-1] for s in view["error_series"]}
    assert errors == {"POST /pay": pytest.approx(1 / 15)}
    assert [s["name"] for s in view["latency_series"]] == ["p50", "p95", "p99"]
    figures = answer.json["figures"]
    assert [t["name"] for t in figures["latency"]["data"]] == ["p50", "p95", "p99"]
    assert figures["errors"]["data"][0]["name"] == "POST /pay"


def test_spans_only_service_quantiles_over_time(shop):
    view = viewer(shop).get("/api/ui/services/payments" + LAST_15M).json["service"]
    assert view["source"] == "spanmetrics" and "span" in view["description"]
    assert [r["route"] for r in view["routes"]] == ["POST /charge"]
    latest = {s["name"]: s["values"][-1] for s in view["latency_series"]}
    assert latest == {
        "p50": pytest.approx(0.00525),
        "p95": pytest.approx(0.3),
        "p99": pytest.approx(0.38),
    }


def test_service_page_html_names_the_source_and_routes(shop):
    html = viewer(shop).get("/services/shop" + LAST_15M).get_data(as_text=True)
    assert "http_server_request_duration_seconds" in html
    assert "GET /orders/&lt;int:order_id&gt;" in html
    assert 'data-figure="service-latency"' in html and "50%" in html  # POST /pay error ratio


def both_sources(now_ms: int) -> list:
    """Service ``api`` in both sources, and a spans-only service named by a payload."""
    http = {"job": "api", "http_request_method": "GET", "http_route": "/items"}
    out = counter("http_server_request_duration_seconds_count", http, 3, now_ms)
    for le, per_step in (("0.1", 2), ("+Inf", 3)):
        out += counter(
            "http_server_request_duration_seconds_bucket", {**http, "le": le}, per_step, now_ms
        )
    red = RedAccumulator()
    for k, service in enumerate(["api", XSS_LINK] * 5):
        span = SpanRecord(
            trace_id=(k + 1).to_bytes(16, "big"),
            span_id=(1).to_bytes(8, "big"),
            parent_span_id=None,
            service=service,
            name=XSS_SCRIPT if service == XSS_LINK else "GET /items",
            kind=SpanKind.SERVER,
            start_time_unix_nano=(now_ms - 60_000 * (10 - k)) * 1_000_000,
            duration_ns=1_000_000,
        )
        out += red.observe_batch([span])[0]
    return out


def test_a_service_in_both_sources_prefers_metrics_and_can_switch():
    with SqlStore("sqlite:///:memory:") as store:
        store.append(both_sources(NOW_MS))
        client = viewer(store)
        listed = by_name(client.get("/api/ui/services" + LAST_15M).json["services"])
        assert (listed["api"]["source"], listed["api"]["also_in"]) == ("metrics", ["spanmetrics"])
        assert listed[XSS_LINK]["source"] == "spanmetrics"
        view = client.get("/api/ui/services/api" + LAST_15M).json["service"]
        assert (view["source"], view["sources_available"]) == (
            "metrics",
            ["metrics", "spanmetrics"],
        )
        # 3 requests per 15 s, 2 of them under 100 ms: p50 interpolated in (0, 0.1]
        assert view["stats"]["rate_per_s"] == pytest.approx(0.2)
        assert view["stats"]["p50_s"] == pytest.approx(0.1 * 0.5 / (2 / 3))
        switched = client.get("/api/ui/services/api?range=15m&source=spanmetrics")
        assert switched.json["service"]["source"] == "spanmetrics"
        assert switched.json["service"]["routes"][0]["route"] == "GET /items"
        bad = client.get("/api/ui/services/api?source=logs")
        assert bad.status_code == 400 and "'source'" in bad.json["error"]
        assert client.get("/api/ui/services/nobody" + LAST_15M).status_code == 404


def test_script_bearing_names_are_escaped_in_the_page_and_charts():
    with SqlStore("sqlite:///:memory:") as store:
        store.append(hostile_samples(NOW_MS))
        client = viewer(store)
        listing = client.get("/services" + LAST_15M).get_data(as_text=True)
        assert XSS_LINK not in listing and "&lt;a href=" in listing
        from urllib.parse import quote

        page = client.get("/services/" + quote(XSS_LINK, safe="") + LAST_15M)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert XSS_SCRIPT not in html and XSS_LINK not in html
        twin = client.get("/api/ui/services/" + quote(XSS_LINK, safe="") + LAST_15M).json
        names = [t["name"] for t in twin["figures"]["rate"]["data"]]
        assert names == ["&lt;script&gt;window.__xss=1&lt;/script&gt;"]


def test_no_request_metrics_says_what_is_missing():
    with SqlStore("sqlite:///:memory:") as store:
        client = viewer(store)
        twin = client.get("/api/ui/services").json
        assert (
            twin["services"] == []
            and "http_server_request_duration_seconds" in twin["empty_reason"]
        )
        html = client.get("/services").get_data(as_text=True)
        assert "traces_span_metrics_" in html and 'class="chart"' not in html


def test_twins_need_a_session(shop):
    answer = dashboard(shop, NOW_MS).test_client().get("/api/ui/services/shop")
    assert answer.status_code == 401 and answer.json["errorType"] == "unauthorized"


def test_home_page_summarises_services_caches_and_pools(shop):
    areas = viewer(shop).get("/api/ui/home" + LAST_15M).json["areas"]
    summary = {a["key"]: a["summary"] for a in areas}
    assert summary["services"] == [
        "2 services; busiest: payments at 0.667 req/s",
        "most errors: shop, 12.5%",
    ]
    assert summary["caches"] == [
        "2 caches; lowest hit ratio: users, 80%",
        "1 L2 (Redis) outage(s) in the last 15m",
    ]
    assert summary["dbpools"] == [
        "2 pools; peak saturation 100% (primary)",
        "3 checkout timeout(s) in the last 15m",
    ]
