"""Span storage and trace search (:class:`SpanStore`) on the store's SQLite or PostgreSQL.

Write path: drop spans already stored (OTLP clients retry whole batches) -> insert the new
spans and their searchable attributes in one transaction -> commit (now durable).

Search finds the traces having at least one span that meets every criterion (as Jaeger
does), newest first by that span's start, then summarises each trace from all its spans.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, bindparam, case, delete, desc, func, select, tuple_

from collector.store.span_schema import span_attributes, span_metadata, span_sql, spans

__all__ = [
    "MAX_INDEXED_ATTRIBUTES",
    "MAX_INDEXED_VALUE_CHARS",
    "SpanKind",
    "SpanRecord",
    "SpanStore",
    "StatusCode",
    "TraceSummary",
]

#: Attributes per span copied into the search table (span attributes first, then resource
#: attributes); the rest stay in the span's JSON but cannot be searched.
MAX_INDEXED_ATTRIBUTES = 64
#: Longer values (stack traces, SQL text) are not indexed: nobody searches for them verbatim.
MAX_INDEXED_VALUE_CHARS = 256
_MAX_SEARCH_LIMIT = 1000
_BATCH = 400  # ids per IN (...) list, well under SQLite's bound-parameter limit


class SpanKind(enum.IntEnum):
    """OTLP ``Span.SpanKind`` values."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(enum.IntEnum):
    """OTLP ``Status.StatusCode`` values."""

    UNSET = 0
    OK = 1
    ERROR = 2


@dataclass(frozen=True)
class SpanRecord:
    """One span as stored; times in Unix nanoseconds, ids as raw bytes."""

    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes | None
    service: str
    name: str
    kind: SpanKind
    start_time_unix_nano: int
    duration_ns: int
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    http_route: str | None = None
    http_method: str | None = None
    http_status_code: int | None = None
    scope_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    resource_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def end_time_unix_nano(self) -> int:
        return self.start_time_unix_nano + self.duration_ns


@dataclass(frozen=True)
class TraceSummary:
    """One search hit: a trace described by its root span (or earliest span if the root
    has not arrived) and by all the spans stored for it."""

    trace_id: bytes
    root_service: str
    root_name: str
    start_time_unix_nano: int
    duration_ns: int
    span_count: int
    error: bool


