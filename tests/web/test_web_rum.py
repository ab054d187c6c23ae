"""The RUM page and its twin over real beacons (:mod:`web_rum_data`): p75 and CrUX shares per
page and device class, the slowest API calls, JS errors, escaping, and empty states."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from web_alerting_data import alerting_app
from web_rum_data import CART, PRODUCT, TYPE_ERROR, seed_rum
from web_testdata import XSS_IMG, XSS_SCRIPT, log_in

from web.blueprints.rum import format_vital


@pytest.fixture
def client(seeded, users):
    seed_rum(seeded.store)
    client = alerting_app(seeded, users, None).test_client()
    log_in(client, "vera")
    return client


def devices_of(twin, page: str) -> dict[str, dict]:
    found = next(p for p in twin["pages"] if p["page"] == page)
    return {d["device_class"]: d["vitals"] for d in found["devices"]}


def test_vitals_per_page_and_device_with_crux_shares(client):
    twin = client.get("/api/ui/rum").get_json()
    assert [p["page"] for p in twin["pages"]] == [PRODUCT, CART]  # most measured first
    product = devices_of(twin, PRODUCT)
    assert list(product) == ["all", "mobile", "desktop"]
    mobile = product["mobile"]["LCP"]
    assert (mobile["count"], mobile["p75"], mobile["rating"]) == (4, 3.0, "needs-improvement")
    assert (mobile["good"], mobile["needs_improvement"], mobile["poor"]) == (0.5, 0.25, 0.25)
    assert mobile["percents"] == [50.0, 25.0, 25.0] and mobile["p75_text"] == "3.0 s"
    desktop = product["desktop"]["LCP"]
    assert (desktop["count"], desktop["p75"], desktop["good"]) == (2, 1.25, 1.0)
    every = product["all"]["LCP"]
    assert every["count"] == 6 and every["p75"] == pytest.approx(2.75)
    assert every["percents"] == [66.7, 16.7, 16.7]
    cls = product["mobile"]["CLS"]
    assert (cls["p75"], cls["rating"], cls["good"], cls["poor"]) == (0.375, "poor", 0.5, 0.5)
    assert "CLS" not in product["desktop"] and "INP" not in product["all"]
    assert set(product["all"]) == {"LCP", "CLS"}
    assert devices_of(twin, CART)["desktop"]["LCP"]["p75"] == pytest.approx(0.875)


def test_slowest_api_calls_and_js_errors(client):
    twin = client.get("/api/ui/rum").get_json()
    cart, orders = twin["api_calls"]
    assert (cart["method"], cart["route"], cart["calls"], cart["failed"]) == (
        "GET",
        "/api/cart/<id>",
        4,
        0.5,
    )
    assert cart["p75"] == pytest.approx(0.5) and cart["p95"] == pytest.approx(2.2)
    assert (orders["route"], orders["calls"], orders["failed"]) == ("/api/orders", 2, 0)
    assert orders["p95"] == pytest.approx(0.0725)
    assert twin["error_total"] == 3
    assert [(c["page"], c["errors"]) for c in twin["error_counts"]] == [(PRODUCT, 2), (CART, 1)]
    first, second = twin["error_messages"]
    assert (first["message"], first["count"], first["pages"]) == (TYPE_ERROR, 2, [PRODUCT])
    assert (first["source"], first["line"], first["col"]) == ("https://shop.example/app.js", 10, 4)
    assert (second["message"], second["pages"]) == (XSS_SCRIPT, [CART])
    go.Figure(twin["error_figure"])
    go.Figure(twin["figure"])
    names = [t["name"] for t in twin["figure"]["data"]]
    assert names == ["desktop", "mobile", "good ≤ 2.5 s", "poor &gt; 4 s"]


def test_vital_and_app_choices_and_time_range(client):
    inp = client.get("/api/ui/rum?vital=cls").get_json()
    assert inp["vital"] == "CLS" and [t["name"] for t in inp["figure"]["data"]][0] == "mobile"
    assert client.get("/api/ui/rum?vital=FID").status_code == 400
    other = client.get("/api/ui/rum?app=blog").get_json()
    assert other["pages"] == [] and other["api_calls"] == [] and other["error_messages"] == []
    assert other["apps"] == ["shop"]
    # 15 minutes: the beacons (50 to 38 minutes ago) are outside the range
    recent = client.get("/api/ui/rum?range=15m").get_json()
    assert recent["pages"] == [] and recent["error_total"] == 0 and recent["figure"] is None
    page = client.get("/rum?range=15m").get_data(as_text=True)
    assert "No RUM data in the last 15m" in page


def test_rum_page_escapes_routes_and_messages(client):
    page = client.get("/rum").get_data(as_text=True)
    for payload in (XSS_SCRIPT, XSS_IMG):
        assert payload not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    assert 'class="crux-good" style="width: 50.0%"' in page
    assert "3.0 s" in page and "2.2 s" in page


def test_rum_page_without_rum_data(seeded, users):
    client = alerting_app(seeded, users, None).test_client()
    log_in(client, "vera")
    twin = client.get("/api/ui/rum").get_json()
    assert twin["pages"] == [] and twin["apps"] == [] and twin["error_messages"] is None
    page = client.get("/rum").get_data(as_text=True)
    assert "No RUM data in the last 1h" in page and "rum.apps" in page


def test_format_vital():
    assert format_vital(0.1234, "s") == "123 ms"
    assert format_vital(4.0, "s") == "4.0 s"
    assert format_vital(0.25, "") == "0.25"
    assert format_vital(None, "s") == "–"
