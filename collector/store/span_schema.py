"""The span tables (layout version 2), on the store's database but in their own ``MetaData``.

They live apart from ``schema.metadata`` so the time-series store's schema version does not
move when the span schema does, and so a deployment can create one without the other. The
span layout has its own version in ``trace_store_meta`` (:data:`SPAN_SCHEMA_VERSION`);
:mod:`collector.store.span_migration` upgrades older layouts.

- ``trace_spans``: one row per span, keyed by (trace_id, span_id); the key also serves "all
  spans of a trace". Search indexes: (service, name, start), start, duration, resource.
  A span names its resource by ``resource_id`` instead of carrying the resource's attributes.
- ``trace_span_attrs``: the searchable attributes of a span, one (key, value) row each, keyed
  (key, value, trace_id, span_id) so ``tag=http.route=/cart`` is a range of the key rather
  than a text match inside JSON. On SQLite the table is ``WITHOUT ROWID``: the key is the
  only B-tree written per row. Retention deletes rows by their key, recomputed from the
  span's stored attributes.
- ``trace_resources``: each distinct resource once, by a 64-bit hash of its attributes, with
  the latest end of its spans so retention can drop resources no span needs any more.
- ``trace_resource_attrs``: the searchable attributes of each resource, once per resource: a
  span matches a resource attribute if and only if its resource has it.

:func:`span_sql` gives the write path's statements as plain SQL text in the driver's own
parameter style, to hand tuples straight to the DBAPI cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

__all__ = [
    "SPAN_SCHEMA_VERSION",
    "SpanSql",
    "resource_attributes",
    "resources",
    "span_attributes",
    "span_meta",
    "span_metadata",
    "span_sql",
    "spans",
]

#: Version of the layout below; 1 was ``spans``/``span_attributes`` (before ``trace_*``).
SPAN_SCHEMA_VERSION = 2

span_metadata = MetaData()

span_meta = Table(
    "trace_store_meta",
    span_metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

spans = Table(
    "trace_spans",
    span_metadata,
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
    Column("resource_id", BigInteger, nullable=False),
    Index("trace_spans_by_service_name_start", "service", "name", "start_time_unix_nano"),
    Index("trace_spans_by_start", "start_time_unix_nano"),
    Index("trace_spans_by_duration", "duration_ns"),
    Index("trace_spans_by_resource", "resource_id"),
)

span_attributes = Table(
    "trace_span_attrs",
    span_metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("trace_id", LargeBinary(16), primary_key=True),
    Column("span_id", LargeBinary(8), primary_key=True),
    sqlite_with_rowid=False,
)

resources = Table(
    "trace_resources",
    span_metadata,
    Column("resource_id", BigInteger, primary_key=True, autoincrement=False),
    Column("attributes", JSON, nullable=False),
    Column("last_end_unix_nano", BigInteger, nullable=False),
    Index("trace_resources_by_last_end", "last_end_unix_nano"),
)

resource_attributes = Table(
    "trace_resource_attrs",
    span_metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("resource_id", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

#: Positional placeholder per DBAPI paramstyle (sqlite3: qmark; psycopg: pyformat).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_JSON_COLUMNS = ("attributes", "events", "links")
_SQL: dict[Any, SpanSql] = {}


@dataclass(frozen=True)
class SpanSql:
    """The span write path's SQL for one dialect, taking positional parameter tuples."""

    #: every ``trace_spans`` column in table order; a span already stored is skipped, and
    #: the cursor's rowcount says how many were inserted
    insert_span: str
    insert_attribute: str  # (key, value, trace_id, span_id), duplicates skipped
    #: (resource_id, attributes, last_end): insert, or move ``last_end`` forward
    upsert_resource: str
    insert_resource_attribute: str  # (key, value, resource_id), duplicates skipped
    delete_attribute: str  # (key, value, trace_id, span_id)
    #: A JSON column value as the driver takes it (sqlite3: text; psycopg: ``Json``).
    json: Callable[[Any], Any]
    mark: str

    def stored_keys(self, n: int) -> str:
        """(trace_id, span_id) of the stored spans among ``n`` pairs of parameters: one
        primary-key lookup per pair. (``(a, b) IN (VALUES ...)`` scans the whole key on
        SQLite.)"""
        row = f"({self.mark}, {self.mark})"
        return (
            f"SELECT s.trace_id, s.span_id FROM (VALUES {', '.join([row] * n)}) AS v"
            f" JOIN {spans.name} AS s ON s.trace_id = v.column1 AND s.span_id = v.column2"
        )


def span_sql(dialect) -> SpanSql:
    """:class:`SpanSql` for ``dialect`` (built once per dialect).

    Only JSON columns need converting: both drivers take bytes, ints and str as they are.
    ``ON CONFLICT`` is spelled the same by SQLite (3.24+) and PostgreSQL.
    """
    sql = _SQL.get(dialect)
    if sql is None:
        mark = _PLACEHOLDERS.get(dialect.paramstyle)
        if mark is None:
            raise NotImplementedError(f"paramstyle {dialect.paramstyle!r} is not supported")
        impls = {type(spans.c[name].type.dialect_impl(dialect)) for name in _JSON_COLUMNS}
        impls.add(type(resources.c.attributes.type.dialect_impl(dialect)))
        if len(impls) != 1:
            raise NotImplementedError("the JSON columns must share one type")
        json = spans.c.attributes.type.dialect_impl(dialect).bind_processor(dialect)
        r = resources.name
        upsert = (
            f"{_insert(resources, mark)} ON CONFLICT (resource_id) DO UPDATE"
            " SET last_end_unix_nano = excluded.last_end_unix_nano"
            f" WHERE {r}.last_end_unix_nano < excluded.last_end_unix_nano"
        )
        a = span_attributes.name
        sql = _SQL[dialect] = SpanSql(
            insert_span=f"{_insert(spans, mark)} ON CONFLICT DO NOTHING",
            insert_attribute=f"{_insert(span_attributes, mark)} ON CONFLICT DO NOTHING",
            upsert_resource=upsert,
            insert_resource_attribute=(
                f"{_insert(resource_attributes, mark)} ON CONFLICT DO NOTHING"
            ),
            delete_attribute=(
                f"DELETE FROM {a} WHERE key = {mark} AND value = {mark}"
                f" AND trace_id = {mark} AND span_id = {mark}"
            ),
            json=json or _same,
            mark=mark,
        )
    return sql


def _insert(table: Table, mark: str) -> str:
    names = ", ".join(c.name for c in table.columns)
    marks = ", ".join([mark] * len(table.columns))
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"


def _same(value: Any) -> Any:
    return value
