"""The SQLAlchemy integration against real SQLite and PostgreSQL engines."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import Engine

import sloscope
from sloscope.integrations.sql_statements import parse_statement
from sloscope.integrations.sqlalchemy import (
    TimedQueuePool,
    instrument_engine,
    slow_queries,
)
from tests.sdk.conftest import finished_spans, sample

DURATION = "db_client_operation_duration_seconds_count"


class ManualClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _url(request: pytest.FixtureRequest, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'app.db'}"
    return request.getfixturevalue("pg_database")()


@pytest.fixture(params=["sqlite", "postgresql"])
def make_engine(request: pytest.FixtureRequest) -> Iterator:
    """Factory of fresh engines on one database of the parametrized backend."""
    url = _url(request, request.param)
    made: list[Engine] = []

    def make(**kwargs) -> Engine:
        made.append(create_engine(url, **kwargs))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def engine(make_engine) -> Engine:
    made = make_engine()
    instrument_engine(made, name="primary")
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40))"))
    return made


def _labels(engine: str, op: str, table: str) -> dict[str, str]:
    return {"engine": engine, "db_operation_name": op, "db_collection_name": table}


def test_counts_statements_by_operation_and_table(client, engine):
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text("INSERT INTO items (id, name) VALUES (:i, 'x')"), {"i": i})
        conn.execute(text("SELECT name FROM items WHERE id = :i"), {"i": 1}).all()
        conn.execute(text("SELECT count(*) FROM items")).scalar()
        conn.execute(text("UPDATE items SET name = 'y' WHERE id = 1"))
        conn.execute(text("DELETE FROM items WHERE id = 2"))
    assert sample(client, DURATION, _labels("primary", "INSERT", "items")) == 3
    assert sample(client, DURATION, _labels("primary", "SELECT", "items")) == 2
    assert sample(client, DURATION, _labels("primary", "UPDATE", "items")) == 1
    assert sample(client, DURATION, _labels("primary", "DELETE", "items")) == 1


def test_two_engines_have_their_own_label_and_instrumenting_twice_changes_nothing(
    client, make_engine
):
    primary, replica = make_engine(), make_engine()
    instrument_engine(primary, name="primary")
    instrument_engine(primary, name="primary")
    instrument_engine(replica, name="replica")
    for engine in (primary, replica, replica):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar()
    assert sample(client, DURATION, _labels("primary", "SELECT", "")) == 1
    assert sample(client, DURATION, _labels("replica", "SELECT", "")) == 2


def test_statement_spans_nest_under_the_current_span(client, spans, engine):
    with client.tracer.start_as_current_span("request") as parent:
        with engine.connect() as conn:
            conn.execute(text("SELECT name FROM items WHERE id = :id"), {"id": 7}).all()
    (db_span,) = [s for s in finished_spans(client, spans) if s.name == "SELECT items"]
    assert db_span.kind is SpanKind.CLIENT
    assert db_span.parent.span_id == parent.get_span_context().span_id
    attrs = dict(db_span.attributes)
    assert attrs["db.operation.name"] == "SELECT"
    assert attrs["db.collection.name"] == "items"
    assert attrs["db.system.name"] == engine.dialect.name
    assert "7" not in attrs["db.query.text"]  # bound, never inlined
    assert attrs["db.query.text"].startswith("SELECT name FROM items WHERE id = ")
    if engine.dialect.name == "postgresql":
        assert attrs["server.address"] == engine.url.host
        assert attrs["server.port"] == (engine.url.port or 5432)
        assert attrs["db.namespace"] == engine.url.database
    else:
        assert "server.address" not in attrs
        assert attrs["db.namespace"].endswith("app.db")


def test_errors_are_counted_and_reach_the_app_unchanged(client, spans, engine):
    with pytest.raises(exc.DBAPIError) as raised, engine.connect() as conn:
        conn.execute(text("SELECT * FROM missing"))
    expected = {"sqlite": exc.OperationalError, "postgresql": exc.ProgrammingError}
    assert type(raised.value) is expected[engine.dialect.name]
    assert "missing" in str(raised.value.orig)
    error_type = type(raised.value.orig).__name__
    labels = {**_labels("primary", "SELECT", "missing"), "error_type": error_type}
    assert sample(client, "db_client_operation_errors_total", labels) == 1
    (failed,) = [s for s in finished_spans(client, spans) if s.name == "SELECT missing"]
    assert failed.status.status_code is StatusCode.ERROR

    class AppError(Exception):
        pass

    with pytest.raises(AppError), engine.begin() as conn:
        conn.execute(text("INSERT INTO items (id, name) VALUES (1, 'a')"))
        raise AppError
    with engine.connect() as conn:  # the app's rollback happened as usual
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 0


def test_pool_exhaustion_counts_a_timeout_and_the_waits(client, make_engine):
    engine = make_engine(poolclass=TimedQueuePool, pool_size=1, max_overflow=0, pool_timeout=0.2)
    instrument_engine(engine, name="small")
    held = engine.connect()
    try:
        assert sample(client, "db_client_connection_pool_checked_out", {"engine": "small"}) == 1
        assert sample(client, "db_client_connection_pool_size", {"engine": "small"}) == 1
        assert sample(client, "db_client_connection_pool_max_overflow", {"engine": "small"}) == 0
        with pytest.raises(exc.TimeoutError):
            engine.connect()  # waits pool_timeout: the one wait this suite allows
    finally:
        held.close()
    assert sample(client, "db_client_connection_timeouts_total", {"engine": "small"}) == 1
    assert sample(client, "db_client_connection_wait_seconds_count", {"engine": "small"}) == 2
    assert sample(client, "db_client_connection_wait_seconds_sum", {"engine": "small"}) >= 0.2
    assert sample(client, "db_client_connection_pool_checked_out", {"engine": "small"}) == 0
    assert sample(client, "db_client_connection_use_seconds_count", {"engine": "small"}) == 1
    assert sample(client, "db_client_connections_created_total", {"engine": "small"}) == 1


def test_invalidations_are_counted(client, engine):
    with engine.connect() as conn:
        conn.connection.invalidate(soft=True)
    with engine.connect() as conn:
        conn.invalidate()
    for kind in ("hard", "soft"):
        labels = {"engine": "primary", "kind": kind}
        assert sample(client, "db_client_connection_invalidations_total", labels) == 1


@pytest.fixture
def slow_client(spans) -> Iterator[sloscope._client.Client]:
    """Every statement is slow; two explains a minute."""
    made = sloscope.init(
        service_name="sdk-test",
        registry=CollectorRegistry(),
        span_exporter=spans,
        raise_internal_errors=True,
        slow_query_threshold_s=0.0,
        slow_query_explains_per_minute=2,
    )
    yield made
    sloscope.shutdown()


def _explains(client, result: str) -> float | None:
    labels = {"engine": "slow", "result": result}
    return sample(client, "db_client_slow_query_explains_total", labels)


def test_slow_queries_are_logged_and_explained_at_a_limited_rate(slow_client, make_engine):
    clock = ManualClock()
    engine = make_engine()
    instrument_engine(engine, name="slow", clock=clock)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40))"))
        conn.execute(text("INSERT INTO items (id, name) VALUES (1, 'a')"))
    query = text("SELECT name FROM items WHERE id = :id")
    with engine.connect() as conn:
        for _ in range(3):
            assert conn.execute(query, {"id": 1}).scalar() == "a"
        clock.now += 60.0  # a new minute: explains are allowed again
        conn.execute(query, {"id": 1}).all()
    selects = [q for q in slow_queries(engine) if q.operation == "SELECT"]
    assert [q.explain for q in selects] == ["captured", "captured", "rate_limited", "captured"]
    assert [q.explain for q in slow_queries(engine)[:2]] == ["skipped", "skipped"]
    assert _explains(slow_client, "captured") == 3
    assert _explains(slow_client, "rate_limited") == 1
    assert _explains(slow_client, "skipped") == 2
    labels = _labels("slow", "SELECT", "items")
    assert sample(slow_client, "db_client_slow_queries_total", labels) == 4
    plan = selects[0].plan
    if engine.dialect.name == "sqlite":
        assert plan == "SEARCH items USING INTEGER PRIMARY KEY (rowid=?)"
    else:
        assert json.loads(plan)[0]["Plan"]["Relation Name"] == "items"


def test_explain_runs_outside_the_apps_transaction(slow_client, make_engine):
    engine = make_engine()
    instrument_engine(engine, name="slow")
    with engine.begin() as conn:
        # On PostgreSQL the table exists only inside this transaction: a separate connection
        # cannot see it, so the explain fails (counted) and the transaction carries on.
        conn.execute(text("CREATE TABLE fresh (id INTEGER PRIMARY KEY)"))
        assert conn.execute(text("SELECT id FROM fresh WHERE id = :id"), {"id": 1}).all() == []
        conn.execute(text("INSERT INTO fresh (id) VALUES (1)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fresh")).scalar() == 1
    (select,) = [q for q in slow_queries(engine) if "WHERE id" in q.statement]
    if engine.dialect.name == "postgresql":
        assert (select.explain, select.plan) == ("failed", None)
        assert _explains(slow_client, "failed") == 1
    else:  # pysqlite commits DDL at once (legacy transaction control), so the table is visible
        assert select.explain == "captured"
    (count,) = [q for q in slow_queries(engine) if "count(*)" in q.statement]
    assert count.explain == "captured"  # no parameters, after the commit: visible to all


def test_hooks_pass_through_before_init(make_engine):
    assert not sloscope.get_client().recording
    engine = make_engine()
    instrument_engine(engine, name="idle")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert slow_queries(engine) == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('SELECT a FROM "Items" i JOIN b ON true WHERE x = ?', ("SELECT", "Items")),
        ("insert into shop.orders (a) values (%(a)s)", ("INSERT", "shop.orders")),
        ("UPDATE items SET a = 1", ("UPDATE", "items")),
        ("DELETE FROM items WHERE id IN (SELECT id FROM other)", ("DELETE", "items")),
        ("WITH x AS (SELECT 1 FROM y) SELECT * FROM items", ("SELECT", "items")),
        ("CREATE TABLE IF NOT EXISTS t (a int)", ("CREATE", "t")),
        ("/* tag */ SELECT * FROM (SELECT 1) AS s", ("SELECT", "")),
        ("SELECT extract(year FROM now())", ("SELECT", "")),
        ("-- c\nsavepoint sa_1", ("SAVEPOINT", "")),
        ("SELECT 'FROM x' AS a FROM real_table", ("SELECT", "real_table")),
        ("frobnicate everything", ("OTHER", "")),
        ("", ("OTHER", "")),
    ],
)
def test_parse_statement(sql, expected):
    assert parse_statement(sql) == expected
