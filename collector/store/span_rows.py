"""Span records as the parameter tuples of the span tables' statements (the write path's hot
loop), and the search-table keys of stored spans (for retention).

Spans of one resource share one attributes dict (the OTLP conversion builds it once per
``ResourceSpans``): it is encoded, hashed and indexed once per batch, not once per span.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collector.store.span_schema import SpanSql

if TYPE_CHECKING:  # pragma: no cover - import for annotations only
    from collector.store.span_model import SpanRecord

__all__ = [
    "MAX_INDEXED_ATTRIBUTES",
    "MAX_INDEXED_VALUE_CHARS",
    "SpanRows",
    "attribute_text",
    "indexed_pairs",
    "resource_id",
    "span_rows",
]

#: Attributes per span (and per resource) copied into the search tables; the rest stay in
#: the JSON but cannot be searched.
MAX_INDEXED_ATTRIBUTES = 64
#: Longer values (stack traces, SQL text) are not indexed: nobody searches for them verbatim.
MAX_INDEXED_VALUE_CHARS = 256


@dataclass
class SpanRows:
    """Parameter tuples for :class:`~collector.store.span_schema.SpanSql`'s statements."""

    spans: list[tuple] = field(default_factory=list)
    attributes: list[tuple[str, str, bytes, bytes]] = field(default_factory=list)
    resources: list[tuple[int, Any, int]] = field(default_factory=list)
    resource_attributes: list[tuple[str, str, int]] = field(default_factory=list)


def attribute_text(value: Any) -> str | None:
    """The searchable text of a scalar attribute value, or None for other values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def indexed_pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The first :data:`MAX_INDEXED_ATTRIBUTES` indexable (key, text) pairs of a dict."""
    out = []
    for key, value in values.items():
        text = value if type(value) is str else attribute_text(value)
        if text is not None and len(text) <= MAX_INDEXED_VALUE_CHARS:
            out.append((key, text))
            if len(out) >= MAX_INDEXED_ATTRIBUTES:
                break
    return out


def resource_id(attributes: dict[str, Any]) -> int:
    """A resource's key: a signed 64-bit hash of its attributes, independent of their order."""
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"), default=repr)
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def span_rows(sql: SpanSql, records: Sequence[SpanRecord]) -> SpanRows:
    """The rows storing ``records``: span rows, their attribute rows, and each resource once
    (with the latest end of its spans in the batch)."""
    json_of = sql.json
    empty, empty_object = json_of([]), json_of({})
    out = SpanRows()
    # id(resource dict) -> (resource id, index in out.resources); dicts outlive the loop.
    seen: dict[int, tuple[int, int]] = {}
    spans, attributes, resources = out.spans, out.attributes, out.resources
    for r in records:
        res = r.resource_attributes
        end = r.start_time_unix_nano + r.duration_ns
        known = seen.get(id(res))
        if known is None:
            rid = resource_id(res)
            known = seen[id(res)] = (rid, len(resources))
            resources.append((rid, json_of(res), end))
            out.resource_attributes += [(k, v, rid) for k, v in indexed_pairs(res)]
        elif resources[known[1]][2] < end:
            rid, at = known
            resources[at] = (rid, resources[at][1], end)
        trace_id, span_id, attrs = r.trace_id, r.span_id, r.attributes
        spans.append(
            (
                trace_id,
                span_id,
                r.parent_span_id,
                r.service,
                r.name,
                int(r.kind),
                r.start_time_unix_nano,
                r.duration_ns,
                int(r.status_code),
                r.status_message,
                r.http_route,
                r.http_method,
                r.http_status_code,
                r.scope_name,
                json_of(attrs) if attrs else empty_object,
                json_of(r.events) if r.events else empty,
                json_of(r.links) if r.links else empty,
                known[0],
            )
        )
        if attrs:
            attributes += [(k, v, trace_id, span_id) for k, v in indexed_pairs(attrs)]
    _merge_resources(out)
    return out


def _merge_resources(out: SpanRows) -> None:
    """One row per resource id: two dicts with equal contents hash alike."""
    if len({rid for rid, _, _ in out.resources}) == len(out.resources):
        return
    latest: dict[int, tuple[int, Any, int]] = {}
    for row in out.resources:
        if row[0] not in latest or latest[row[0]][2] < row[2]:
            latest[row[0]] = row
    out.resources = list(latest.values())
    out.resource_attributes = list(dict.fromkeys(out.resource_attributes))


def attribute_keys(
    stored: Iterable[tuple[bytes, bytes, dict[str, Any] | None]],
) -> list[tuple[str, str, bytes, bytes]]:
    """The search-table keys of stored spans given (trace_id, span_id, attributes): the
    rows :func:`span_rows` wrote for them, so retention deletes them by key."""
    return [
        (k, v, bytes(trace_id), bytes(span_id))
        for trace_id, span_id, attributes in stored
        if attributes
        for k, v in indexed_pairs(attributes)
    ]
