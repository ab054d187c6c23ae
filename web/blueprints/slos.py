"""SLOs: the overview of every SLO (``/slos``) and one SLO in detail (``/slos/<sloth_id>``):
budget, burn rates against each alert tier, forecasts, alerts, and why it is burning."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, request

from slo.compile.windows import format_duration
from web.area import Area, area_blueprint
from web.blueprints._slo_detail import detail_model
from web.blueprints._slo_listing import (
    SORT_KEYS,
    ListingError,
    group_rows,
    label_choices,
    parse_listing,
)
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.slo_alerts import slo_alerts
from web.queries.slo_burn import human_duration
from web.queries.slos import OVERVIEW_WINDOWS_MS, find_slo, slo_summaries

__all__ = ["AREA", "create_blueprint"]

NO_SLOS = "no SLOs configured: list SLO spec files under slo.files in sloscope.yml"


def _summary(sources, time_range) -> list[str]:
    if not sources.slos:
        return [NO_SLOS]
    end = time_range.end_ms
    rows = slo_summaries(sources, sources.slos, end, slo_alerts(sources, end))
    firing = sum(r.alert_state == "firing" for r in rows)
    spent = sum(r.budget_remaining is not None and r.budget_remaining <= 0 for r in rows)
    return [
        f"{len(rows)} SLO{'s' if len(rows) != 1 else ''}, {firing} with a firing burn-rate alert",
        f"{spent} with the error budget spent",
    ]


AREA = Area(
    key="slos",
    title="SLOs",
    endpoint="web_slos.overview",
    order=10,
    description="Objectives, error budgets and burn rates, and why an SLO is burning.",
    summary=_summary,
)


def percent(value: float | None, digits: int = 2) -> str:
    """``99.95%``; ``–`` for no data."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{digits}f}%"


def objective_percent(value: float) -> str:
    """An objective as written: ``99.9%``, ``99.95%``, ``90%``."""
    return f"{value * 100:.6g}%"


def burn(value: float | None) -> str:
    """A burn rate: ``14.4×``, ``0.02×``; ``–`` for no data."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}×" if value < 1000 else f"{value:,.0f}×"


def _register_filters(blueprint: Blueprint) -> None:
    blueprint.add_app_template_filter(percent, "slo_percent")
    blueprint.add_app_template_filter(objective_percent, "slo_objective")
    blueprint.add_app_template_filter(burn, "slo_burn")
    blueprint.add_app_template_filter(human_duration, "slo_duration")


def _overview_model() -> tuple[dict[str, Any], int]:
    sources = web_context().sources
    time_range = current_time_range()
    model: dict[str, Any] = {
        "configured": len(sources.slos),
        "no_slos_message": NO_SLOS,
        "windows": [format_duration(w) for w in OVERVIEW_WINDOWS_MS],
        "sort_keys": list(SORT_KEYS),
        "groups": [],
        "services": sorted({s.service for s in sources.slos}),
        "label_choices": [],
        "error": None,
    }
    try:
        listing = parse_listing(request.args)
    except ListingError as exc:
        model["listing"] = {k: request.args.get(k, "") for k in ("service", "q", "sort")}
        model["error"] = {"status": "error", "errorType": "bad_data", "error": str(exc)}
        return model, 400
    model["listing"] = listing.as_json()
    if not sources.slos:
        return model, 200
    end = time_range.end_ms
    rows = slo_summaries(sources, sources.slos, end, slo_alerts(sources, end))
    groups = group_rows(rows, listing)
    model.update(
        groups=groups,
        label_choices=label_choices(rows),
        totals={
            "slos": len(rows),
            "shown": sum(g["count"] for g in groups),
            "firing": sum(r.alert_state == "firing" for r in rows),
            "pending": sum(r.alert_state == "pending" for r in rows),
            "spent": sum(r.budget_remaining is not None and r.budget_remaining <= 0 for r in rows),
            "no_data": sum(r.data == "none" for r in rows),
        },
    )
    return model, 200


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_slos", __name__)
    _register_filters(blueprint)

    @page(blueprint, "/slos", "slos/index.html")
    def overview():
        return _overview_model()

    @page(blueprint, "/slos/<slo_id>", "slos/detail.html")
    def detail(slo_id: str):
        sources = web_context().sources
        slo = find_slo(sources, slo_id)
        if slo is None:
            abort(404, description=f"no SLO with id {slo_id!r} is configured")
        return detail_model(sources, slo, current_time_range())

    return blueprint
