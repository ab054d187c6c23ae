"""Exemplar storage: a few sampled observations per series that point at a trace.

Prometheus keeps exemplars in a fixed-size in-memory ring and loses them on restart; here they
are rows on the store's database (their own ``MetaData``, as the span tables), kept as long
as samples and bounded per series: each append keeps at most ``max_per_series`` of a series'
newest exemplars, so one hot series cannot crowd out the rest.

An exemplar is identified by its series and timestamp: a repeat (a scrape re-reading the same
exemplar, an OTLP client retrying) is ignored, as Prometheus ignores a duplicate exemplar.

>>> from sqlalchemy import create_engine
>>> db = ExemplarStore(create_engine("sqlite://")); db.create()
>>> series = Labels.of({"__name__": "http_requests_total", "job": "shop"})
>>> db.append([Exemplar(series, Labels.of({"trace_id": "ab12"}), 1_000, 1.0)])
1
>>> [(dict(s), [e.timestamp_ms for e in found]) for s, found in db.query([[]], 0, 5_000)]
[({'__name__': 'http_requests_total', 'job': 'shop'}, [1000])]
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from collector.model import METRIC_NAME, Labels
from collector.store.matchers import Matcher, MatchType

__all__ = ["Exemplar", "ExemplarStore", "MAX_EXEMPLAR_LABEL_CHARS"]

#: OpenMetrics' bound on an exemplar's label set (names and values, in characters).
MAX_EXEMPLAR_LABEL_CHARS = 128
_DEFAULT_MAX_PER_SERIES = 100
_MAX_QUERY_ROWS = 100_000

exemplar_metadata = MetaData()

exemplars = Table(
    "exemplars",
    exemplar_metadata,
    # A 63-bit hash of the series' labels: the key, without a unique index on long text.
    Column("series_hash", BigInteger, primary_key=True, autoincrement=False),
    Column("timestamp_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("metric_name", Text, nullable=False),
    Column("series_labels", Text, nullable=False),
    Column("exemplar_labels", Text, nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Index("exemplars_by_name_time", "metric_name", "timestamp_ms"),
    Index("exemplars_by_time", "timestamp_ms"),
)


@dataclass(frozen=True)
class Exemplar:
    """One exemplar of ``series``: its own labels (``trace_id``, ``span_id``...), time, value."""

    series: Labels
    labels: Labels
    timestamp_ms: int
    value: float


def series_hash(labels: Labels) -> int:
    digest = hashlib.blake2b("\xff".join(f"{k}\xfe{v}" for k, v in labels).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") >> 1  # fits a signed BIGINT


class ExemplarStore:
    """Appends and finds exemplars on the store's SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, max_per_series: int = _DEFAULT_MAX_PER_SERIES) -> None:
        if max_per_series < 1:
            raise ValueError("max_per_series must be at least 1")
        self._engine = engine
        self.max_per_series = max_per_series

    def create(self) -> None:
        exemplar_metadata.create_all(self._engine)

    def append(self, items: Sequence[Exemplar]) -> int:
        """Store ``items`` durably (one transaction); returns how many were new.

        Raises ValueError, storing nothing, when an exemplar's labels exceed
        :data:`MAX_EXEMPLAR_LABEL_CHARS`; receivers check that first and count it.
        """
        if not items:
            return 0
        rows = {}
        for item in items:
            if sum(len(k) + len(v) for k, v in item.labels) > MAX_EXEMPLAR_LABEL_CHARS:
                raise ValueError(f"exemplar labels exceed {MAX_EXEMPLAR_LABEL_CHARS} characters")
            key = (series_hash(item.series), item.timestamp_ms)
            rows[key] = {
                "series_hash": key[0],
                "timestamp_ms": item.timestamp_ms,
                "metric_name": item.series.get(METRIC_NAME),
                "series_labels": json.dumps(dict(item.series), separators=(",", ":")),
                "exemplar_labels": json.dumps(dict(item.labels), separators=(",", ":")),
                "value": item.value,
            }
        with self._engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(exemplars).on_conflict_do_nothing()
            # rowcount of an executemany is not reliable across drivers; RETURNING is.
            returned = conn.execute(
                statement.returning(exemplars.c.timestamp_ms), list(rows.values())
            )
            stored = len(returned.all())
            self._trim(conn, {key[0] for key in rows})
        return stored

    def _trim(self, conn, hashes: set[int]) -> None:
        """Keep each touched series' newest ``max_per_series`` exemplars."""
        for hashed in hashes:
            cut = conn.execute(
                select(exemplars.c.timestamp_ms)
                .where(exemplars.c.series_hash == hashed)
                .order_by(exemplars.c.timestamp_ms.desc())
                .offset(self.max_per_series)
                .limit(1)
            ).scalar()
            if cut is not None:
                conn.execute(
                    delete(exemplars).where(
                        and_(exemplars.c.series_hash == hashed, exemplars.c.timestamp_ms <= cut)
                    )
                )

    def query(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[tuple[Labels, list[Exemplar]]]:
        """Exemplars in [start, end] of the series any matcher set selects, grouped by series
        (sorted by labels), each series' exemplars oldest first — the shape of Prometheus'
        ``/api/v1/query_exemplars``."""
        found: dict[Labels, list[Exemplar]] = defaultdict(list)
        with self._engine.connect() as conn:
            for matchers in matcher_sets:
                for row in conn.execute(_select_rows(matchers, start_ms, end_ms)):
                    series = Labels.of(json.loads(row.series_labels))
                    if all(m.matches(series.get(m.name)) for m in matchers):
                        found[series].append(_exemplar(series, row))
        result = []
        for series in sorted(found):
            unique = {e.timestamp_ms: e for e in found[series]}
            result.append((series, [unique[t] for t in sorted(unique)]))
        return result

    def delete_before(self, cut_ms: int) -> int:
        """Delete exemplars older than ``cut_ms`` (retention); returns how many."""
        with self._engine.begin() as conn:
            return conn.execute(delete(exemplars).where(exemplars.c.timestamp_ms < cut_ms)).rowcount

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(exemplars)).scalar() or 0)


def _select_rows(matchers: Sequence[Matcher], start_ms: int, end_ms: int):
    query = select(
        exemplars.c.series_labels,
        exemplars.c.exemplar_labels,
        exemplars.c.timestamp_ms,
        exemplars.c.value,
    ).where(exemplars.c.timestamp_ms.between(start_ms, end_ms))
    names = [m.value for m in matchers if m.name == METRIC_NAME and m.type is MatchType.EQUAL]
    if names:  # the common case: an index range scan on (metric_name, timestamp)
        query = query.where(exemplars.c.metric_name == names[0])
    return query.order_by(exemplars.c.timestamp_ms).limit(_MAX_QUERY_ROWS)


def _exemplar(series: Labels, row) -> Exemplar:
    labels = Labels.of(json.loads(row.exemplar_labels))
    return Exemplar(series, labels, int(row.timestamp_ms), float(row.value))
