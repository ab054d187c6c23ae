"""Caches page on real SDK output: two ``MultiLevelCache``s on a real Redis, one of which
loses Redis for four scrape intervals (see ``web_sdk_shop``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from web_sdk_shop import (
    REDIS_OUTAGE,
    dashboard,
    delete_keys,
    hostile_samples,
    run_shop,
    scrape_time,
)
from web_testdata import NOW_MS, XSS_SCRIPT, log_in

from collector.store.sql import SqlStore

LAST_15M = "?range=15m"
# Prometheus' increase() over the 15 minutes sees the samples of scrapes 21..80: growth over
# 59 intervals, extrapolated by one more interval to the range's start.
WHOLE = 60 / 59
# A series first scraped at 50 (its first value not counted): growth over 30 intervals,
# extrapolated by half an interval towards the start and not at all past the end.
BORN_AT_50 = (450 + 7.5) / 450


@pytest.fixture(scope="module")
def shop(tmp_path_factory, redis_url) -> Iterator[SqlStore]:
    path = tmp_path_factory.mktemp("shop-caches")
    prefix = f"sloscope-test:web-caches:{uuid.uuid4().hex}:"
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


def levels(cache: dict) -> dict[str, dict]:
    return {level["level"]: level for level in cache["levels"]}


def test_hit_ratio_per_cache_and_level(shop):
    twin = viewer(shop).get("/api/ui/caches" + LAST_15M).json
    caches = {c["cache"]: c for c in twin["caches"]}
    assert list(caches) == ["products", "users"]
    users = caches["users"]
    # every interval: L1 2 hits + 3 misses; the 3 misses go to L2: 2 hits + 1 miss
    l1, l2 = levels(users)["l1"], levels(users)["l2"]
    assert (l1["lookups"], l1["hits"], l1["hit_ratio"]) == (
        pytest.approx(300),
        pytest.approx(120),
        pytest.approx(0.4),
    )
    assert (l2["lookups"], l2["hit_ratio"]) == (pytest.approx(180), pytest.approx(2 / 3))
    assert (users["missed_all_levels"], users["hit_ratio"]) == (
        pytest.approx(60),
        pytest.approx(0.8),
    )
    assert users["has_l2"] and users["errors"] == {} and users["outages"] == 0


def test_redis_outage_shows_in_levels_errors_and_outages(shop):
    twin = viewer(shop).get("/api/ui/caches" + LAST_15M).json
    products = {c["cache"]: c for c in twin["caches"]}["products"]
    l1, l2 = levels(products)["l1"], levels(products)["l2"]
    # normal interval: 3 L1 misses, 3 L2 hits; outage interval: 1 L1 hit, 2 misses that
    # fail in L2. The L1-hit and L2-miss series are born with the outage (scrape 50).
    assert l1["hits"] == pytest.approx(3 * BORN_AT_50)
    assert l1["misses"] == pytest.approx((55 * 3 + 4 * 2) * WHOLE)
    assert l2["hits"] == pytest.approx(55 * 3 * WHOLE)
    assert l2["misses"] == pytest.approx(6 * BORN_AT_50)
    # errors are counted from the raw samples: the first ones count too
    assert products["errors"] == {"l2/connection": 4.0, "l2/circuit_open": 4.0}
    assert products["outages"] == 1
    [outage] = twin["outages"]
    first, last = REDIS_OUTAGE[0], REDIS_OUTAGE[-1]
    assert outage == {
        "job": "shop",
        "instance": "shop:8000",
        "cache": "products",
        "start_ms": scrape_time(NOW_MS, first - 1),
        "end_ms": scrape_time(NOW_MS, last),
        "duration_ms": 60_000,
        "failed_calls": 8.0,
        "reasons": ["circuit_open", "connection"],
    }


def test_charts_show_ratios_misses_outage_band_and_failed_calls(shop):
    figures = viewer(shop).get("/api/ui/caches" + LAST_15M).json["figures"]
    ratio = {t["name"]: t for t in figures["hit_ratio"]["data"]}
    assert set(ratio) == {
        "products l1 (shop)",
        "products l2 (shop)",
        "users l1 (shop)",
        "users l2 (shop)",
        "alert below 80%",
    }
    assert ratio["users l1 (shop)"]["y"][-1] == pytest.approx(0.4)
    assert ratio["alert below 80%"]["y"] == [0.8, 0.8]
    [band] = figures["hit_ratio"]["layout"]["shapes"]
    assert band["x0"] == scrape_time(NOW_MS, REDIS_OUTAGE[0] - 1)
    misses = {t["name"]: t["y"][-1] for t in figures["misses"]["data"]}
    assert misses["users (shop)"] == pytest.approx(1 / 15)  # one lookup in 15 s misses both
    bars = figures["l2_errors"]["data"]
    assert {t["name"] for t in bars} == {
        "products circuit_open (shop)",
        "products connection (shop)",
    }
    assert sum(sum(t["y"]) for t in bars) == 8
    assert all(t["width"] == 60_000 for t in bars)  # one-minute bars in a 15-minute range


def test_page_lists_the_outage_and_levels(shop):
    html = viewer(shop).get("/caches" + LAST_15M).get_data(as_text=True)
    assert "L2 outages" in html and "circuit_open" in html and "1m 0s" in html
    assert "66.7%" in html  # users L2 hit ratio


def test_hostile_cache_names_are_escaped():
    with SqlStore("sqlite:///:memory:") as store:
        store.append(hostile_samples(NOW_MS))
        client = viewer(store)
        html = client.get("/caches" + LAST_15M).get_data(as_text=True)
        assert XSS_SCRIPT not in html and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
        twin = client.get("/api/ui/caches" + LAST_15M).json
        [cache] = twin["caches"]
        assert cache["cache"] == XSS_SCRIPT and cache["hit_ratio"] == pytest.approx(0.75)
        assert cache["has_l2"] is False
        names = [t["name"] for t in twin["figures"]["hit_ratio"]["data"]]
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt; l1 (shop)" in names


def test_no_cache_metrics_says_what_is_missing():
    with SqlStore("sqlite:///:memory:") as store:
        twin = viewer(store).get("/api/ui/caches").json
        assert twin["caches"] == [] and "MultiLevelCache" in twin["empty_reason"]
