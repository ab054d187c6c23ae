"""RUM: Web Vitals per page and device class as CrUX shows them, JavaScript errors and the
slowest API calls from browsers (``/rum``, twin ``/api/ui/rum``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, request

from collector.convert.web_vitals import VITALS
from web.area import Area, area_blueprint
from web.charts.rum import js_error_chart, vital_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.rum import (
    VITAL_ORDER,
    PageVitals,
    VitalStat,
    api_calls,
    js_error_counts,
    js_error_messages,
    js_error_trend,
    page_vitals,
    rum_apps,
    vital_trend,
    vital_units,
)

__all__ = ["AREA", "create_blueprint"]


def _summary(sources, time_range) -> list[str]:
    rows = page_vitals(sources, time_range.start_ms, time_range.end_ms)
    pages = [r for r in rows if r.device_class == "all"]
    if not pages:
        return [f"no Web Vitals in the {time_range.label}"]
    poor = sum(1 for r in pages if "LCP" in r.vitals and r.vitals["LCP"].rating == "poor")
    return [f"{len(pages)} pages measured, {poor} with a poor LCP p75"]


AREA = Area(
    key="rum",
    title="RUM",
    endpoint="web_rum.overview",
    order=50,
    description="Web Vitals per page and device, JS errors, slow API calls from browsers.",
    summary=_summary,
)


def format_vital(value: float | None, unit: str) -> str:
    """A p75 as PageSpeed Insights prints it: ``850 ms``, ``2.1 s``, CLS ``0.08``.

    >>> format_vital(0.85, "s"), format_vital(2.134, "s"), format_vital(0.0812, "")
    ('850 ms', '2.1 s', '0.08')
    """
    if value is None:
        return "–"
    if unit != "s":
        return f"{value:.2f}"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _vital_json(stat: VitalStat) -> dict[str, Any]:
    shares = (stat.good, stat.needs_improvement, stat.poor)
    percents = [round(100 * s, 1) for s in shares]
    return {
        **asdict(stat),
        "p75_text": format_vital(stat.p75, stat.unit),
        "percents": percents,
        "good_text": format_vital(stat.good_threshold, stat.unit),
        "poor_text": format_vital(stat.poor_threshold, stat.unit),
    }


def _pages_json(rows: list[PageVitals]) -> list[dict[str, Any]]:
    """Rows grouped by page: ``{"app", "page", "devices": [{"device_class", "vitals"}]}``."""
    pages: list[dict[str, Any]] = []
    for row in rows:
        if not pages or (pages[-1]["app"], pages[-1]["page"]) != (row.app, row.page):
            pages.append({"app": row.app, "page": row.page, "devices": []})
        vitals = {name: _vital_json(stat) for name, stat in row.vitals.items()}
        pages[-1]["devices"].append({"device_class": row.device_class, "vitals": vitals})
    return pages


def _trend_figure(sources, time_range, vital: str, app: str) -> dict | None:
    spec = VITALS[vital]
    series = vital_trend(
        sources, time_range.start_ms, time_range.end_ms, time_range.step_ms, vital, app
    )
    if not any(v is not None for s in series for v in s.values):
        return None
    unit = vital_units(vital)
    start, end = time_range.start_ms, time_range.end_ms
    return vital_chart(series, start, end, name=vital, unit=unit, good=spec.good, poor=spec.poor)


def _errors(sources, time_range, app: str) -> dict[str, Any]:
    start, end, step = time_range.start_ms, time_range.end_ms, time_range.step_ms
    counts = js_error_counts(sources, start, end, app)
    trend = js_error_trend(sources, start, end, step, app) if counts else []
    messages = js_error_messages(sources, start, end, app)
    return {
        "error_counts": [asdict(c) for c in counts],
        "error_total": sum(c.errors for c in counts),
        "error_figure": js_error_chart(trend, start, end) if trend else None,
        "error_messages": None if messages is None else [asdict(m) for m in messages],
    }


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_rum", __name__)

    @page(blueprint, "/rum", "rum/index.html")
    def overview():
        sources = web_context().sources
        time_range = current_time_range()
        apps = rum_apps(sources)
        app = request.args.get("app", "")
        vital = request.args.get("vital", "LCP").upper()
        error = None
        if vital not in VITAL_ORDER:
            message = f"vital: must be one of {', '.join(VITAL_ORDER)}"
            error = {"status": "error", "errorType": "bad_data", "error": message}
            vital = "LCP"
        start, end = time_range.start_ms, time_range.end_ms
        model = {
            "apps": apps,
            "app": app,
            "vital": vital,
            "vital_names": list(VITAL_ORDER),
            "pages": _pages_json(page_vitals(sources, start, end, app)),
            "figure": _trend_figure(sources, time_range, vital, app),
            "api_calls": [asdict(r) for r in api_calls(sources, start, end, app)],
            "error": error,
            **_errors(sources, time_range, app),
        }
        return (model, 400) if error else model

    return blueprint
