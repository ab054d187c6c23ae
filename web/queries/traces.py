"""Trace search and one trace's spans for the dashboard, through the span store.

The search form's fields are Jaeger's: service, operation, min/max duration as Go durations
(``250ms``, ``1.5s``), status, one ``key=value`` attribute, and a result limit; the time range
comes from the page's picker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.store.spans import SpanRecord, StatusCode, parse_trace_id
from collector.trace_api import parse_go_duration_ns
from web.queries import Sources

__all__ = [
    "SpanRow",
    "TraceFilter",
    "TraceFilterError",
    "TraceRow",
    "TraceView",
    "get_trace",
    "known_services",
    "parse_trace_filter",
    "search_traces",
]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
STATUSES = {"error": StatusCode.ERROR, "ok": StatusCode.OK, "unset": StatusCode.UNSET}


class TraceFilterError(ValueError):
    """A search field is malformed; the message names the field."""


@dataclass(frozen=True)
class TraceFilter:
    """A trace search, as typed into the form (empty strings mean "any")."""

    service: str = ""
    operation: str = ""
    min_duration: str = ""
    max_duration: str = ""
    status: str = ""
    attribute: str = ""  # key=value
    limit: int = DEFAULT_LIMIT

    def search_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`SpanStore.search` (time aside)."""
        out: dict[str, Any] = {"limit": self.limit}
        if self.service:
            out["service"] = self.service
        if self.operation:
            out["operation"] = self.operation
        for name, key in (("min_duration", "min_duration_ns"), ("max_duration", "max_duration_ns")):
            text = getattr(self, name)
            if text:
                out[key] = parse_go_duration_ns(text)
        if self.status:
            out["status"] = STATUSES[self.status]
        if self.attribute:
            key, _, value = self.attribute.partition("=")
            out["attribute"] = (key.strip(), value.strip())
        return out


def parse_trace_filter(args: Mapping[str, str]) -> TraceFilter:
    """The search in the URL parameters. :raise TraceFilterError: naming the bad field."""
    fields = {k: (args.get(k) or "").strip() for k in TraceFilter.__dataclass_fields__}
    for name in ("min_duration", "max_duration"):
        if fields[name]:
            try:
                parse_go_duration_ns(fields[name])
            except ValueError as exc:
                raise TraceFilterError(f"{name}: {exc}") from None
    if fields["status"] and fields["status"].lower() not in STATUSES:
        raise TraceFilterError("status: must be one of error, ok, unset")
    key, sep, _ = fields["attribute"].partition("=")
    if fields["attribute"] and (not sep or not key.strip()):
        raise TraceFilterError("attribute: must be key=value, e.g. http.route=/api/orders")
    limit = fields.pop("limit") or str(DEFAULT_LIMIT)
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise TraceFilterError(f"limit: must be a whole number within 1..{MAX_LIMIT}")
    fields["status"] = fields["status"].lower()
    return TraceFilter(**fields, limit=int(limit))


@dataclass(frozen=True)
class TraceRow:
    """One search hit."""

    trace_id: str
    root_service: str
    root_name: str
    start_ms: float
    duration_ms: float
    span_count: int
    error: bool


def search_traces(
    sources: Sources, search: TraceFilter, start_ms: int, end_ms: int
) -> list[TraceRow]:
    """Traces with a span matching ``search`` that started within the range, newest first."""
    if sources.span_store is None:
        return []
    found = sources.span_store.search(
        **search.search_kwargs(), start_ns=start_ms * 1_000_000, end_ns=end_ms * 1_000_000
    )
    return [
        TraceRow(
            s.trace_id.hex(),
            s.root_service,
            s.root_name,
            s.start_time_unix_nano / 1e6,
            s.duration_ns / 1e6,
            s.span_count,
            s.error,
        )
        for s in found
    ]


@dataclass(frozen=True)
class SpanRow:
    """One span placed in its trace: offsets in ms from the trace's start, depth in the tree."""

    span_id: str
    parent_span_id: str
    service: str
    name: str
    kind: str
    offset_ms: float
    duration_ms: float
    depth: int
    error: bool
    status_message: str
    attributes: dict[str, str]
    resource: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TraceView:
    trace_id: str
    start_ms: float
    duration_ms: float
    services: list[str]
    spans: list[SpanRow]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _depths(records: list[SpanRecord]) -> dict[bytes, int]:
    """Depth of each span below its root; a span whose parent is missing counts as a root."""
    parents = {r.span_id: r.parent_span_id for r in records}
    depths: dict[bytes, int] = {}
    for r in records:
        depth, seen, parent = 0, {r.span_id}, r.parent_span_id
        while parent is not None and parent in parents and parent not in seen:
            seen.add(parent)
            depth += 1
            parent = parents[parent]
        depths[r.span_id] = depth
    return depths


def _tree_order(records: list[SpanRecord]) -> list[SpanRecord]:
    """Parents before their children, siblings by start time (a waterfall's order)."""
    ids = {r.span_id for r in records}
    children: dict[bytes | None, list[SpanRecord]] = {}
    for r in records:
        parent = r.parent_span_id if r.parent_span_id in ids else None
        children.setdefault(parent, []).append(r)
    ordered: list[SpanRecord] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        span = stack.pop()
        ordered.append(span)
        stack.extend(reversed(children.get(span.span_id, [])))
    placed = {r.span_id for r in ordered}  # spans caught in a parent cycle go last
    return ordered + [r for r in records if r.span_id not in placed]


def get_trace(sources: Sources, trace_id: str) -> TraceView | None:
    """Every span of a trace in waterfall order; None if unknown.

    :raise ValueError: if ``trace_id`` is not 32 hex digits.
    """
    parse_trace_id(trace_id)
    if sources.span_store is None:
        return None
    records = sources.span_store.get_trace(trace_id.lower())
    if not records:
        return None
    start = min(r.start_time_unix_nano for r in records)
    end = max(r.end_time_unix_nano for r in records)
    depths = _depths(records)
    spans = [_span_row(r, start, depths[r.span_id]) for r in _tree_order(records)]
    services = sorted({r.service for r in records})
    return TraceView(trace_id.lower(), start / 1e6, (end - start) / 1e6, services, spans)


def _span_row(r: SpanRecord, trace_start_ns: int, depth: int) -> SpanRow:
    events = [
        {
            "name": str(e.get("name", "")),
            "offset_ms": (int(e.get("time_unix_nano") or trace_start_ns) - trace_start_ns) / 1e6,
            "attributes": {k: _text(v) for k, v in (e.get("attributes") or {}).items()},
        }
        for e in r.events
    ]
    return SpanRow(
        r.span_id.hex(),
        r.parent_span_id.hex() if r.parent_span_id else "",
        r.service,
        r.name,
        r.kind.name.lower(),
        (r.start_time_unix_nano - trace_start_ns) / 1e6,
        r.duration_ns / 1e6,
        depth,
        r.status_code is StatusCode.ERROR,
        r.status_message,
        {k: _text(v) for k, v in r.attributes.items()},
        {k: _text(v) for k, v in r.resource_attributes.items()},
        events,
    )


def known_services(sources: Sources) -> list[str]:
    """Services that sent entry spans (from the spanmetrics series), for the search form."""
    from collector.store.matchers import Matcher

    calls = Matcher.equal("__name__", "traces_span_metrics_calls_total")
    return sources.querier.label_values("service_name", [calls])
