"""The home page (``/``): what is live right now, and every area with a short summary."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from flask import Blueprint, url_for

from web.area import Area, area_blueprint
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.overview import alert_counts, rule_counts, series_count, span_calls

__all__ = ["AREA", "create_blueprint"]

AREA = None  # the brand link leads home; no nav entry of its own
log = logging.getLogger("web")


def _status(sources, start_ms: int, end_ms: int) -> dict[str, Any]:
    calls = span_calls(sources, start_ms, end_ms)
    alerts = alert_counts(sources)
    rules = rule_counts(sources)
    return {
        "series": series_count(sources, start_ms, end_ms),
        "entry_spans": round(calls.calls),
        "failed_entry_spans": round(calls.errors),
        "traces_stored": sources.has_traces,
        "alerts": None if alerts is None else asdict(alerts),
        "rules": None if rules is None else asdict(rules),
    }


def _area_card(area: Area, sources, time_range) -> dict[str, Any]:
    lines: list[str] = []
    if area.summary is not None:
        try:
            lines = area.summary(sources, time_range)
        except Exception as exc:  # one broken summary must not take the home page down
            log.exception("summary of area %s failed", area.key)
            lines = [f"summary unavailable: {exc}"]
    return {
        "key": area.key,
        "title": area.title,
        "description": area.description,
        "url": url_for(area.endpoint, **time_range.query_args()),
        "summary": lines,
    }


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_home", __name__)

    @page(blueprint, "/", "home/index.html", twin_rule="/api/ui/home")
    def home():
        context = web_context()
        time_range = current_time_range()
        areas = sorted(context.areas, key=lambda a: (a.order, a.title))
        return {
            "status": _status(context.sources, time_range.start_ms, time_range.end_ms),
            "areas": [_area_card(a, context.sources, time_range) for a in areas],
        }

    return blueprint
