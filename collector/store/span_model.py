"""What a stored span is: :class:`SpanRecord` and its enums, and :class:`TraceSummary`.

Kept apart from :mod:`collector.store.spans` (the store) so the row builders and the schema
migration can use records without importing the store. Import them from either module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SpanKind", "SpanRecord", "StatusCode", "TraceSummary", "record_from_row"]


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


def record_from_row(row, resource: dict[str, Any]) -> SpanRecord:
    """A stored span row (any layout: the span columns are the same) as a SpanRecord."""
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
        resource_attributes=resource,
    )
