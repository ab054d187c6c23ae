"""Real SDK output for the Services, Caches and DB pools pages.

A Flask shop instrumented by the sloscope SDK (HTTP histogram), two SQLAlchemy pools
(``primary``, ``replica``, both ``TimedQueuePool``) and two ``MultiLevelCache``s on a real
Redis is driven through 81 scrape intervals of 15 s, scraped through its own ``/metrics`` by
the collector's scraper into a store at simulated times; a spans-only service goes through
the collector's ``RedAccumulator`` (spanmetrics). Every interval does the same work except
the scripted incidents below, so the figures a page shows can be worked out by hand.

Per 15 s interval ``k`` (traffic, then the scrape at ``T0 + k * 15 s``):

- HTTP ``shop``: 6 x ``GET /orders/<id>`` (200), 2 x ``POST /pay`` (one 201, one 500).
- cache ``users`` (L1 of one entry, Redis L2): lookups a, a, b, b, nobody:
  L1 2 hits 3 misses, L2 2 hits 1 miss.
- cache ``products`` (L1 of one entry, Redis L2): lookups p1, p2, p3, all L1 misses, all L2
  hits; in intervals 50..53 Redis is unreachable: p1 fails (``connection``), p2 is skipped
  (``circuit_open``), p3 hits L1.
- pool ``primary`` (2 + 1 overflow = 3): 1 connection held at the scrape, 3 in intervals
  40..47 and one checkout times out in interval 45.
- pool ``replica`` (4 + 0 = 4): 1 held, 4 in intervals 60..63, two timeouts in interval 62.
- spans service ``payments``: 10 ``POST /charge`` server spans: 8 of 5 ms, one of 90 ms,
  one failed of 300 ms.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from dataclasses import dataclass

import flask
import redis
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc

import sloscope
import sloscope.flask
from collector.convert.spans_to_red import RedAccumulator
from collector.model import Labels
from collector.receivers.scrape import FetchResponse, ScrapeConfig, Scraper
from collector.store.spans import SpanKind, SpanRecord, StatusCode
from collector.store.sql import SqlStore
from sloscope.cache import MultiLevelCache
from sloscope.integrations.sqlalchemy import TimedQueuePool, instrument_engine

STEP_MS = 15_000
SCRAPES = 81  # k = 0 .. 80
SHOP = "shop:8000"
REDIS_OUTAGE = range(50, 54)
PRIMARY_FULL, PRIMARY_TIMEOUT = range(40, 48), 45
REPLICA_FULL, REPLICA_TIMEOUT = range(60, 64), 62


def scrape_time(now_ms: int, k: int) -> int:
    """When scrape ``k`` happens: the last one (k = 80) is at "now"."""
    return now_ms - (SCRAPES - 1 - k) * STEP_MS


def shop_app() -> flask.Flask:
    app = flask.Flask("shop")
    sloscope.flask.init_app(app)
    paid = {"n": 0}

    @app.get("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        return str(order_id)

    @app.post("/pay")
    def pay() -> tuple[str, int]:
        paid["n"] += 1
        return ("payment service unavailable", 500) if paid["n"] % 2 else ("paid", 201)

    return app


def dead_redis() -> redis.Redis:
    """A client of a port nobody listens on: every call is a connection error at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return redis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )


@dataclass
class Shop:
    """The instrumented parts and the simulated time their clocks read."""

    app: flask.Flask
    users: MultiLevelCache
    products: MultiLevelCache
    live_redis: redis.Redis
    dead_redis: redis.Redis
    primary: object
    replica: object
    now_s: float = 0.0

    def clock(self) -> float:
        return self.now_s


def _engine(path: str, name: str, size: int, overflow: int):
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=TimedQueuePool,
        pool_size=size,
        max_overflow=overflow,
        pool_timeout=0.01,
    )
    instrument_engine(engine, name=name)
    return engine


def _interval(shop: Shop, k: int) -> list:
    """One interval's traffic; returns the connections to hold over the scrape."""
    with shop.app.test_client() as http:
        for i in range(6):
            http.get(f"/orders/{i}").close()
        for _ in range(2):
            http.post("/pay").close()
    for key in ("a", "a", "b", "b", "nobody"):
        shop.users.get(key)
    shop.products.redis = shop.dead_redis if k in REDIS_OUTAGE else shop.live_redis
    for key in ("p1", "p2", "p3"):
        shop.products.get(key)
    with shop.primary.connect() as conn:  # a statement, and one checkout, per interval
        conn.execute(text("select 1"))
    held = []
    for engine, full, timeout_at, timeouts, capacity in (
        (shop.primary, PRIMARY_FULL, PRIMARY_TIMEOUT, 1, 3),
        (shop.replica, REPLICA_FULL, REPLICA_TIMEOUT, 2, 4),
    ):
        held += [engine.connect() for _ in range(capacity if k in full else 1)]
        for _ in range(timeouts if k == timeout_at else 0):
            try:
                engine.connect()
            except sa_exc.TimeoutError:
                pass
            else:  # pragma: no cover - the scenario is broken
                raise AssertionError("a checkout of a full pool did not time out")
    return held


def _spans(k: int, end_ms: int) -> list[SpanRecord]:
    durations_ms = [5] * 8 + [90, 300]
    spans = []
    for i, duration in enumerate(durations_ms):
        end_ns = end_ms * 1_000_000
        spans.append(
            SpanRecord(
                trace_id=(k * 100 + i + 1).to_bytes(16, "big"),
                span_id=(i + 1).to_bytes(8, "big"),
                parent_span_id=None,
                service="payments",
                name="POST /charge",
                kind=SpanKind.SERVER,
                start_time_unix_nano=end_ns - duration * 1_000_000,
                duration_ns=duration * 1_000_000,
                status_code=StatusCode.ERROR if duration == 300 else StatusCode.UNSET,
            )
        )
    return spans


