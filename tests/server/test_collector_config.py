"""Configured collectors in the server: rum.apps take beacons, scrape_configs scrape targets."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from sloscope.server.collector_role import Scraping, build_scraping
from sloscope.server.config import RumAppConfig, ScrapeJobConfig, StaticConfig, load_config
from sloscope.server.run import create_http_app

ORIGIN = "https://shop.example"


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        yield store


@pytest.fixture
def exporter():
    """A real prometheus_client /metrics endpoint on an ephemeral port."""
    registry = CollectorRegistry()
    Counter("orders", "Orders placed.", ["route"], registry=registry).labels("/buy").inc(3)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def value_now(store, expr: str) -> list[float]:
    now_ms = time.time_ns() // 1_000_000
    return [s.value for s in Engine(store).instant_query(expr, now_ms).value]


def beacon() -> dict:
    return {
        "app_key": "pk_shop",
        "page": {"url": f"{ORIGIN}/cart", "timestamp_ms": time.time_ns() // 1_000_000},
        "vitals": [{"name": "LCP", "value": 1200.0, "rating": "good", "delta": 1200.0}],
    }


def test_configured_rum_app_takes_beacons(store, tmp_path):
    path = tmp_path / "sloscope.yml"
    path.write_text(
        "rum:\n  apps:\n    - name: shop\n      public_key: pk_shop\n"
        f"      allowed_origins: [{ORIGIN}]\n",
        encoding="utf-8",
    )
    config = load_config(path, {})
    client = create_http_app(store, rum_apps=config.rum.apps).test_client()

    reply = client.post(
        "/rum/v1/beacons",
        data=json.dumps(beacon()),
        content_type="text/plain;charset=UTF-8",
        headers={"Origin": ORIGIN},
    )

    assert reply.status_code == 204, reply.data
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = client.post(
        "/rum/v1/beacons",
        data=json.dumps(beacon()),
        content_type="text/plain",
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403


def test_without_rum_apps_there_is_no_beacon_path(store):
    client = create_http_app(store).test_client()

    assert client.post("/rum/v1/beacons", data="{}", content_type="text/plain").status_code == 404


def test_rum_app_rate_limit_comes_from_the_config(store):
    apps = (RumAppConfig("shop", "pk_shop", (ORIGIN,), rate_per_s=0.001, burst=1),)
    client = create_http_app(store, rum_apps=apps).test_client()
    post = dict(data=json.dumps(beacon()), content_type="text/plain", headers={"Origin": ORIGIN})

    assert client.post("/rum/v1/beacons", **post).status_code == 204
    assert client.post("/rum/v1/beacons", **post).status_code == 429


def test_no_scrape_jobs_means_no_scheduler(store):
    assert build_scraping(store, ()) is None


def test_configured_scrape_job_scrapes_a_prometheus_client_endpoint(store, exporter):
    job = ScrapeJobConfig(
        "shop",
        static_configs=(StaticConfig((exporter,), (("env", "prod"),)),),
        scrape_interval_ms=30_000,
    )
    scraping = build_scraping(store, [job])
    assert isinstance(scraping, Scraping)
    try:
        (scheduled,) = scraping.scheduler.get_jobs()  # added, not started: nothing runs by itself
        assert scheduled.trigger.interval.total_seconds() == 30
        scheduled.func(*scheduled.args, **scheduled.kwargs)  # one scheduled run, no waiting
    finally:
        scraping.stop()

    labels = f'job="shop",instance="{exporter}",env="prod"'  # static_configs labels applied
    assert value_now(store, f'orders_total{{{labels},route="/buy"}}') == [3.0]
    assert value_now(store, f"up{{{labels}}}") == [1.0]
    assert scraping.scheduler.get_jobs() == []


def test_scraping_starts_and_stops_its_scheduler(store, exporter):
    job = ScrapeJobConfig("shop", static_configs=(StaticConfig((exporter,)),))
    scraping = build_scraping(store, [job])

    scraping.start()
    assert scraping.scheduler.running
    scraping.stop()

    assert not scraping.scheduler.running
