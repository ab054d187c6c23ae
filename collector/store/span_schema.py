"""The span tables, on the store's database but in their own ``MetaData``.

They live apart from ``schema.metadata`` so the time-series store's schema version does not
move when the span schema does, and so a deployment can create one without the other.

- ``spans``: one row per span, keyed by (trace_id, span_id); the key also serves "all spans
  of a trace". Search indexes: (service, start), (service, name, start) and duration.
- ``span_attributes``: the searchable attributes of a span, one (key, value) row each,
  indexed on (key, value) so ``tag=http.route=/cart`` is an index lookup rather than a text
  match inside JSON (which would also match keys or values that merely contain the text).

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
    Table,
    Text,
)

__all__ = ["SpanSql", "span_attributes", "span_metadata", "span_sql", "spans"]

span_metadata = MetaData()

spans = Table(
    "spans",
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
    Column("resource_attributes", JSON, nullable=False),
    Index("spans_by_service_start", "service", "start_time_unix_nano"),
    Index("spans_by_service_name_start", "service", "name", "start_time_unix_nano"),
    Index("spans_by_start", "start_time_unix_nano"),
    Index("spans_by_duration", "duration_ns"),
)

span_attributes = Table(
    "span_attributes",
    span_metadata,
    Column("trace_id", LargeBinary(16), primary_key=True),
    Column("span_id", LargeBinary(8), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Index("span_attributes_by_key_value", "key", "value"),
)

#: Positional placeholder per DBAPI paramstyle (sqlite3: qmark; psycopg: pyformat).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_JSON_COLUMNS = ("attributes", "events", "links", "resource_attributes")
_SQL: dict[Any, SpanSql] = {}


@dataclass(frozen=True)
class SpanSql:
    """The span write path's SQL for one dialect, taking positional parameter tuples."""

    insert_span: str  # every ``spans`` column, in table order
    insert_attribute: str  # (trace_id, span_id, key, value)
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
            " JOIN spans AS s ON s.trace_id = v.column1 AND s.span_id = v.column2"
        )


def span_sql(dialect) -> SpanSql:
    """:class:`SpanSql` for ``dialect`` (built once per dialect).

    Only JSON columns need converting: both drivers take bytes, ints and str as they are.
    """
    sql = _SQL.get(dialect)
    if sql is None:
        mark = _PLACEHOLDERS.get(dialect.paramstyle)
        if mark is None:
            raise NotImplementedError(f"paramstyle {dialect.paramstyle!r} is not supported")
        impls = {type(spans.c[name].type.dialect_impl(dialect)) for name in _JSON_COLUMNS}
        if len(impls) != 1:
            raise NotImplementedError("the JSON columns must share one type")
        json = spans.c.attributes.type.dialect_impl(dialect).bind_processor(dialect)
        sql = _SQL[dialect] = SpanSql(
            _insert(spans, mark), _insert(span_attributes, mark), json or _same, mark
        )
    return sql


def _insert(table: Table, mark: str) -> str:
    names = ", ".join(c.name for c in table.columns)
    marks = ", ".join([mark] * len(table.columns))
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"


def _same(value: Any) -> Any:
    return value
