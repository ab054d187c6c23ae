"""Span storage and trace search (:class:`SpanStore`) on the store's SQLite or PostgreSQL.

Write path, one transaction: each resource of the batch once (insert, or move its latest end
forward) -> the spans, skipping any already stored -> their searchable attributes -> commit
(now durable). OTLP clients retry whole batches, so a batch whose spans were not all new is
rolled back and written again without the spans already stored (rare: the common case pays
no lookup). Layouts and their migration: :mod:`collector.store.span_schema` and
:mod:`collector.store.span_migration`.

Search finds the traces having at least one span that meets every criterion (as Jaeger
does), newest first by that span's start, then summarises each trace from all its spans.
An attribute criterion matches a span's own attribute or an attribute of its resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    desc,
    func,
    select,
    union_all,
)

from collector.store.span_migration import ensure_span_schema
from collector.store.span_model import (
    SpanKind,
    SpanRecord,
    StatusCode,
    TraceSummary,
    record_from_row,
)
from collector.store.span_rows import (
    MAX_INDEXED_ATTRIBUTES,
    MAX_INDEXED_VALUE_CHARS,
    SpanRows,
    attribute_keys,
    attribute_text,
    span_rows,
)
from collector.store.span_schema import (
    SpanSql,
    resource_attributes,
    resources,
    span_attributes,
    span_sql,
    spans,
)

__all__ = [
    "MAX_INDEXED_ATTRIBUTES",
    "MAX_INDEXED_VALUE_CHARS",
    "SpanKind",
    "SpanRecord",
    "SpanStore",
    "StatusCode",
    "TraceSummary",
    "attribute_text",
    "parse_trace_id",
]

_MAX_SEARCH_LIMIT = 1000
_BATCH = 400  # ids per IN (...) list, well under SQLite's bound-parameter limit
_DELETE_CHUNK = 10_000  # attribute keys per executemany during retention


class _AlreadyStored(Exception):
    """A batch held spans already stored: roll back and take the checking path."""


class SpanStore:
    """Spans and traces on the time-series store's database.

    >>> from sqlalchemy import create_engine
    >>> spans_db = SpanStore(create_engine("sqlite://"))
    >>> spans_db.create()
    >>> spans_db.get_trace("0af7651916cd43dd8448eb211c80319c") is None
    True
    """

    def __init__(self, store_engine: Engine) -> None:
        self._engine = store_engine

    def create(self) -> None:
        """Create the span tables and indexes if they do not exist, upgrading an older span
        layout in place. :raise StoreError: if the layout is newer than this release's."""
        ensure_span_schema(self._engine, _insert_records)

    # -- writing ------------------------------------------------------------------------

    def write(self, records: Sequence[SpanRecord]) -> int:
        """Store spans in one transaction; returns how many were new. Durable on return."""
        return len(self.write_new(records))

    def write_new(self, records: Sequence[SpanRecord]) -> list[SpanRecord]:
        """Store spans in one transaction and return those that were not stored before.

        A span already stored (same trace and span id, as after a client retry) is skipped,
        so callers counting spans (RED metrics) count each span once.
        """
        unique = list({(r.trace_id, r.span_id): r for r in records}.values())
        if not unique:
            return []
        sql = span_sql(self._engine.dialect)
        try:
            with self._engine.begin() as conn:
                _insert_rows(conn, sql, span_rows(sql, unique), all_new=True)
            return unique
        except _AlreadyStored:
            pass  # rolled back: some were stored before
        with self._engine.begin() as conn:
            seen = _stored_keys(conn, sql, [(r.trace_id, r.span_id) for r in unique])
            new = [r for r in unique if (r.trace_id, r.span_id) not in seen]
            if new:
                _insert_rows(conn, sql, span_rows(sql, new), all_new=False)
        return new

    def delete_before(self, cut_unix_nano: int) -> int:
        """Retention: delete spans that ended before ``cut_unix_nano``, their attribute rows
        (by key, recomputed from the stored attributes) and the resources no span ended
        after the cut, in one transaction; returns how many spans went."""
        s = spans.c
        old = (
            s.start_time_unix_nano < cut_unix_nano,  # served by the start index
            s.start_time_unix_nano + s.duration_ns < cut_unix_nano,
        )
        with self._engine.begin() as conn:
            sql = span_sql(conn.dialect)
            found = conn.execute(select(s.trace_id, s.span_id, s.attributes).where(*old))
            while chunk := found.fetchmany(_DELETE_CHUNK):
                keys = attribute_keys(chunk)
                if keys:
                    conn.exec_driver_sql(sql.delete_attribute, keys)
            deleted = conn.execute(delete(spans).where(*old)).rowcount
            r = resources.c
            gone = select(r.resource_id).where(r.last_end_unix_nano < cut_unix_nano)
            conn.execute(
                delete(resource_attributes).where(resource_attributes.c.resource_id.in_(gone))
            )
            conn.execute(delete(resources).where(r.last_end_unix_nano < cut_unix_nano))
        return int(deleted)

    # -- reading ------------------------------------------------------------------------

    def search(
        self,
        service: str | None = None,
        operation: str | None = None,
        min_duration_ns: int | None = None,
        max_duration_ns: int | None = None,
        status: StatusCode | None = None,
        attribute: tuple[str, str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        limit: int = 20,
    ) -> list[TraceSummary]:
        """Traces with a span meeting every given criterion, newest first.

        ``start_ns``/``end_ns`` bound the matching span's start (inclusive); ``attribute``
        is an exact (key, value) match on a span or resource attribute.
        """
        if not 1 <= limit <= _MAX_SEARCH_LIMIT:
            raise ValueError(f"limit must be within 1..{_MAX_SEARCH_LIMIT}, got {limit}")
        s = spans.c
        conditions = [
            cond
            for wanted, cond in (
                (service, s.service == service),
                (operation, s.name == operation),
                (min_duration_ns, s.duration_ns >= (min_duration_ns or 0)),
                (max_duration_ns, s.duration_ns <= (max_duration_ns or 0)),
                (status, s.status_code == int(status or 0)),
                (start_ns, s.start_time_unix_nano >= (start_ns or 0)),
                (end_ns, s.start_time_unix_nano <= (end_ns or 0)),
            )
            if wanted is not None
        ]
        query = _matching_traces(conditions, attribute, limit)
        with self._engine.connect() as conn:
            trace_ids = [bytes(t) for t, _ in conn.execute(query)]
            summaries = _summarise(conn, trace_ids)
        return [summaries[t] for t in trace_ids if t in summaries]

    def get_trace(self, trace_id_hex: str, max_spans: int = 10_000) -> list[SpanRecord] | None:
        """Every span of a trace by start time (at most ``max_spans``); None if unknown.

        :raise ValueError: if ``trace_id_hex`` is not 32 hex digits.
        """
        trace_id = parse_trace_id(trace_id_hex)
        query = (
            select(spans)
            .where(spans.c.trace_id == trace_id)
            .order_by(spans.c.start_time_unix_nano, spans.c.span_id)
            .limit(max_spans)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = sorted({row.resource_id for row in rows})
            by_id: dict[int, dict[str, Any]] = {}
            if ids:
                r = resources.c
                query = select(r.resource_id, r.attributes).where(r.resource_id.in_(ids))
                by_id = {rid: attrs for rid, attrs in conn.execute(query)}
        # A resource retention dropped under a late span: the span is shown without one.
        return [record_from_row(row, by_id.get(row.resource_id, {})) for row in rows] or None


def _matching_traces(conditions: list, attribute: tuple[str, str] | None, limit: int):
    """(trace_id, latest start) of the newest traces with a span meeting ``conditions`` and,
    if given, having ``attribute`` itself or through its resource."""
    s = spans.c
    if attribute is None:
        latest = func.max(s.start_time_unix_nano).label("latest")
        return (
            select(s.trace_id, latest)
            .where(*conditions)
            .group_by(s.trace_id)
            .order_by(desc("latest"), s.trace_id)
            .limit(limit)
        )
    key, value = attribute
    a, ra = span_attributes.c, resource_attributes.c
    own = (
        select(s.trace_id, s.start_time_unix_nano)
        .select_from(
            spans.join(span_attributes, and_(a.trace_id == s.trace_id, a.span_id == s.span_id))
        )
        .where(a.key == key, a.value == value, *conditions)
    )
    having = select(ra.resource_id).where(ra.key == key, ra.value == value)
    inherited = select(s.trace_id, s.start_time_unix_nano).where(
        s.resource_id.in_(having), *conditions
    )
    hits = union_all(own, inherited).subquery()
    latest = func.max(hits.c.start_time_unix_nano).label("latest")
    return (
        select(hits.c.trace_id, latest)
        .group_by(hits.c.trace_id)
        .order_by(desc("latest"), hits.c.trace_id)
        .limit(limit)
    )


def parse_trace_id(text: str) -> bytes:
    """Raw bytes of a 32-hex-digit trace id. :raise ValueError: for anything else."""
    if len(text) != 32:
        raise ValueError(f"trace id must be 32 hex digits, got {len(text)} characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"trace id {text!r} is not hexadecimal") from None


def _summarise(conn, trace_ids: list[bytes]) -> dict[bytes, TraceSummary]:
    """Per trace: span count, extent and error flag, plus its root (or earliest) span."""
    s = spans.c
    in_ids = s.trace_id.in_(bindparam("ids", expanding=True))
    totals = (
        select(
            s.trace_id,
            func.count(),
            func.min(s.start_time_unix_nano),
            func.max(s.start_time_unix_nano + s.duration_ns),
            func.max(case((s.status_code == int(StatusCode.ERROR), 1), else_=0)),
        )
        .where(in_ids)
        .group_by(s.trace_id)
    )
    heads = (
        select(s.trace_id, s.service, s.name)
        .where(in_ids)
        .order_by(s.trace_id, s.parent_span_id.is_not(None), s.start_time_unix_nano)
    )
    out: dict[bytes, TraceSummary] = {}
    for i in range(0, len(trace_ids), _BATCH):
        params = {"ids": trace_ids[i : i + _BATCH]}
        root: dict[bytes, tuple[str, str]] = {}
        for trace_id, service, name in conn.execute(heads, params):
            root.setdefault(bytes(trace_id), (service, name))
        for trace_id, count, first, last, error in conn.execute(totals, params):
            trace_id = bytes(trace_id)
            service, name = root[trace_id]
            out[trace_id] = TraceSummary(
                trace_id,
                service,
                name,
                int(first),
                int(last) - int(first),
                int(count),
                bool(error),
            )
    return out


def _stored_keys(
    conn: Connection, sql: SpanSql, keys: list[tuple[bytes, bytes]]
) -> set[tuple[bytes, bytes]]:
    """Which of the (trace id, span id) pairs are stored: one primary-key lookup each, joined
    from a VALUES list (``(a, b) IN (VALUES ...)`` would scan the whole key on SQLite)."""
    seen: set[tuple[bytes, bytes]] = set()
    for i in range(0, len(keys), _BATCH):
        chunk = keys[i : i + _BATCH]
        params = tuple(x for key in chunk for x in key)
        found = conn.exec_driver_sql(sql.stored_keys(len(chunk)), params)
        seen.update((bytes(t), bytes(s)) for t, s in found)
    return seen


def _insert_rows(conn: Connection, sql: SpanSql, rows: SpanRows, all_new: bool) -> None:
    """Execute the write path's statements with plain tuples through the DBAPI cursor's
    executemany (SQLAlchemy's per-row parameter processing is most of the cost).

    :raise _AlreadyStored: if ``all_new`` and some span was stored before (nothing of its
        attributes is written then; the caller rolls back).
    """
    conn.exec_driver_sql(sql.upsert_resource, rows.resources)
    if rows.resource_attributes:
        conn.exec_driver_sql(sql.insert_resource_attribute, rows.resource_attributes)
    inserted = conn.exec_driver_sql(sql.insert_span, rows.spans).rowcount
    if all_new and inserted != len(rows.spans):
        raise _AlreadyStored
    if rows.attributes:
        conn.exec_driver_sql(sql.insert_attribute, rows.attributes)


def _insert_records(conn: Connection, records: Sequence[SpanRecord]) -> None:
    """The write path inside the caller's transaction (for the layout migration)."""
    sql = span_sql(conn.dialect)
    _insert_rows(conn, sql, span_rows(sql, records), all_new=False)
