"""DB pools page on real SDK output: a ``primary`` pool (2 + 1 overflow) and a ``replica``
(4 + 0), both ``TimedQueuePool``, filled and timed out on cue (see ``web_sdk_shop``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from web_sdk_shop import (
    PRIMARY_FULL,
    REPLICA_FULL,
    dashboard,
    delete_keys,
    gauge,
    hostile_samples,
    run_shop,
    scrape_time,
)
from web_testdata import NOW_MS, XSS_IMG, log_in

from collector.store.sql import SqlStore

LAST_15M = "?range=15m"
WHOLE = 60 / 59  # increase() over 15 minutes: 59 intervals extrapolated to 60
STEP_S = 15


@pytest.fixture(scope="module")
def shop(tmp_path_factory, redis_url) -> Iterator[SqlStore]:
    path = tmp_path_factory.mktemp("shop-dbpools")
    prefix = f"sloscope-test:web-dbpools:{uuid.uuid4().hex}:"
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


def pools(twin: dict) -> dict[str, dict]:
    return {p["engine"]: p for p in twin["pools"]}


def test_saturation_time_above_and_timeouts_per_engine(shop):
    found = pools(viewer(shop).get("/api/ui/dbpools" + LAST_15M).json)
    assert list(found) == ["primary", "replica"]
    primary, replica = found["primary"], found["replica"]
    assert (primary["size"], primary["max_overflow"], primary["capacity"]) == (2, 1, 3)
    assert (primary["in_use"], primary["saturation_now"]) == (1, pytest.approx(1 / 3))
    # the 60 samples current in the range (scrapes 20..79) hold 15 s each; 8 are at 3 of 3
    assert primary["saturation_peak"] == 1.0
    assert primary["above_ms"] == len(PRIMARY_FULL) * STEP_S * 1000
    assert primary["above_share"] == pytest.approx(8 / 60)
    assert primary["saturation_mean"] == pytest.approx((52 / 3 + 8) / 60)
    assert primary["timeouts"] == 1  # the counter's first sample already reads 1
    # checkouts per interval: the statement's, the held ones, the timed-out attempt
    assert primary["checkouts"] == pytest.approx((59 * 2 + 8 * 2 + 1) * WHOLE)
    assert (replica["capacity"], replica["saturation_now"]) == (4, 0.25)
    assert replica["above_ms"] == len(REPLICA_FULL) * STEP_S * 1000
    assert replica["saturation_mean"] == pytest.approx((56 * 0.25 + 4) / 60)
    assert replica["timeouts"] == 2
    assert replica["checkouts"] == pytest.approx((59 + 4 * 3 + 2) * WHOLE)
    # a timed-out checkout waited pool_timeout (10 ms): it is in the replica's wait p95
    assert 0 < primary["wait_p95_s"] and 0 < replica["wait_p95_s"]


def test_charts_draw_every_sample_the_threshold_and_timeout_bars(shop):
    figures = viewer(shop).get("/api/ui/dbpools" + LAST_15M).json["figures"]
    lines = {t["name"]: t for t in figures["saturation"]["data"]}
    primary = lines["primary (shop:8000)"]
    assert len(primary["x"]) == 60 and primary["x"][-1] == NOW_MS  # scrapes 21..80
    full = [t for t, v in zip(primary["x"], primary["y"], strict=True) if v == 1.0]
    assert full == [scrape_time(NOW_MS, k) for k in PRIMARY_FULL]
    assert lines["saturated above 80%"]["y"] == [0.8, 0.8]
    bars = {t["name"]: sum(t["y"]) for t in figures["timeouts"]["data"]}
    assert bars == {"primary (shop:8000)": 1, "replica (shop:8000)": 2}
    assert {t["name"] for t in figures["wait"]["data"]} == {
        "primary (shop:8000)",
        "replica (shop:8000)",
    }


def test_capacity_follows_the_alert_rule():
    """Unlimited overflow cannot saturate; a plain QueuePool is measured against its size."""
    with SqlStore("sqlite:///:memory:") as store:
        unlimited = {"job": "api", "instance": "a:1", "engine": "unlimited"}
        plain = {"job": "api", "instance": "a:1", "engine": "plain"}
        samples = []
        for labels, size, overflow, used in ((unlimited, 5, -1, 5), (plain, 4, None, 4)):
            samples += gauge("db_client_connection_pool_size", labels, size, NOW_MS)
            samples += gauge("db_client_connection_pool_checked_out", labels, used, NOW_MS)
            if overflow is not None:
                samples += gauge("db_client_connection_pool_max_overflow", labels, overflow, NOW_MS)
        store.append(samples)
        found = pools(viewer(store).get("/api/ui/dbpools" + LAST_15M).json)
        assert found["unlimited"]["capacity"] is None
        assert found["unlimited"]["saturation_peak"] is None
        assert found["unlimited"]["above_ms"] == 0
        assert (found["plain"]["capacity"], found["plain"]["saturation_now"]) == (4, 1.0)
        assert found["plain"]["above_ms"] == 900_000 and found["plain"]["above_share"] == 1.0


def test_page_shows_the_table_and_hostile_names_are_escaped():
    with SqlStore("sqlite:///:memory:") as store:
        store.append(hostile_samples(NOW_MS))
        client = viewer(store)
        html = client.get("/dbpools" + LAST_15M).get_data(as_text=True)
        assert XSS_IMG not in html and "&#34;&gt;&lt;img src=x" in html
        assert "5 + 0" in html and "40%" in html  # 2 of 5 in use
        twin = client.get("/api/ui/dbpools" + LAST_15M).json
        names = [t["name"] for t in twin["figures"]["saturation"]["data"]]
        assert all("<" not in name for name in names)


def test_no_pool_metrics_says_what_is_missing():
    with SqlStore("sqlite:///:memory:") as store:
        twin = viewer(store).get("/api/ui/dbpools").json
        assert twin["pools"] == [] and "instrument_engine" in twin["empty_reason"]
