"""Span table layout 2: resources stored and indexed once, retries, retention, and the
upgrade from layout 1 (or refusal of a layout this release does not know)."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.pool import NullPool

from collector.store.interfaces import StoreError
from collector.store.span_migration import VERSION_KEY
from collector.store.span_schema import (
    SPAN_SCHEMA_VERSION,
    resource_attributes,
    resources,
    span_attributes,
    span_meta,
)
from collector.store.spans import SpanKind, SpanRecord, SpanStore, StatusCode

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
SHOP = {"service.name": "shop", "host.name": "web-1"}
BILLING = {"service.name": "billing", "host.name": "web-2"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> Engine:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'spans.db'}"
    else:
        url = request.getfixturevalue("pg_database")()
    made = create_engine(url, poolclass=NullPool)
    yield made
    made.dispose()


def _span(trace: int, span: int, resource: dict, start_ms: int = 0, **attributes) -> SpanRecord:
    return SpanRecord(
        trace_id=trace.to_bytes(16, "big"),
        span_id=span.to_bytes(8, "big"),
        parent_span_id=None if span == 1 else (1).to_bytes(8, "big"),
        service=resource["service.name"],
        name=f"op{span}",
        kind=SpanKind.SERVER if span == 1 else SpanKind.CLIENT,
        start_time_unix_nano=T0 + start_ms * MS,
        duration_ns=10 * MS,
        status_code=StatusCode.OK,
        attributes=attributes,
        resource_attributes=resource,
    )


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _found(store: SpanStore, **criteria) -> list[int]:
    return [int.from_bytes(t.trace_id, "big") for t in store.search(**criteria)]


def test_a_resource_is_stored_and_indexed_once(engine):
    store = SpanStore(engine)
    store.create()
    shop_reordered = dict(reversed(SHOP.items()))  # equal contents, another dict and order
    batch = [_span(t, s, SHOP if t % 2 else shop_reordered) for t in (1, 2, 3) for s in (1, 2)]
    assert store.write(batch) == 6
    assert _count(engine, resources) == 1
    assert _count(engine, resource_attributes) == 2
    assert _count(engine, span_attributes) == 0  # the spans have no attributes of their own
    (trace,) = [store.get_trace((2).to_bytes(16, "big").hex())]
    assert [s.resource_attributes for s in trace] == [SHOP, SHOP]


def test_a_span_matches_a_resource_attribute_only_if_its_resource_has_it(engine):
    store = SpanStore(engine)
    store.create()
    # One trace crossing two services: the shop span on web-1 calls billing on web-2.
    store.write([_span(7, 1, SHOP, http_route="/cart"), _span(7, 2, BILLING, start_ms=1)])
    store.write([_span(8, 1, BILLING, start_ms=5, http_route="/pay")])
    assert _found(store, attribute=("host.name", "web-1")) == [7]
    assert _found(store, attribute=("host.name", "web-2")) == [8, 7]
    assert _found(store, attribute=("host.name", "web-1"), service="billing") == []
    assert _found(store, attribute=("host.name", "web-2"), service="billing") == [8, 7]
    assert _found(store, attribute=("http_route", "/cart"), service="shop") == [7]
    assert _found(store, attribute=("http_route", "/cart"), service="billing") == []
    assert _found(store, attribute=("service.name", "billing"), operation="op1") == [8]


def test_a_retried_batch_stores_only_the_new_spans_once(engine):
    store = SpanStore(engine)
    store.create()
    first = [_span(1, s, SHOP, http_route="/a") for s in (1, 2)]
    assert store.write_new(first) == first
    retried = [*first, _span(1, 3, SHOP, http_route="/a")]
    assert store.write_new(retried) == retried[2:]
    assert store.write_new(retried) == []
    assert _count(engine, span_attributes) == 3
    assert len(store.get_trace((1).to_bytes(16, "big").hex())) == 3


def test_retention_deletes_attribute_rows_and_unused_resources(engine):
    store = SpanStore(engine)
    store.create()
    store.write([_span(1, 1, SHOP, http_route="/old"), _span(2, 1, BILLING, http_route="/x")])
    store.write([_span(3, 1, BILLING, start_ms=5_000, http_route="/x", retries=2.5)])
    assert store.delete_before(T0 + 1_000 * MS) == 2
    assert _found(store) == [3]
    with engine.connect() as conn:
        kept = conn.execute(select(span_attributes.c.trace_id, span_attributes.c.key)).all()
        resource_left = conn.execute(select(resources.c.attributes)).scalars().all()
    assert sorted((int.from_bytes(t, "big"), k) for t, k in kept) == [
        (3, "http_route"),
        (3, "retries"),
    ]
    assert resource_left == [BILLING]
    assert _found(store, attribute=("host.name", "web-1")) == []
    assert _found(store, attribute=("host.name", "web-2")) == [3]


# -- layout versions ----------------------------------------------------------------------

_v1 = MetaData()
_V1_SPANS = Table(
    "spans",
    _v1,
    Column("trace_id", LargeBinary(16), primary_key=True),
    Column("span_id", LargeBinary(8), primary_key=True),
    Column("parent_span_id", LargeBinary(8), nullable=True),
    Column("service", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("start_time_unix_nano", BigInteger, nullable=False),
    Column("duration_ns", BigInteger, nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("status_message", Text, nullable=False),
    Column("http_route", Text, nullable=True),
    Column("http_method", Text, nullable=True),
    Column("http_status_code", Integer, nullable=True),
    Column("scope_name", Text, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("events", JSON, nullable=False),
    Column("links", JSON, nullable=False),
    Column("resource_attributes", JSON, nullable=False),
)
_V1_ATTRIBUTES = Table(
    "span_attributes",
    _v1,
    Column("trace_id", LargeBinary(16), primary_key=True),
    Column("span_id", LargeBinary(8), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


def _v1_row(trace: int, span: int, resource: dict, kind: int = 2, **attributes) -> dict:
    return {
        "trace_id": trace.to_bytes(16, "big"),
        "span_id": span.to_bytes(8, "big"),
        "parent_span_id": None,
        "service": resource["service.name"],
        "name": f"GET /{trace}",
        "kind": kind,
        "start_time_unix_nano": T0 + trace * MS,
        "duration_ns": 5 * MS,
        "status_code": 2,
        "status_message": "boom",
        "http_route": attributes.get("http.route"),
        "http_method": "GET",
        "http_status_code": 500,
        "scope_name": "flask",
        "attributes": attributes,
        "events": [{"time_unix_nano": T0, "name": "exception", "attributes": {}}],
        "links": [],
        "resource_attributes": resource,
    }


def _make_v1(engine: Engine, rows: list[dict]) -> None:
    _v1.create_all(engine)
    with engine.begin() as conn:
        conn.execute(_V1_SPANS.insert(), rows)
        index = [
            {"trace_id": r["trace_id"], "span_id": r["span_id"], "key": k, "value": str(v)}
            for r in rows
            for k, v in {**r["attributes"], **r["resource_attributes"]}.items()
        ]
        conn.execute(_V1_ATTRIBUTES.insert(), index)


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        query = select(span_meta.c.value).where(span_meta.c.key == VERSION_KEY)
        return conn.execute(query).scalar()


def test_layout_1_is_upgraded_with_every_span_kept(engine, monkeypatch):
    import collector.store.span_migration as migration

    monkeypatch.setattr(migration, "_PAGE", 2)  # several pages from five spans
    rows = [_v1_row(t, 1, SHOP if t < 4 else BILLING, **{"http.route": f"/r{t}"}) for t in range(5)]
    rows.append(_v1_row(1, 2, SHOP, kind=3, retries=3))
    _make_v1(engine, rows)
    store = SpanStore(engine)
    store.create()
    assert _version(engine) == str(SPAN_SCHEMA_VERSION)
    assert {"spans", "span_attributes"}.isdisjoint(inspect(engine).get_table_names())
    trace = store.get_trace((1).to_bytes(16, "big").hex())
    assert [(s.kind, s.attributes, s.resource_attributes) for s in trace] == [
        (SpanKind.SERVER, {"http.route": "/r1"}, SHOP),
        (SpanKind.CLIENT, {"retries": 3}, SHOP),
    ]
    assert trace[0].events == rows[1]["events"] and trace[0].status_message == "boom"
    assert _found(store, attribute=("host.name", "web-2")) == [4]
    assert _found(store, attribute=("retries", "3")) == [1]
    assert _found(store, attribute=("http.route", "/r0")) == [0]
    store.create()  # already upgraded: nothing to do
    assert _count(engine, resources) == 2


def test_an_unreadable_layout_1_row_leaves_layout_1_untouched(engine):
    _make_v1(engine, [_v1_row(1, 1, SHOP, a=1), _v1_row(2, 1, SHOP, kind=42, a=2)])
    with pytest.raises(StoreError, match="layout-1 tables are unchanged"):
        SpanStore(engine).create()
    names = set(inspect(engine).get_table_names())
    assert {"spans", "span_attributes"} <= names
    assert _count(engine, _V1_SPANS) == 2
    assert "trace_spans" not in names  # the whole upgrade was rolled back


def test_a_newer_layout_is_refused(engine):
    SpanStore(engine).create()
    with engine.begin() as conn:
        conn.execute(span_meta.update().values(value=str(SPAN_SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match=f"layout version {SPAN_SCHEMA_VERSION + 1}, newer"):
        SpanStore(engine).create()


def test_a_foreign_spans_table_is_left_alone(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE spans (id INTEGER PRIMARY KEY, note TEXT)")
        conn.exec_driver_sql("INSERT INTO spans (id, note) VALUES (1, 'not ours')")
    store = SpanStore(engine)
    store.create()
    assert store.write([_span(1, 1, SHOP)]) == 1
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT note FROM spans").scalar() == "not ours"
    assert store.get_trace((1).to_bytes(16, "big").hex())[0].resource_attributes == SHOP
