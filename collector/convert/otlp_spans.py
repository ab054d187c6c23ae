"""OTLP trace export requests to :class:`~collector.store.spans.SpanRecord` (pure).

Validation follows what the OTLP spec calls invalid: a trace id that is not 16 bytes or is
all zeros, a span id that is not 8 bytes or is all zeros, a parent span id present but not
8 bytes, and (ours) a span ending before it starts. Invalid spans are counted per reason and
reported in a ``partial_success`` message; the rest of the batch is kept.

HTTP semantic conventions of both generations are understood: ``http.route``;
``http.response.status_code`` (stable) or ``http.status_code`` (before v1.21);
``http.request.method`` (stable) or ``http.method``.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from collector.store.spans import SpanKind, SpanRecord, StatusCode

__all__ = ["MAX_ITEMS_PER_SPAN", "MAX_VALUE_CHARS", "ConversionResult", "convert_request"]

UNKNOWN_SERVICE = "unknown_service"  # the SDKs' own fallback when service.name is unset
#: Attributes, events and links kept per span (the SDKs' default limit is 128 too).
MAX_ITEMS_PER_SPAN = 128
#: String attribute values are cut to this many characters.
MAX_VALUE_CHARS = 4096
_STATUS_KEYS = ("http.response.status_code", "http.status_code")
_METHOD_KEYS = ("http.request.method", "http.method")
_KINDS = {int(kind): kind for kind in SpanKind}
_CODES = {int(code): code for code in StatusCode}
_ZERO_TRACE_ID, _ZERO_SPAN_ID = bytes(16), bytes(8)


@dataclass
class ConversionResult:
    """The valid spans of a request, and how many were rejected for which reason."""

    spans: list[SpanRecord] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    truncated: int = 0  # attributes, events or links dropped by the per-span limits

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def message(self) -> str:
        """The ``partial_success.error_message``: empty when nothing was rejected."""
        if not self.rejected:
            return ""
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.rejected.items()))
        return f"rejected {self.rejected_total} spans: {reasons}"


def convert_request(request: ExportTraceServiceRequest) -> ConversionResult:
    """Every span of ``request`` as a record, or a count of why it was rejected.

    >>> convert_request(ExportTraceServiceRequest()).spans
    []
    """
    result = ConversionResult()
    out = result.spans
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes, result)
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                problem = _problem(span)
                if problem:
                    result.rejected[problem] += 1
                else:
                    out.append(_record(span, service, scope, resource, result))
    return result


def _problem(span: Span) -> str | None:
    """Why a span is invalid, or None."""
    trace_id, span_id = span.trace_id, span.span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
        return "invalid trace_id"
    if len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
        return "invalid span_id"
    parent = span.parent_span_id
    if parent and len(parent) != 8:
        return "invalid parent_span_id"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "end before start"
    return None


def _record(
    span: Span, service: str, scope: str, resource: dict[str, Any], result: ConversionResult
) -> SpanRecord:
    # Positional arguments in field order: this runs once per span.
    attributes = _attributes(span.attributes, result) if span.attributes else {}
    if attributes:
        status = attributes.get(_STATUS_KEYS[0], attributes.get(_STATUS_KEYS[1]))
        method = attributes.get(_METHOD_KEYS[0], attributes.get(_METHOD_KEYS[1]))
        route = attributes.get("http.route")
    else:
        status = method = route = None
    span_status = span.status
    start = span.start_time_unix_nano
    parent = span.parent_span_id
    return SpanRecord(
        span.trace_id,
        span.span_id,
        parent if parent and parent != _ZERO_SPAN_ID else None,
        service,
        span.name,
        _KINDS.get(span.kind, SpanKind.UNSPECIFIED),
        start,
        span.end_time_unix_nano - start,
        _CODES.get(span_status.code, StatusCode.UNSET),
        span_status.message[:MAX_VALUE_CHARS],
        route if type(route) is str else None,
        method if type(method) is str else None,
        None if status is None else _status_code(status),
        scope,
        attributes,
        _events(span, result) if span.events else [],
        _links(span, result) if span.links else [],
        resource,
    )


def _status_code(value: Any) -> int | None:
    """An HTTP status code from an int or a numeric string (some SDKs send strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 1000 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 3:
        return int(value)
    return None


def _events(span: Span, result: ConversionResult) -> list[dict[str, Any]]:
    result.truncated += max(0, len(span.events) - MAX_ITEMS_PER_SPAN)
    return [
        {
            "time_unix_nano": event.time_unix_nano,
            "name": event.name[:MAX_VALUE_CHARS],
            "attributes": _attributes(event.attributes, result),
        }
        for event in span.events[:MAX_ITEMS_PER_SPAN]
    ]


def _links(span: Span, result: ConversionResult) -> list[dict[str, Any]]:
    result.truncated += max(0, len(span.links) - MAX_ITEMS_PER_SPAN)
    return [
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "attributes": _attributes(link.attributes, result),
        }
        for link in span.links[:MAX_ITEMS_PER_SPAN]
    ]


def _attributes(pairs: list[KeyValue], result: ConversionResult) -> dict[str, Any]:
    """OTLP key-values as a JSON-ready dict; the first value of a repeated key wins."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if len(out) >= MAX_ITEMS_PER_SPAN:
            result.truncated += 1
            continue
        key = pair.key
        if key not in out:
            value = pair.value
            which = value.WhichOneof("value")
            if which == "string_value":
                out[key] = value.string_value[:MAX_VALUE_CHARS]
            elif which == "int_value" or which == "bool_value":
                out[key] = getattr(value, which)
            else:
                out[key] = _value(value, depth=0)
    return out


def _value(value: AnyValue, depth: int) -> Any:
    """An AnyValue as JSON: scalars as themselves, bytes as base64, nesting bounded."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value[:MAX_VALUE_CHARS]
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value[:MAX_VALUE_CHARS]).decode("ascii")
    if which in ("array_value", "kvlist_value") and depth >= 4:
        return None
    if which == "array_value":
        items = value.array_value.values[:MAX_ITEMS_PER_SPAN]
        return [_value(v, depth + 1) for v in items]
    if which == "kvlist_value":
        items = value.kvlist_value.values[:MAX_ITEMS_PER_SPAN]
        return {kv.key: _value(kv.value, depth + 1) for kv in items}
    if which == "double_value":
        number = value.double_value
        return number if number == number and abs(number) != float("inf") else str(number)
    return getattr(value, which)