def attribute_text(value: Any) -> str | None:
    """The searchable text of a scalar attribute value, or None for other values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


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
        """Create the span tables and indexes if they do not exist."""
        span_metadata.create_all(self._engine)

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
        with self._engine.begin() as conn:
            seen = _stored_keys(conn, [(r.trace_id, r.span_id) for r in unique])
            new = [r for r in unique if (r.trace_id, r.span_id) not in seen] if seen else unique
            if new:
                _insert(conn, new)
        return new

    def delete_before(self, cut_unix_nano: int) -> int:
        """Retention: delete spans that ended before ``cut_unix_nano`` and their attribute
        index rows, in one transaction; returns how many spans went."""
        old = select(spans.c.trace_id, spans.c.span_id).where(
            spans.c.start_time_unix_nano < cut_unix_nano,  # served by the start index
            spans.c.start_time_unix_nano + spans.c.duration_ns < cut_unix_nano,
        )
        with self._engine.begin() as conn:
            conn.execute(
                delete(span_attributes).where(
                    tuple_(span_attributes.c.trace_id, span_attributes.c.span_id).in_(old)
                )
            )
            deleted = conn.execute(
                delete(spans).where(
                    spans.c.start_time_unix_nano < cut_unix_nano,
                    spans.c.start_time_unix_nano + spans.c.duration_ns < cut_unix_nano,
                )
            ).rowcount
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
        source = spans
        if attribute is not None:
            a = span_attributes.c
            source = spans.join(
                span_attributes, and_(a.trace_id == s.trace_id, a.span_id == s.span_id)
            )
            conditions += [a.key == attribute[0], a.value == attribute[1]]
        latest = func.max(s.start_time_unix_nano).label("latest")
        query = (
            select(s.trace_id, latest)
            .select_from(source)
            .where(*conditions)
            .group_by(s.trace_id)
            .order_by(desc("latest"), s.trace_id)
            .limit(limit)
        )
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
            records = [_record(row) for row in conn.execute(query)]
        return records or None


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


def _stored_keys(conn, keys: list[tuple[bytes, bytes]]) -> set[tuple[bytes, bytes]]:
    """Which of the (trace id, span id) pairs are stored: one primary-key lookup each, joined
    from a VALUES list (``(a, b) IN (VALUES ...)`` would scan the whole key on SQLite)."""
    sql = span_sql(conn.dialect)
    seen: set[tuple[bytes, bytes]] = set()
    for i in range(0, len(keys), _BATCH):
        chunk = keys[i : i + _BATCH]
        params = tuple(x for key in chunk for x in key)
        found = conn.exec_driver_sql(sql.stored_keys(len(chunk)), params)
        seen.update((bytes(t), bytes(s)) for t, s in found)
    return seen


def _insert(conn, new: list[SpanRecord]) -> None:
    """Insert spans and their searchable attributes as plain tuples through the DBAPI
    cursor's executemany (SQLAlchemy's per-row parameter processing is most of the cost)."""
    sql = span_sql(conn.dialect)
    json = sql.json
    empty = json([])
    # Spans of one resource share its attributes dict: encode and index it once.
    resources: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
    rows = []
    attribute_rows: list[tuple[bytes, bytes, str, str]] = []
    for r in new:
        resource = resources.get(id(r.resource_attributes))
        if resource is None:
            res = r.resource_attributes
            resource = resources[id(res)] = (json(res), _indexed_pairs(res))
        rows.append(
            (
                *(r.trace_id, r.span_id, r.parent_span_id, r.service, r.name, int(r.kind)),
                *(r.start_time_unix_nano, r.duration_ns, int(r.status_code), r.status_message),
                *(r.http_route, r.http_method, r.http_status_code, r.scope_name),
                json(r.attributes),
                json(r.events) if r.events else empty,
                json(r.links) if r.links else empty,
                resource[0],
            )
        )
        _add_indexed(attribute_rows, r, resource[1])
    conn.exec_driver_sql(sql.insert_span, rows)
    if attribute_rows:
        conn.exec_driver_sql(sql.insert_attribute, attribute_rows)


def _indexed_pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The first :data:`MAX_INDEXED_ATTRIBUTES` indexable (key, text) pairs of a dict."""
    out = []
    for key, value in values.items():
        text = value if type(value) is str else attribute_text(value)
        if text is not None and len(text) <= MAX_INDEXED_VALUE_CHARS:
            out.append((key, text))
            if len(out) >= MAX_INDEXED_ATTRIBUTES:
                break
    return out


def _add_indexed(rows: list, r: SpanRecord, resource: list[tuple[str, str]]) -> None:
    """Append the search-table rows of a span: its own searchable attributes, then its
    resource's (:func:`_indexed_pairs`), at most ``MAX_INDEXED_ATTRIBUTES`` in all."""
    trace_id, span_id = r.trace_id, r.span_id
    own = _indexed_pairs(r.attributes) if r.attributes else []
    rows += [(trace_id, span_id, k, v) for k, v in own]
    room = MAX_INDEXED_ATTRIBUTES - len(own)
    if room > 0 and resource:
        if own:
            keys = {k for k, _ in own}
            resource = [(k, v) for k, v in resource if k not in keys]
        rows += [(trace_id, span_id, k, v) for k, v in resource[:room]]


def _record(row) -> SpanRecord:
    parent = row.parent_span_id
    return SpanRecord(
        trace_id=bytes(row.trace_id),
        span_id=bytes(row.span_id),
        parent_span_id=None if parent is None else bytes(parent),
        service=row.service,
        name=row.name,
        kind=SpanKind(row.kind),
        start_time_unix_nano=int(row.start_time_unix_nano),
        duration_ns=int(row.duration_ns),
        status_code=StatusCode(row.status_code),
        status_message=row.status_message,
        http_route=row.http_route,
        http_method=row.http_method,
        http_status_code=row.http_status_code,
        scope_name=row.scope_name,
        attributes=row.attributes,
        events=row.events,
        links=row.links,
        resource_attributes=row.resource_attributes,
    )
