"""The query explorer (``/explore``): a PromQL box, its result as a graph over the time
range and as a table at its end, errors as Prometheus reports them."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, request

from web.area import Area, area_blueprint
from web.charts import line_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.explore import explore
from web.queries.overview import series_count

__all__ = ["AREA", "create_blueprint"]

MAX_QUERY_CHARS = 10_000


def _summary(sources, time_range) -> list[str]:
    count = series_count(sources, time_range.start_ms, time_range.end_ms)
    return [f"{count} series with samples in the {time_range.label}"]


AREA = Area(
    key="explore",
    title="Explore",
    endpoint="web_explore.explore_page",
    order=90,
    description="Run PromQL over everything stored: metrics, RED metrics of spans, Web Vitals.",
    summary=_summary,
)


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_explore", __name__)

    @page(blueprint, "/explore", "explore/index.html")
    def explore_page():
        expr = request.args.get("query", "")
        time_range = current_time_range()
        model = {"query": expr, "result_type": "", "rows": [], "figure": None}
        model.update(notes=[], error=None)
        if not expr.strip():
            return model
        if len(expr) > MAX_QUERY_CHARS:
            error = f"query is longer than {MAX_QUERY_CHARS} characters"
            model["error"] = {"status": "error", "errorType": "bad_data", "error": error}
            return model, 400
        sources = web_context().sources
        start, end, step = time_range.start_ms, time_range.end_ms, time_range.step_ms
        found = explore(sources, expr, start, end, step)
        if found.error is not None:
            model["error"] = found.error.as_json()
            return model, found.error.status
        model.update(
            result_type=found.result_type,
            rows=[asdict(r) for r in found.rows],
            notes=found.notes,
            figure=line_chart(found.series, start, end) if found.series else None,
        )
        return model

    return blueprint