def _scraper(app: flask.Flask, store: SqlStore) -> Scraper:
    def fetch(url: str, headers: dict[str, str], timeout_s: float) -> FetchResponse:
        with app.test_client() as http:
            response = http.get("/metrics", headers=headers)
            return FetchResponse(response.status_code, response.content_type, response.data)

    return Scraper(store, [ScrapeConfig("shop", (SHOP,))], fetch=fetch)


def _warm(shop: Shop) -> None:
    """Values in Redis, a 500 and a checkout before scrape 0, so every series exists then."""
    for cache, keys in ((shop.users, ("a", "b")), (shop.products, ("p1", "p2", "p3"))):
        for key in keys:
            cache.set(key, {"id": key})


def run_shop(
    store: SqlStore,
    tmp_dir: str,
    redis_url: str,
    redis_prefix: str,
    now_ms: int,
    extra: Callable[[Shop, int], None] | None = None,
) -> None:
    """Drive the shop through every interval and scrape it into ``store``."""
    client = sloscope.init(
        service_name="shop",
        registry=CollectorRegistry(),
        span_exporter=InMemorySpanExporter(),
        raise_internal_errors=True,
    )
    live = redis.Redis.from_url(redis_url)
    shop = Shop(shop_app(), None, None, live, dead_redis(), None, None)  # type: ignore[arg-type]
    common = {"ttl": 3600, "max_entries": 1, "clock": shop.clock, "l2_retry_after": 1.0}
    shop.users = MultiLevelCache("users", live, key_prefix=redis_prefix + "u:", **common)
    shop.products = MultiLevelCache("products", live, key_prefix=redis_prefix + "p:", **common)
    shop.primary = _engine(f"{tmp_dir}/primary.db", "primary", 2, 1)
    shop.replica = _engine(f"{tmp_dir}/replica.db", "replica", 4, 0)
    scraper, red = _scraper(shop.app, store), RedAccumulator()
    try:
        shop.now_s = scrape_time(now_ms, 0) / 1000 - 15
        _warm(shop)
        for k in range(SCRAPES):
            t_ms = scrape_time(now_ms, k)
            shop.now_s = t_ms / 1000
            held = _interval(shop, k)
            if extra is not None:
                extra(shop, k)
            assert scraper.scrape_once("shop", SHOP, t_ms).up
            for conn in held:
                conn.close()
            store.append(red.observe_batch(_spans(k, t_ms))[0])
    finally:
        for cache in (shop.users, shop.products):
            cache.close()
        for engine in (shop.primary, shop.replica):
            engine.dispose()
        live.close()
        shop.dead_redis.close()
        assert client is sloscope.get_client()
        sloscope.shutdown()


def counter(name: str, labels: dict[str, str], per_step: float, now_ms: int) -> list:
    """A counter growing by ``per_step`` every 15 s over the shop's scrapes."""
    series = Labels.of({"__name__": name, **labels})
    return [(series, scrape_time(now_ms, k), per_step * (k + 1)) for k in range(SCRAPES)]


def gauge(name: str, labels: dict[str, str], value: float, now_ms: int) -> list:
    series = Labels.of({"__name__": name, **labels})
    return [(series, scrape_time(now_ms, k), value) for k in range(SCRAPES)]


def hostile_samples(now_ms: int) -> list:
    """A cache, a pool and a spans-only service whose names are script payloads."""
    from web_testdata import XSS_IMG, XSS_LINK, XSS_SCRIPT

    cache = {"job": "shop", "cache": XSS_SCRIPT, "level": "l1"}
    out = counter("cache_requests_total", {**cache, "result": "hit"}, 3, now_ms)
    out += counter("cache_requests_total", {**cache, "result": "miss"}, 1, now_ms)
    pool = {"job": "shop", "instance": XSS_LINK, "engine": XSS_IMG}
    for name, value in (("size", 5.0), ("max_overflow", 0.0), ("checked_out", 2.0)):
        out += gauge(f"db_client_connection_pool_{name}", pool, value, now_ms)
    red = RedAccumulator()
    for k in range(SCRAPES):
        end_ns = scrape_time(now_ms, k) * 1_000_000
        span = SpanRecord(
            trace_id=(10_000 + k).to_bytes(16, "big"),
            span_id=(1).to_bytes(8, "big"),
            parent_span_id=None,
            service=XSS_LINK,
            name=XSS_SCRIPT,
            kind=SpanKind.SERVER,
            start_time_unix_nano=end_ns - 20_000_000,
            duration_ns=20_000_000,
        )
        out += red.observe_batch([span])[0]
    return out


@functools.cache
def _users() -> tuple:
    """The test users, hashed once (scrypt is slow on purpose)."""
    from web_testdata import PASSWORDS, ROLES

    from web.auth import hash_password
    from web.settings import User

    return tuple(User(n, ROLES[n], hash_password(p)) for n, p in PASSWORDS.items())


def dashboard(store: SqlStore, now_ms: int, *, auth: bool = True) -> flask.Flask:
    """The full server app over ``store`` with the dashboard, clock fixed at ``now_ms``."""
    from sloscope.server.collector_role import build_collector
    from sloscope.server.run import create_http_app
    from web import Sources, register_web
    from web.settings import WebSettings

    app = create_http_app(store, build_collector(store))
    app.config["TESTING"] = True
    users = _users()
    settings = WebSettings(auth_enabled=auth, users=users, secret_key="shop-test-secret-key")
    register_web(app, Sources(store), settings, clock=lambda: now_ms)
    return app


def delete_keys(redis_url: str, prefix: str) -> None:
    """Remove what the shop's caches wrote under ``prefix`` (SCAN, never KEYS)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
