"""The shipped alert rules against the series sloscope really produces, not hand-written ones.

A Flask app instrumented by the SDK (requests, a SQLAlchemy ``TimedQueuePool``, a
``MultiLevelCache``) is scraped through its own ``/metrics`` by the collector's scraper into a
store; RUM beacons go through the collector's ``RumAccumulator``. Every metric and label the
rules name must exist there, and the alerts that a test can provoke without waiting for time
to pass must fire on that data, with the labels their annotations use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
import yaml
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc

import sloscope
import sloscope.flask
from collector.convert.web_vitals import parse_beacon
from collector.promql import parser
from collector.promql.engine import Engine
from collector.receivers.rum import RumAccumulator
from collector.receivers.scrape import FetchResponse, ScrapeConfig, Scraper
from collector.store.sql import SqlStore
from sloscope.cache import MultiLevelCache
from sloscope.integrations.sqlalchemy import TimedQueuePool, instrument_engine

RULES_DIR = Path(__file__).resolve().parents[2] / "alert_rules"
T0 = 1_700_000_000_000
MINUTE = 60_000
SHOP = "shop:8000"


def rules() -> dict[str, dict]:
    """Every rule of the shipped files by its alert or record name."""
    found = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                found[rule.get("alert") or rule["record"]] = rule
    return found


RULES = rules()


@pytest.fixture
def store() -> Iterator[SqlStore]:
    made = SqlStore("sqlite:///:memory:")
    made.open()
    yield made
    made.close()


@pytest.fixture
def client() -> Iterator[object]:
    made = sloscope.init(
        service_name="alert-rules-test",
        registry=CollectorRegistry(),
        span_exporter=InMemorySpanExporter(),
        raise_internal_errors=True,
    )
    yield made
    sloscope.shutdown()


def shop_app() -> flask.Flask:
    app = flask.Flask("shop")
    sloscope.flask.init_app(app)

    @app.get("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        return str(order_id)

    @app.post("/pay")
    def pay() -> tuple[str, int]:
        return "payment service unavailable", 500

    return app


def scraper_of(app: flask.Flask, store: SqlStore, healthy: bool = True) -> Scraper:
    """A scraper whose fetch is a request to the app's own ``/metrics`` (no sockets)."""

    def fetch(url: str, headers: dict[str, str], timeout_s: float) -> FetchResponse:
        if not healthy:
            return FetchResponse(503, "text/plain", b"", "Service Unavailable")
        with app.test_client() as http:
            response = http.get("/metrics", headers=headers)
            return FetchResponse(response.status_code, response.content_type, response.data)

    return Scraper(store, [ScrapeConfig("shop", (SHOP,))], fetch=fetch)


def traffic(app: flask.Flask, orders: int, payments: int) -> None:
    with app.test_client() as http:
        for i in range(orders):
            http.get(f"/orders/{i}").close()
        for _ in range(payments):
            http.post("/pay").close()


def database():
    """A one-connection pool that ran a SELECT on a table, and its connection held out."""
    engine = create_engine(
        "sqlite://", poolclass=TimedQueuePool, pool_size=1, max_overflow=0, pool_timeout=0.01
    )
    instrument_engine(engine, name="primary")
    with engine.connect() as conn:
        conn.execute(text("create table orders (id integer primary key)"))
        conn.execute(text("select id from orders"))
    return engine, engine.connect()


def time_out_a_checkout(engine) -> None:
    with pytest.raises(sa_exc.TimeoutError):
        engine.connect()


def alert_series(store: SqlStore, name: str, t_ms: int) -> list[dict[str, str]]:
    """The label sets of the alerts ``name`` would raise at ``t_ms`` (``for`` aside)."""
    result = Engine(store).instant_query(RULES[name]["expr"], t_ms)
    found = [dict(sample.labels) for sample in result.value]
    for labels in found:
        labels.pop("__name__", None)  # an alert drops the metric name, as Prometheus does
    return sorted(found, key=lambda labels: sorted(labels.items()))


