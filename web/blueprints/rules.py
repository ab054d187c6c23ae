"""Rules: every rule group the server evaluates, its rules, their last evaluation, health
and error (``/rules``, twin ``/api/ui/rules``)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, request

from web.area import Area, area_blueprint
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.overview import rule_counts
from web.queries.rules import HEALTH_FILTERS, rule_groups

__all__ = ["AREA", "create_blueprint"]


def _summary(sources, time_range) -> list[str]:
    counts = rule_counts(sources)
    if counts is None:
        return ["no rules: this server runs without the rules role"]
    failing = f", {counts.unhealthy} failing" if counts.unhealthy else ", all healthy"
    return [f"{counts.rules} rules in {counts.groups} groups{failing}"]


AREA = Area(
    key="rules",
    title="Rules",
    endpoint="web_rules.overview",
    order=80,
    description="Recording and alerting rules: last evaluation, health and errors.",
    summary=_summary,
)


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_rules", __name__)

    @page(blueprint, "/rules", "rules/index.html")
    def overview():
        time_range = current_time_range()
        health = request.args.get("health", "all") or "all"
        error = None
        if health not in HEALTH_FILTERS:
            message = f"health: must be one of {', '.join(HEALTH_FILTERS)}"
            error = {"status": "error", "errorType": "bad_data", "error": message}
            health = "all"
        name = request.args.get("name", "").strip()
        view = rule_groups(
            web_context().sources,
            time_range.start_ms,
            time_range.end_ms,
            health=health,
            name=name,
        )
        model = {
            **asdict(view),
            "health": health,
            "name": name,
            "health_filters": list(HEALTH_FILTERS),
            "error": error,
        }
        return (model, 400) if error else model

    return blueprint
