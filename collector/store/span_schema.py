"""The span tables, on the store's database but in their own ``MetaData``.

They live apart from ``schema.metadata`` so the time-series store's schema version does not
move when the span schema does, and so a deployment can create one without the other.

- ``spans``: one row per span, keyed by (trace_id, span_id); the key also serves "all spans
  of a trace". Search indexes: (service, start), (service, name, start) and duration.
- ``span_attributes``: the searchable attributes of a span, one (key, value) row each,
  indexed on (key, value) so ``tag=http.route=/cart`` is an index lookup rather than a text
  match inside JSON (which would also match keys or values that merely contain the text).
"""

from __future__ import annotations

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

__all__ = ["span_attributes", "span_metadata", "spans"]

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
