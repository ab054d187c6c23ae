"""Fault injection: each switch, flipped through /admin/faults, moves the metric it should.

The apps here carry only the health and admin blueprints (the other areas are tested on their
own), plus a probe blueprint reading a product through the ``products`` cache and running SQL
on the primary: so every fault is shown on routes that exist whatever else the shop serves.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Blueprint, jsonify
from sqlalchemy import select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

import reference_backend
from reference_backend import faults_cli
from reference_backend.fault_specs import Latency, SlowQueries
from reference_backend.faults import FAULTS, Faults
from reference_backend.models import Product
from reference_backend.seed import SeedPlan
from reference_backend.state import shop

probe = Blueprint("probe", __name__, url_prefix="/probe")
PLAN_QUERY = (
    "SELECT id FROM products WHERE category_id = 3 AND status = 'active' ORDER BY id LIMIT 20"
)


@probe.get("/products/<int:product_id>")
def probe_product(product_id: int):
    def load(key: str) -> dict:
        with shop().read_session() as session:
            product = session.get(Product, int(key))
            return {"id": product.id, "name": product.name}

    return jsonify(shop().cache("products").get_or_load(str(product_id), load))


@probe.get("/db")
def probe_db():
    try:
        with shop().primary.connect() as conn:
            return jsonify(products=conn.execute(text("SELECT count(*) FROM products")).scalar())
    except PoolTimeout:
        return jsonify(error="pool timeout"), 503


@probe.get("/plan")
def probe_plan():
    state = shop()
    explain = "EXPLAIN QUERY PLAN " if state.primary.dialect.name == "sqlite" else "EXPLAIN "
    with state.write_session() as session, session.begin():
        rows = session.execute(text(explain + PLAN_QUERY)).all()
    return jsonify(plan="\n".join(" ".join(str(col) for col in row) for row in rows))


@pytest.fixture(autouse=True)
def only_health_and_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = ("reference_backend.blueprints.health", "reference_backend.blueprints.admin")
    monkeypatch.setattr(reference_backend, "BLUEPRINTS", mine)


@pytest.fixture
def settings(settings, request: pytest.FixtureRequest):
    """The shop's test settings, changed as a test parametrizes it (indirect)."""
    return dataclasses.replace(settings, **getattr(request, "param", {}))


@pytest.fixture
def app(make_app):
    app = make_app()
    app.register_blueprint(probe)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def get(client, path: str, **kwargs):
    """GET with the body consumed and closed: the SDK records a request when its body ends."""
    return client.get(path, buffered=True, **kwargs)


@pytest.fixture
def auth(settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.admin_token}"}


def value(sdk, name: str, **labels: str) -> float:
    return sdk.registry.get_sample_value(name, labels) or 0.0


def requests_seen(sdk, route: str, status: int, le: str | None = None) -> float:
    labels = {"http_request_method": "GET", "http_route": route}
    labels.update(http_response_status_code=str(status), **({"le": le} if le else {}))
    kind = "bucket" if le else "count"
    return value(sdk, f"http_server_request_duration_seconds_{kind}", **labels)


sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


@sqlite_only
def test_admin_needs_the_bearer_token(client, auth):
    missing = client.get("/admin/faults")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/admin/faults", headers={"Authorization": "Basic eDp5"}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.delete("/admin/faults/latency", headers=wrong).status_code == 403
    assert client.post("/admin/faults/cache_flush", headers=wrong).status_code == 403
    listed = client.get("/admin/faults", headers=auth)
    assert listed.status_code == 200
    assert set(listed.json) == set(FAULTS)
    assert not any(f.get("on") for f in listed.json.values())


