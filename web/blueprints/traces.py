"""Traces: search (``/traces``) and one trace's waterfall (``/traces/<trace_id>``)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, request

from web.area import Area, area_blueprint
from web.charts import duration_scatter, waterfall_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.overview import span_calls
from web.queries.traces import (
    STATUSES,
    TraceFilter,
    TraceFilterError,
    get_trace,
    known_services,
    parse_trace_filter,
    search_traces,
)

__all__ = ["AREA", "create_blueprint"]


def _summary(sources, time_range) -> list[str]:
    if not sources.has_traces:
        return ["no span store: this server runs without the collector"]
    calls = span_calls(sources, time_range.start_ms, time_range.end_ms)
    return [
        f"about {calls.calls:.0f} entry spans in the {time_range.label}, "
        f"{calls.errors:.0f} of them failed"
    ]


AREA = Area(
    key="traces",
    title="Traces",
    endpoint="web_traces.search",
    order=60,
    description="Find traces by service, operation, duration, status or attribute.",
    summary=_summary,
)


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_traces", __name__)

    @page(blueprint, "/traces", "traces/search.html")
    def search():
        sources = web_context().sources
        time_range = current_time_range()
        model = {
            "filter": asdict(TraceFilter()),
            "statuses": list(STATUSES),
            "services": known_services(sources),
            "traces_stored": sources.has_traces,
            "traces": [],
            "figure": None,
            "error": None,
        }
        try:
            search_filter = parse_trace_filter(request.args)
        except TraceFilterError as exc:
            model["filter"] = {k: request.args.get(k, "") for k in model["filter"]}
            model["error"] = {"status": "error", "errorType": "bad_data", "error": str(exc)}
            return model, 400
        start, end = time_range.start_ms, time_range.end_ms
        rows = search_traces(sources, search_filter, start, end)
        model.update(
            filter=asdict(search_filter),
            traces=[asdict(r) for r in rows],
            figure=duration_scatter(rows, start, end) if rows else None,
        )
        return model

    @page(blueprint, "/traces/<trace_id>", "traces/trace.html")
    def trace(trace_id: str):
        try:
            found = get_trace(web_context().sources, trace_id)
        except ValueError as exc:
            abort(400, description=f"invalid trace id: {exc}")
        if found is None:
            abort(404, description=f"trace {trace_id} not found")
        return {
            "trace": asdict(found),
            "figure": waterfall_chart(found.spans, found.duration_ms),
        }

    return blueprint
