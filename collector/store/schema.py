"""The store's tables, one schema for SQLite and PostgreSQL through SQLAlchemy Core.

- ``series``: one row per label set; ``fingerprint`` is a 64-bit hash of the canonical labels
  (collisions are resolved by comparing ``labels``).
- ``label_values`` + ``postings``: the inverted index. Each (name, value) pair has an id and a
  posting row per series carrying it, so ``job="api"`` is an index lookup and ``job=~"a.*"``
  filters the few distinct values of ``job`` before touching any posting.
- ``chunks``: compressed samples, one row per (series, time range); keyed by ``max_time`` so a
  query for recent data seeks straight to the last chunks of each series.
- ``wal``: appended batches not yet cut into chunks; a batch is durable once its row commits.
- ``meta``: schema version and other store-wide facts.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

series = Table(
    "series",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("fingerprint", BigInteger, nullable=False),
    Column("labels", Text, nullable=False),
    Index("series_by_fingerprint", "fingerprint"),
)

label_values = Table(
    "label_values",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("name", Text, nullable=False),
    Column("value", Text, nullable=False),
    Index("label_values_by_name", "name", "value", unique=True),
)

postings = Table(
    "postings",
    metadata,
    Column("label_value_id", BigInteger, primary_key=True),
    Column("series_id", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)

chunks = Table(
    "chunks",
    metadata,
    Column("series_id", BigInteger, primary_key=True),
    Column("max_time", BigInteger, primary_key=True),
    Column("min_time", BigInteger, nullable=False),
    Column("num_samples", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

wal = Table(
    "wal",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("num_samples", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