@sqlite_only
def test_bad_parameters_are_rejected_with_every_reason(client, auth):
    def put(name: str, **kwargs):
        return client.put(f"/admin/faults/{name}", headers=auth, **kwargs)

    bad = put("latency", json={"distribution": "uniform", "min_ms": 9, "max_ms": -1, "x": 1})
    assert bad.status_code == 400
    assert len(bad.json["errors"]) == 3  # unknown key, max_ms out of range, min_ms > max_ms
    assert put("latency", json={"distribution": "pareto", "ms": 5}).status_code == 400
    assert put("error_rate", json={"rate": 1.5}).status_code == 400
    assert put("error_rate", json={"rate": 0.5, "status": 502}).status_code == 400
    assert put("error_rate", json={"rate": 0.5, "routes": "products"}).status_code == 400
    assert put("slow_queries", json={"tables": ["products; DROP"]}).status_code == 400
    assert put("redis_outage", json={"for": 3}).status_code == 400
    assert put("latency", data="{nope", content_type="application/json").status_code == 400
    assert put("latency", json=[1, 2]).status_code == 400
    assert put("cache_flush").status_code == 400
    assert put("meteor").status_code == 404
    assert client.delete("/admin/faults/meteor", headers=auth).status_code == 404
    assert not any(f.get("on") for f in client.get("/admin/faults", headers=auth).json.values())


@sqlite_only
def test_latency_draws_from_the_distribution_on_matching_routes_only(app, client, auth):
    slept: list[float] = []
    shop_state = app.extensions["shop"]
    shop_state.faults = Faults(rng=random.Random(7), sleep=slept.append)
    params = {"routes": ["/healthz"], "distribution": "lognormal", "median_ms": 80, "sigma": 0.5}
    on = client.put("/admin/faults/latency", headers=auth, json=params)
    assert on.status_code == 200
    assert on.json["latency"] == {"on": True, **params, "median_ms": 80.0, "sigma": 0.5}
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    client.get("/readyz")
    client.get("/admin/faults", headers=auth)  # /admin is never delayed, even by "*"

    expected_rng, spec = random.Random(7), Latency.parse(params)
    assert slept == [spec.draw_ms(expected_rng) / 1000 for _ in range(20)]
    assert 0.02 < sorted(slept)[10] < 0.3  # the median is near 80 ms
    client.delete("/admin/faults/latency", headers=auth)
    client.get("/healthz")
    assert len(slept) == 20


@sqlite_only
def test_latency_moves_the_request_duration_histogram(sdk, client, auth):
    # The SDK times requests with the real clock: three bounded 60 ms sleeps, nothing more.
    client.put("/admin/faults/latency", headers=auth, json={"ms": 60, "routes": ["/health*"]})
    for _ in range(3):
        get(client, "/healthz")
    assert requests_seen(sdk, "/healthz", 200) == 3
    assert requests_seen(sdk, "/healthz", 200, le="0.05") == 0  # every one took >= 60 ms
    client.delete("/admin/faults/latency", headers=auth)
    for _ in range(3):
        get(client, "/healthz")
    assert requests_seen(sdk, "/healthz", 200, le="0.05") == 3


@sqlite_only
def test_error_rate_answers_5xx_on_matching_routes(sdk, app, client, auth):
    on = {"rate": 1.0, "status": 503, "routes": ["/healthz"]}
    assert client.put("/admin/faults/error_rate", headers=auth, json=on).status_code == 200
    answers = [get(client, "/healthz") for _ in range(5)]
    assert {a.status_code for a in answers} == {503}
    assert answers[0].json["fault"] == "error_rate"
    assert get(client, "/readyz").status_code == 200
    assert requests_seen(sdk, "/healthz", 503) == 5
    assert requests_seen(sdk, "/readyz", 200) == 1

    app.extensions["shop"].faults._rng = random.Random(1)  # a reproducible share
    client.put("/admin/faults/error_rate", headers=auth, json={"rate": 0.5})
    failed = sum(get(client, "/healthz").status_code == 500 for _ in range(200))
    expected = random.Random(1)
    assert failed == sum(expected.random() < 0.5 for _ in range(200))
    assert requests_seen(sdk, "/healthz", 500) == failed
    client.delete("/admin/faults/error_rate", headers=auth)
    assert get(client, "/healthz").status_code == 200