def test_sdk_alerts_fire_on_scraped_sdk_metrics(client, store):
    app = shop_app()
    engine, held = database()
    users = MultiLevelCache("users", redis=None, ttl=30)
    scraper = scraper_of(app, store)
    traffic(app, orders=1, payments=1)
    users.get("nobody")
    assert scraper.scrape_once("shop", SHOP, T0).up
    traffic(app, orders=60, payments=60)
    for i in range(60):
        users.get(f"nobody-{i}")
    time_out_a_checkout(engine)
    assert scraper.scrape_once("shop", SHOP, T0 + MINUTE).up
    held.close()
    users.close()
    at, own = T0 + MINUTE, {"job": "shop"}
    assert alert_series(store, "HTTP5xxRatioHigh", at) == [{**own, "http_route": "/pay"}]
    pool = {**own, "instance": SHOP, "engine": "primary"}
    assert alert_series(store, "DBPoolSaturated", at) == [pool]
    assert alert_series(store, "DBPoolExhausted", at) == [pool]
    assert alert_series(store, "CacheHitRatioLow", at) == [{**own, "cache": "users", "level": "l1"}]
    assert alert_series(store, "HTTPLatencyP95High", at) == []  # fast requests


def test_scrape_target_down_fires_on_a_failed_scrape(client, store):
    scraper = scraper_of(shop_app(), store, healthy=False)
    assert not scraper.scrape_once("shop", SHOP, T0).up
    assert alert_series(store, "ScrapeTargetDown", T0) == [{"job": "shop", "instance": SHOP}]
    assert alert_series(store, "ScrapeJobDown", T0) == [{"job": "shop"}]


def beacon(page: str, lcp_ms: float, inp_ms: float):
    return parse_beacon(
        {
            "page": {"url": f"https://shop.example{page}", "route": page},
            "vitals": [{"name": "LCP", "value": lcp_ms}, {"name": "INP", "value": inp_ms}],
        }
    )


def test_rum_alerts_fire_on_accumulated_beacons(store):
    rum = RumAccumulator()
    for i in range(25):  # one beacon every 20 s: slow pages, and a fast one
        t_ms = T0 + i * 20_000
        store.append(rum.record(beacon("/product/<id>", 6000, 900), "shop", "mobile", t_ms))
        store.append(rum.record(beacon("/", 800, 40), "shop", "mobile", t_ms))
        if i < 10:  # too few views for the traffic guard
            store.append(rum.record(beacon("/cart", 9000, 2000), "shop", "tablet", t_ms))
    at = T0 + 24 * 20_000
    slow = [{"app": "shop", "page": "/product/<id>", "device_class": "mobile"}]
    assert alert_series(store, "RUMLCPPoor", at) == slow
    assert alert_series(store, "RUMINPPoor", at) == slow


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Each metric a rule selects, with the label names it matches on or groups by."""
    found: list[tuple[str, set[str]]] = []

    def visit(node, grouping: frozenset[str]) -> None:
        if isinstance(node, parser.ast.AggregateExpr):
            modifier = node.modifier
            by = set(modifier.labels) if modifier is not None else set()
            visit(node.expr, grouping | by)
        elif isinstance(node, parser.ast.VectorSelector):
            labels = {m.name for m in node.matchers.matchers}
            found.append((node.name, labels | grouping))
        else:
            for child in children(node):
                visit(child, grouping)

    visit(parser.parse(expr), frozenset())
    return found


def children(node) -> list:
    if isinstance(node, parser.ast.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, parser.ast.Call):
        return list(node.args)
    if isinstance(node, parser.ast.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, parser.ast.ParenExpr | parser.ast.UnaryExpr | parser.ast.SubqueryExpr):
        return [node.expr]
    return []


def test_every_selected_metric_and_label_exists(client, store):
    app = shop_app()
    engine, held = database()
    time_out_a_checkout(engine)
    users = MultiLevelCache("users", redis=None, ttl=30)
    users.get_or_load("1", lambda key: key)
    users.get("1")
    traffic(app, orders=1, payments=1)
    assert scraper_of(app, store).scrape_once("shop", SHOP, T0).up
    held.close()
    users.close()
    rum = RumAccumulator()
    store.append(rum.record(beacon("/", 800, 40), "shop", "mobile", T0))
    recorded = {name for name, rule in RULES.items() if "record" in rule}
    checked = 0
    for name, rule in RULES.items():
        for metric, labels in selectors(rule["expr"]):
            if metric in recorded:
                continue
            series = Engine(store).instant_query(metric, T0).value
            assert series, f"{name}: no series {metric}"
            have = set().union(*(dict(s.labels) for s in series))
            assert labels <= have, f"{name}: {metric} has no label {labels - have}"
            checked += 1
    assert checked >= 30
