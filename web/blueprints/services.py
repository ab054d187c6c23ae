"""Services: every service's RED figures (``/services``) and one service's routes
(``/services/<name>``), from its HTTP server metrics or, failing those, its spanmetrics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, request

from web.area import Area, area_blueprint
from web.charts.services import latency_chart, rate_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.promql import QueryError
from web.queries.red import METRICS, SPANMETRICS
from web.queries.services import list_services, service_rate_series, service_view

__all__ = ["AREA", "create_blueprint"]

SOURCE_KINDS = (METRICS.kind.value, SPANMETRICS.kind.value)
NO_DATA = (
    "No request metrics in this range: neither the HTTP server histogram "
    "(http_server_request_duration_seconds, from the sloscope SDK or OTLP HTTP metrics) nor "
    "spanmetrics (traces_span_metrics_*, from server spans sent to the collector)."
)


def _summary(sources, time_range) -> list[str]:
    services = list_services(sources, time_range.start_ms, time_range.end_ms)
    if not services:
        return ["no request metrics yet"]
    busiest = services[0]
    lines = [
        f"{len(services)} service{'s' if len(services) != 1 else ''}; busiest: "
        f"{busiest.name} at {busiest.stats.rate_per_s:.3g} req/s"
    ]
    failing = [s for s in services if s.stats.error_ratio]
    if failing:
        worst = max(failing, key=lambda s: s.stats.error_ratio or 0.0)
        lines.append(f"most errors: {worst.name}, {100 * (worst.stats.error_ratio or 0):.3g}%")
    return lines


AREA = Area(
    key="services",
    title="Services",
    endpoint="web_services.overview",
    order=20,
    description="Requests, errors and latency per service and route.",
    summary=_summary,
)


def _overview_model() -> dict[str, Any]:
    sources = web_context().sources
    tr = current_time_range()
    services = list_services(sources, tr.start_ms, tr.end_ms)
    figure = None
    if services:
        series = service_rate_series(sources, services, tr.start_ms, tr.end_ms, tr.step_ms)
        if series:
            figure = rate_chart(
                series, tr.start_ms, tr.end_ms, title="Requests per second by service"
            )
    return {
        "services": [asdict(s) for s in services],
        "figure": figure,
        "empty_reason": None if services else NO_DATA,
    }


def _service_model(name: str) -> dict[str, Any]:
    sources = web_context().sources
    tr = current_time_range()
    kind = request.args.get("source") or None
    if kind is not None and kind not in SOURCE_KINDS:
        abort(400, description=f"parameter 'source': {kind!r} is not one of metrics, spanmetrics")
    view = service_view(sources, name, kind, tr.start_ms, tr.end_ms, tr.step_ms)
    if view is None:
        where = f" in {kind}" if kind else ""
        abort(404, description=f"service {name!r} has no request metrics{where} in the {tr.label}")
    start, end = tr.start_ms, tr.end_ms
    figures = {
        "rate": rate_chart(view.rate_series, start, end, title="Requests per second by route"),
        "errors": rate_chart(
            view.error_series,
            start,
            end,
            title="Errors per second by route",
            unit="errors/s",
            errors=True,
        )
        if view.error_series
        else None,
        "latency": latency_chart(view.latency_series, start, end, title="Latency p50 / p95 / p99"),
        "route_p95": latency_chart(view.route_p95_series, start, end, title="p95 by route"),
    }
    return {"service": asdict(view), "figures": figures}


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_services", __name__)

    @page(blueprint, "/services", "services/index.html")
    def overview():
        try:
            return _overview_model()
        except QueryError as exc:
            abort(exc.status, description=exc.message)

    @page(blueprint, "/services/<path:name>", "services/service.html")
    def service(name: str):
        try:
            return _service_model(name)
        except QueryError as exc:
            abort(exc.status, description=exc.message)

    return blueprint