@pytest.mark.parametrize("backend", ["postgresql"])
def test_redis_outage_counts_l2_errors_and_requests_still_succeed(sdk, app, client, auth):
    assert client.get("/probe/products/1").status_code == 200  # loaded, written to L1 and L2
    assert client.get("/readyz").json["redis"] is True
    assert client.put("/admin/faults/redis_outage", headers=auth).status_code == 200
    before = value(sdk, "cache_errors_total", cache="products", level="l2", reason="connection")

    answer = client.get("/probe/products/2")  # L1 miss, L2 unreachable, loaded from the DB
    assert answer.status_code == 200 and answer.json["id"] == 2
    assert client.get("/probe/products/1").status_code == 200  # L1 still serves
    after = value(sdk, "cache_errors_total", cache="products", level="l2", reason="connection")
    assert after == before + 1  # then the cache's circuit skips Redis for a while
    assert client.get("/readyz").json == {"status": "ok", "redis": False}
    assert client.get("/admin/faults", headers=auth).json["redis_outage"] == {"on": True}

    assert client.delete("/admin/faults/redis_outage", headers=auth).status_code == 200
    assert client.get("/readyz").json["redis"] is True


@pytest.mark.parametrize(
    "settings", [{"pool_size": 1, "max_overflow": 0, "pool_timeout_s": 0.2}], indirect=True
)
def test_pool_exhaustion_makes_checkouts_time_out(sdk, client, auth):
    assert client.get("/probe/db").status_code == 200
    on = client.put("/admin/faults/pool_exhaustion", headers=auth)
    assert on.json["pool_exhaustion"] == {"on": True, "wanted": 1, "held": 1}
    waits = value(sdk, "db_client_connection_wait_seconds_count", engine="primary")
    slow_waits = waits - value(
        sdk, "db_client_connection_wait_seconds_bucket", engine="primary", le="0.1"
    )

    assert client.get("/probe/db").status_code == 503
    assert client.get("/readyz").status_code == 503
    assert value(sdk, "db_client_connection_timeouts_total", engine="primary") == 2
    assert value(sdk, "db_client_connection_wait_seconds_count", engine="primary") == waits + 2
    over = value(sdk, "db_client_connection_wait_seconds_count", engine="primary") - value(
        sdk, "db_client_connection_wait_seconds_bucket", engine="primary", le="0.1"
    )
    assert over == slow_waits + 2  # both waited the whole pool_timeout

    off = client.delete("/admin/faults/pool_exhaustion", headers=auth)
    assert off.json["pool_exhaustion"] == {"on": False}
    assert client.get("/probe/db").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_slow_queries_lose_their_index(make_app, auth):
    app = make_app(SeedPlan(products=3000, customers=30, orders=300))
    app.register_blueprint(probe)
    client, state = app.test_client(), app.extensions["shop"]
    if state.primary.dialect.name == "postgresql":
        with state.primary.begin() as conn:
            conn.execute(text("ANALYZE products"))
    indexed = client.get("/probe/plan").json["plan"]
    assert "INDEX" in indexed.upper() and "Seq Scan" not in indexed
    on = client.put("/admin/faults/slow_queries", headers=auth, json={"delay_ms": 0})
    assert on.json["slow_queries"] == {"on": True, "tables": ["products"], "delay_ms": 0.0}

    scanned = client.get("/probe/plan").json["plan"]
    assert "Seq Scan on products" in scanned or "SCAN products" in scanned
    assert "INDEX" not in scanned.upper()
    client.delete("/admin/faults/slow_queries", headers=auth)
    assert client.get("/probe/plan").json["plan"] == indexed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_slow_queries_add_their_delay_inside_the_statement(sdk, app, client, auth):
    state, slept = app.extensions["shop"], []
    state.faults = Faults(sleep=slept.append)
    state.faults.attach(state.primary)
    client.put("/admin/faults/slow_queries", headers=auth, json={"delay_ms": 40})
    labels = {"engine": "primary", "db_operation_name": "SELECT", "db_collection_name": "products"}
    before = value(sdk, "db_client_operation_duration_seconds_sum", **labels)
    assert client.get("/probe/db").status_code == 200
    if state.primary.dialect.name == "sqlite":
        assert slept == [0.04]  # injected here; the server-side pg_sleep below is real
    else:
        assert value(sdk, "db_client_operation_duration_seconds_sum", **labels) >= before + 0.04
    with app.app_context(), state.write_session() as session, session.begin():
        assert state.faults.query_hint(session) is True
        if state.primary.dialect.name == "postgresql":
            assert session.execute(text("SHOW enable_indexscan")).scalar() == "off"
    client.delete("/admin/faults/slow_queries", headers=auth)
    with state.write_session() as session, session.begin():
        assert state.faults.query_hint(session) is False
        assert session.execute(select(Product.id).limit(1)).scalar() is not None


