"""The RUM receiver end to end: Flask test client, a real SqlStore on SQLite, PromQL reads.

Clocks are injected (monotonic for the rate limiter, wall for sample times); nothing sleeps.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from flask import Flask

from collector.convert.rum_privacy import derive_device_class, scrub_path
from collector.convert.web_vitals import VITALS, parse_beacon
from collector.promql.engine import Engine
from collector.receivers.rum import (
    RumAccumulator,
    RumApp,
    RumEventStore,
    RumStats,
    TokenBuckets,
    create_rum_blueprint,
    rum_stats,
)
from collector.store.sql import SqlStore

ORIGIN = "https://shop.example"
T_WALL = 1_700_000_000.0
T_MS = int(T_WALL * 1000)
TEXT = "text/plain;charset=UTF-8"  # what navigator.sendBeacon sends for a string body


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_beacon(**page_overrides) -> dict:
    page = {
        "url": "https://shop.example/product/42?email=a%40b.c#reviews",
        "referrer": "https://www.google.com/search?q=secret",
        "navigation_type": "navigate",
        "timestamp_ms": T_MS - 5,
        **page_overrides,
    }
    return {
        "app_key": "pk_shop",
        "page": page,
        "vitals": [
            {
                "name": "LCP",
                "value": 2130.5,
                "rating": "good",
                "delta": 2130.5,
                "id": "v4-1-1",
                "navigationType": "navigate",
                "attribution": {
                    "element": "#hero",
                    "url": "https://cdn.example/a.jpg?sig=x",
                    "lcpEntry": {"huge": "object"},
                },
            },
            {"name": "CLS", "value": 0.05, "rating": "good", "delta": 0.05, "id": "v4-1-2"},
        ],
        "api_calls": [
            {
                "method": "get",
                "url": "https://shop.example/api/cart/9?token=t",
                "status": 200,
                "duration_ms": 84.0,
            },
        ],
        "errors": [
            {
                "message": "TypeError: x is undefined",
                "source": "https://shop.example/app.js?v=3",
                "line": 10,
                "col": 4,
                "stack": "at f (https://shop.example/app.js?v=3:10:4)",
            },
        ],
    }


@pytest.fixture
def rig(tmp_path):
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.open()
    events = RumEventStore(store.engine)
    events.create()
    clock, wall, stats = Clock(1000.0), Clock(T_WALL), RumStats()
    apps = {
        "shop": RumApp("shop", "pk_shop", [ORIGIN], rate_per_s=100.0, burst=100.0),
        "tiny": RumApp("tiny", "pk_tiny", ["*"], rate_per_s=0.5, burst=2.0),
    }
    app = Flask(__name__)
    bp = create_rum_blueprint(
        store, events, apps, clock=clock, wall_clock=wall, stats=stats, max_body_bytes=4096
    )
    app.register_blueprint(bp)
    yield SimpleNamespace(
        client=app.test_client(), store=store, events=events, clock=clock, wall=wall, stats=stats
    )
    store.close()


def post(rig, body, *, path="/rum/v1/beacons", content_type=TEXT, origin=ORIGIN, **kw):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Origin": origin} if origin else {}
    headers.update(kw.pop("headers", {}))
    return rig.client.post(path, data=data, content_type=content_type, headers=headers, **kw)


def query(rig, expr: str) -> list:
    return Engine(rig.store).instant_query(expr, T_MS + 60_000).value


# -- transport --------------------------------------------------------------------------------


def test_text_plain_and_json_accepted_on_both_paths(rig):
    resp = post(rig, make_beacon())
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    resp = post(rig, make_beacon(), path="/rum/v1/beacon", content_type="application/json")
    assert resp.status_code == 204
    assert rum_stats(rig.stats)["accepted"] == 2


def test_preflight_allowed_origin(rig):
    resp = rig.client.options(
        "/rum/v1/beacons",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert resp.headers["Access-Control-Max-Age"] == "86400"


def test_preflight_and_post_from_disallowed_origin_refused(rig):
    evil = "https://evil.example"
    resp = rig.client.options("/rum/v1/beacons?key=pk_shop", headers={"Origin": evil})
    assert resp.status_code == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = post(rig, make_beacon(), origin=evil)
    assert resp.status_code == 403
    assert resp.json["reason"] == "origin_not_allowed"
    refused = rum_stats(rig.stats)["refused"]
    assert refused == {"preflight_refused": 1, "origin_not_allowed": 1}


def test_keys(rig):
    body = make_beacon()
    body["app_key"] = "pk_nope"
    assert post(rig, body).status_code == 403
    del body["app_key"]
    assert post(rig, body).status_code == 401
    assert post(rig, body, path="/rum/v1/beacons?key=pk_shop").status_code == 204
    assert rum_stats(rig.stats)["refused"] == {"unknown_key": 1, "missing_key": 1}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b["vitals"].append({"name": "INP", "value": 1}), None),
        (lambda b: b["vitals"].extend([{"name": "INP", "value": "slow"}]), "vitals[2].value"),
        (lambda b: b["vitals"][0].update(name="FID"), "vitals[0].name"),
        (lambda b: b["vitals"][1].update(rating="meh"), "vitals[1].rating"),
        (lambda b: b["vitals"][0].update(attribution=[1]), "vitals[0].attribution"),
        (lambda b: b["page"].pop("url"), "page.url"),
        (lambda b: b["page"].update(device_class="watch"), "page.device_class"),
        (lambda b: b.update(page="home"), "page"),
        (lambda b: b["api_calls"][0].update(status=700), "api_calls[0].status"),
        (lambda b: b["api_calls"][0].update(duration_ms=True), "api_calls[0].duration_ms"),
        (lambda b: b["errors"][0].pop("message"), "errors[0].message"),
        (lambda b: b.update(errors={}), "errors"),
        (lambda b: b.update(vitals=[{"name": "LCP", "value": 1}] * 21), "vitals"),
    ],
)
def test_schema_errors_name_the_field(rig, mutate, path):
    body = make_beacon()
    mutate(body)
    resp = post(rig, body)
    if path is None:
        assert resp.status_code == 204
        return
    assert resp.status_code == 400
    assert resp.json["path"] == path
    assert resp.json["reason"] == "invalid"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why


def test_bad_json_too_large_and_media_type(rig):
    resp = post(rig, "{not json", path="/rum/v1/beacons?key=pk_shop")
    assert (resp.status_code, resp.json["path"]) == (400, "$")
    big = make_beacon(route="/x")
    big["errors"][0]["stack"] = "x" * 5000
    assert post(rig, big).status_code == 413
    resp = post(rig, make_beacon(), content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415
    refused = rum_stats(rig.stats)["refused"]
    assert refused == {"bad_json": 1, "too_large": 1, "unsupported_media_type": 1}


def test_rate_limit_per_app_and_ip_with_injected_clock(rig):
    body = make_beacon()
    body["app_key"] = "pk_tiny"
    assert [post(rig, body).status_code for _ in range(2)] == [204, 204]
    resp = post(rig, body)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "2"  # one token at 0.5/s
    other_ip = post(rig, body, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 204
    rig.clock.now += 1.0
    assert post(rig, body).status_code == 429
    rig.clock.now += 1.0
    assert post(rig, body).status_code == 204
    assert rum_stats(rig.stats)["refused"] == {"rate_limited": 2}


def test_token_buckets_are_lru_bounded():
    clock = Clock(0.0)
    buckets = TokenBuckets(clock, max_buckets=2)
    assert buckets.take(("a", "1"), 1.0, 1.0) == 0.0
    assert buckets.take(("a", "1"), 1.0, 1.0) == 1.0
    buckets.take(("a", "2"), 1.0, 1.0)
    buckets.take(("a", "3"), 1.0, 1.0)  # evicts ("a", "1")
    assert buckets.take(("a", "1"), 1.0, 1.0) == 0.0


def test_store_failure_is_503_with_retry_after(tmp_path):
    class Broken:
        def append(self, samples):
            raise RuntimeError("disk full")

    store = SqlStore(f"sqlite:///{tmp_path / 's.db'}")
    store.open()
    try:
        events = RumEventStore(store.engine)
        events.create()
        app = Flask(__name__)
        apps = {"shop": RumApp("shop", "pk_shop", [ORIGIN], 10.0, 10.0)}
        app.register_blueprint(create_rum_blueprint(Broken(), events, apps, stats=RumStats()))
        resp = app.test_client().post("/rum/v1/beacons", data=json.dumps(make_beacon()))
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "1"
    finally:
        store.close()


# -- privacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example/product/42?email=a@b.c#top", "/product/:id"),
        ("/order/8f14e45f-ceea-467f-a0e2-c1a9e5ed1e22/item/7", "/order/:id/item/:id"),
        ("https://x.example/blob/0123456789abcdef0123/raw", "/blob/:id/raw"),
        ("https://x.example/v2/cart", "/v2/cart"),
        ("https://x.example", "/"),
    ],
)
def test_scrub_path(url, expected):
    assert scrub_path(url) == expected


def test_beacon_is_scrubbed():
    beacon = parse_beacon(make_beacon())
    assert beacon.page.page == "/product/:id"
    assert beacon.page.referrer == "https://www.google.com/search"
    assert beacon.api_calls[0].route == "/api/cart/:id"
    assert beacon.api_calls[0].method == "GET"
    assert beacon.vitals[0].attribution == {"element": "#hero", "url": "https://cdn.example/a.jpg"}
    assert beacon.errors[0].source == "https://shop.example/app.js"
    assert "?" not in beacon.errors[0].stack
    templated = parse_beacon(make_beacon(route="/product/<id>"))
    assert templated.page.page == "/product/<id>"


def test_device_class_from_ua_hints():
    assert derive_device_class("tablet", "iPhone", None) == "tablet"
    assert derive_device_class(None, "Mozilla/5.0 (iPhone; ...) Mobile/15E148", None) == "mobile"
    assert derive_device_class(None, "Mozilla/5.0 (Linux; Android 13; SM-X700)", None) == "tablet"
    assert derive_device_class(None, "Mozilla/5.0 (X11; Linux x86_64)", "?1") == "mobile"
    assert derive_device_class(None, "Mozilla/5.0 (X11; Linux x86_64)", "?0") == "desktop"


def test_vital_buckets_include_web_vitals_thresholds():
    for spec in VITALS.values():
        assert spec.good in spec.buckets and spec.poor in spec.buckets


# -- storage ----------------------------------------------------------------------------------


def lcp_beacon(ms: float) -> dict:
    body = make_beacon(route="/product/<id>", device_class="mobile")
    body["vitals"] = [{"name": "LCP", "value": ms, "rating": "good", "delta": ms, "id": "v"}]
    body["api_calls"] = body["errors"] = []
    return body


def test_good_ratio_and_p75_through_promql(rig):
    for ms in (1000, 2000, 2400, 3000, 5000):
        assert post(rig, lcp_beacon(ms)).status_code == 204
    sel = '{app="shop", page="/product/<id>", device_class="mobile"}'
    good = query(
        rig,
        f'sum(rum_web_vitals_lcp_seconds_bucket{{le="2.5", {sel[1:]})'
        f" / sum(rum_web_vitals_lcp_seconds_count{sel})",
    )
    assert [s.value for s in good] == [pytest.approx(0.6)]
    p75 = query(
        rig, f"histogram_quantile(0.75, sum by (le) (rum_web_vitals_lcp_seconds_bucket{sel}))"
    )
    assert [s.value for s in p75] == [pytest.approx(2.875)]  # 2.5 + 0.5 * (3.75 - 3) / 1
    total = query(rig, f"rum_web_vitals_lcp_seconds_sum{sel}")
    assert [s.value for s in total] == [pytest.approx(13.4)]
    rate_ratio = query(
        rig,
        'sum(increase(rum_web_vitals_lcp_seconds_bucket{app="shop", le="2.5"}[10m]))'
        ' / sum(increase(rum_web_vitals_lcp_seconds_count{app="shop"}[10m]))',
    )
    assert [s.value for s in rate_ratio] == [pytest.approx(0.6)]  # new series start at zero


def test_other_histograms_and_error_counter(rig):
    ua = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"}
    assert post(rig, make_beacon(), headers=ua).status_code == 204
    cls = query(rig, 'rum_web_vitals_cls_bucket{le="0.1"} / ignoring(le) rum_web_vitals_cls_count')
    assert [(s.labels.get("device_class"), s.value) for s in cls] == [("mobile", 1.0)]
    api = query(rig, "rum_api_request_duration_seconds_count")
    assert [s.labels.as_dict() for s in api] == [
        {
            "__name__": "rum_api_request_duration_seconds_count",
            "app": "shop",
            "page": "/product/:id",
            "http_request_method": "GET",
            "http_route": "/api/cart/:id",
            "status_class": "2xx",
        }
    ]
    assert [s.value for s in query(rig, "rum_js_errors_total")] == [1.0]


def test_events_stored(rig):
    assert post(rig, make_beacon()).status_code == 204
    rows = rig.events.query("shop")
    assert sorted(r["kind"] for r in rows) == [
        "api_call",
        "js_error",
        "page_view",
        "web_vital",
        "web_vital",
    ]
    assert {r["page"] for r in rows} == {"/product/:id"}
    assert {r["ts_ms"] for r in rows} == {T_MS}
    view = rig.events.query("shop", kind="page_view")[0]["payload"]
    assert view["url"] == "/product/:id" and view["device_class"] == "desktop"
    assert view["timestamp_ms"] == T_MS - 5
    assert "email" not in json.dumps([r["payload"] for r in rows])


def test_accumulator_series_cap_counts_overflow():
    acc = RumAccumulator(max_series=1)
    first = acc.record(parse_beacon(lcp_beacon(1000)), "shop", "mobile", T_MS)
    n = len(VITALS["LCP"].buckets) + 3  # buckets, +Inf, _sum, _count
    assert len(first) == 2 * n  # zeros at T_MS - 1, then the values
    assert {t for _, t, _ in first[:n]} == {T_MS - 1} and {v for _, _, v in first[:n]} == {0.0}
    other = lcp_beacon(1000)
    other["page"]["route"] = "/other"
    assert acc.record(parse_beacon(other), "shop", "mobile", T_MS) == []
    assert (acc.series, acc.overflow) == (1, 1)
    again = acc.record(parse_beacon(lcp_beacon(1000)), "shop", "mobile", T_MS)
    assert len(again) == n and again[0][1] == T_MS + 2  # strictly increasing sample times
