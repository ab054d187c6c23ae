"""Trace search and trace view as JSON (a Flask blueprint), for the dashboard's trace list
and waterfall.

``GET /api/traces/search`` takes Tempo/Jaeger-style parameters: ``service``, ``operation``,
``minDuration``/``maxDuration`` as Go durations (``250ms``, ``1.5s``), ``status``
(``error``, ``ok``, ``unset``), ``tag=key=value``, ``start``/``end`` in Unix seconds (as
Tempo's search API; Jaeger uses microseconds) and ``limit`` (1..1000, default 20). It answers
``{"traces": [...]}`` with Tempo's field names. ``GET /api/traces/<trace_id>`` answers every
span of the trace. Errors are ``{"error": message}`` with 400 (naming the parameter) or 404.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from collector.store.spans import SpanRecord, SpanStore, StatusCode, TraceSummary, parse_trace_id

__all__ = ["create_trace_blueprint", "parse_go_duration_ns"]

_MAX_LIMIT = 1000
_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_GO_DURATION = re.compile(r"((?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_STATUS = {"error": StatusCode.ERROR, "ok": StatusCode.OK, "unset": StatusCode.UNSET}


class _BadParam(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"invalid parameter {name!r}: {message}")


def parse_go_duration_ns(text: str) -> int:
    """A non-negative Go duration (``300ms``, ``1h2m``, ``1.5s``) in nanoseconds.

    >>> parse_go_duration_ns("1.5s")
    1500000000

    :raise ValueError: for anything else, including a bare number.
    """
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration such as 250ms or 1.5s")
    return round(sum(float(n) * _UNITS_NS[u] for n, u in _GO_PART.findall(text)))


def _seconds_to_ns(name: str, text: str) -> int:
    try:
        seconds = float(text)
    except ValueError:
        raise _BadParam(name, f"{text!r} is not Unix seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise _BadParam(name, f"{text!r} is not Unix seconds")
    return int(seconds * 1e9)


def _search_args(args) -> dict[str, Any]:
    """The keyword arguments of :meth:`SpanStore.search` from the query string."""
    out: dict[str, Any] = {}
    for name, key in (("service", "service"), ("operation", "operation")):
        if args.get(name):
            out[key] = args[name]
    for name, key in (("minDuration", "min_duration_ns"), ("maxDuration", "max_duration_ns")):
        if args.get(name):
            try:
                out[key] = parse_go_duration_ns(args[name])
            except ValueError as exc:
                raise _BadParam(name, str(exc)) from None
    if args.get("status"):
        if args["status"].lower() not in _STATUS:
            raise _BadParam("status", "must be one of error, ok, unset")
        out["status"] = _STATUS[args["status"].lower()]
    if args.get("tag"):
        key, sep, value = args["tag"].partition("=")
        if not sep or not key:
            raise _BadParam("tag", "must be key=value")
        out["attribute"] = (key, value)
    for name, key in (("start", "start_ns"), ("end", "end_ns")):
        if args.get(name):
            out[key] = _seconds_to_ns(name, args[name])
    if out.get("start_ns", 0) > out.get("end_ns", math.inf):
        raise _BadParam("end", "is before start")
    limit = args.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= _MAX_LIMIT:
        raise _BadParam("limit", f"must be an integer within 1..{_MAX_LIMIT}")
    out["limit"] = int(limit)
    return out


def summary_json(summary: TraceSummary) -> dict[str, Any]:
    """A search hit with Tempo's field names (``durationMs`` kept exact as a float)."""
    return {
        "traceID": summary.trace_id.hex(),
        "rootServiceName": summary.root_service,
        "rootTraceName": summary.root_name,
        "startTimeUnixNano": str(summary.start_time_unix_nano),
        "durationMs": summary.duration_ns / 1e6,
        "spanCount": summary.span_count,
        "error": summary.error,
    }


def span_json(span: SpanRecord) -> dict[str, Any]:
    """One span for the waterfall; ids in hex, nanosecond times as strings (as OTLP/JSON)."""
    return {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "parentSpanId": span.parent_span_id.hex() if span.parent_span_id else "",
        "serviceName": span.service,
        "name": span.name,
        "kind": f"SPAN_KIND_{span.kind.name}",
        "startTimeUnixNano": str(span.start_time_unix_nano),
        "endTimeUnixNano": str(span.end_time_unix_nano),
        "durationNanos": str(span.duration_ns),
        "status": {"code": f"STATUS_CODE_{span.status_code.name}", "message": span.status_message},
        "httpRoute": span.http_route,
        "httpMethod": span.http_method,
        "httpStatusCode": span.http_status_code,
        "scopeName": span.scope_name,
        "attributes": span.attributes,
        "events": span.events,
        "links": span.links,
        "resource": span.resource_attributes,
    }


def create_trace_blueprint(span_store: SpanStore) -> Blueprint:
    """The blueprint; register it on the app serving the dashboard's JSON APIs.

    >>> from flask import Flask
    >>> from sqlalchemy import create_engine
    >>> spans_db = SpanStore(create_engine("sqlite://"))
    >>> spans_db.create()
    >>> app = Flask(__name__)
    >>> app.register_blueprint(create_trace_blueprint(spans_db))
    >>> app.test_client().get("/api/traces/search?limit=0").status_code
    400
    """
    blueprint = Blueprint("traces", __name__)

    @blueprint.get("/api/traces/search")
    def search() -> ResponseReturnValue:
        try:
            kwargs = _search_args(request.args)
        except _BadParam as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(traces=[summary_json(s) for s in span_store.search(**kwargs)])

    @blueprint.get("/api/traces/<trace_id>")
    def trace(trace_id: str) -> ResponseReturnValue:
        try:
            parse_trace_id(trace_id)
        except ValueError as exc:
            return jsonify(error=f"invalid parameter 'trace_id': {exc}"), 400
        found = span_store.get_trace(trace_id.lower())
        if found is None:
            return jsonify(error=f"trace {trace_id} not found"), 404
        return jsonify(traceID=trace_id.lower(), spans=[span_json(s) for s in found])

    return blueprint