def test_without_indexes_keeps_aliases_and_clauses():
    spec = SlowQueries(("products",), 0.0)
    assert spec.without_indexes("SELECT * FROM products WHERE id = 1") == (
        "SELECT * FROM products NOT INDEXED WHERE id = 1"
    )
    assert spec.without_indexes("SELECT p.id FROM products AS p JOIN x ON x.id = p.id") == (
        "SELECT p.id FROM products AS p NOT INDEXED JOIN x ON x.id = p.id"
    )
    assert spec.without_indexes("SELECT 1 FROM orders o JOIN products p ON p.id = o.id") == (
        "SELECT 1 FROM orders o JOIN products p NOT INDEXED ON p.id = o.id"
    )
    assert spec.without_indexes("SELECT 1 FROM products NOT INDEXED") == (
        "SELECT 1 FROM products NOT INDEXED"
    )
    assert spec.without_indexes("SELECT 1 FROM products_archive") == (
        "SELECT 1 FROM products_archive"
    )
    assert not spec.matches("UPDATE products SET name = 'x'")


def test_cache_flush_empties_every_cache(app, client, auth):
    for product_id in (1, 2, 3):
        assert client.get(f"/probe/products/{product_id}").status_code == 200
    state = app.extensions["shop"]
    with app.app_context():
        assert state.cache("products").get("1") == client.get("/probe/products/1").json

    flushed = client.post("/admin/faults/cache_flush", headers=auth)
    assert flushed.status_code == 200
    with app.app_context():
        assert state.cache("products").get("1") is None
        assert state.cache("products").get("2") is None
    if state.redis is not None:
        assert flushed.json["cache_flush"]["flushed"]["products"] == 3
        namespace = state.settings.cache_namespace
        assert list(state.redis.scan_iter(match=f"{namespace}:*")) == []
    listed = client.get("/admin/faults", headers=auth).json["cache_flush"]
    assert listed["count"] == 1 and listed["last_at"] is not None


@contextmanager
def serving(app) -> Iterator[str]:
    """The app behind a real waitress server on an ephemeral port, stopped at the end.

    The test drives waitress's loop itself, one poll at a time, so that the same thread can
    stop it and close every socket (waitress's ``run()`` has no way to stop).
    """
    from waitress import wasyncore
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(5)


def cli(*argv: str) -> tuple[int, str, str]:
    """Run ``faults`` with an empty environment; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    parser = argparse.ArgumentParser(prog="faults")
    faults_cli.add_arguments(parser, {})
    code = faults_cli.run(parser.parse_args(list(argv)), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@sqlite_only
def test_cli_flips_faults_of_a_running_shop(app, settings):
    with serving(app) as url:
        common = ("--url", url, "--token", settings.admin_token)
        code, out, _ = cli("list", *common)
        assert code == 0 and '"latency"' in out
        code, out, _ = cli("on", "latency", "--json", '{"ms": 5, "routes": ["/x*"]}', *common)
        assert code == 0 and '"on": true' in out
        assert app.extensions["shop"].faults.latency.routes == ("/x*",)
        assert cli("off", "latency", *common)[0] == 0
        assert app.extensions["shop"].faults.latency is None
        code, out, _ = cli("flush", *common)
        assert code == 0 and "flushed" in out

        code, _, err = cli("on", "error_rate", "--json", '{"rate": 7}', *common)
        assert code == 1 and "rate: a number from 0 to 1" in err
        code, _, err = cli("list", "--url", url, "--token", "wrong")
        assert code == 2 and "rejected the admin token (HTTP 403)" in err
        assert cli("list", "--url", url)[0] == 2  # no token at all

    code, _, err = cli("list", *common)  # the server is gone
    assert code == 2 and "cannot reach the shop" in err


def test_cli_main_rejects_a_non_object_json(capsys):
    with pytest.raises(SystemExit):
        faults_cli.main(["on", "latency", "--json", "[1]", "--token", "t"], environ={})
    assert "must be a JSON object" in capsys.readouterr().err
