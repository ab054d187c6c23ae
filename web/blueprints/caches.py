"""Caches (``/caches``): hit ratio per cache and level over time, misses, errors and L2
(Redis) outages, from what ``sloscope.cache.MultiLevelCache`` exports."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort

from web.area import Area, area_blueprint
from web.charts.caches import hit_ratio_chart, l2_error_chart, miss_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.caches import caches_view
from web.queries.promql import QueryError
from web.queries.raw_samples import count_step_ms

__all__ = ["AREA", "create_blueprint"]

NO_DATA = (
    "No cache metrics in this range: cache_requests_total comes from sloscope.cache."
    "MultiLevelCache in an app that runs sloscope.init() and is scraped by the collector."
)


def _summary(sources, time_range) -> list[str]:
    tr = time_range
    view = caches_view(sources, tr.start_ms, tr.end_ms, tr.step_ms, charts=False)
    if not view.caches:
        return ["no cache metrics yet"]
    measured = [c for c in view.caches if c.hit_ratio is not None]
    lines = [f"{len(view.caches)} cache{'s' if len(view.caches) != 1 else ''}"]
    if measured:
        worst = min(measured, key=lambda c: c.hit_ratio or 0.0)
        lines[0] += f"; lowest hit ratio: {worst.cache}, {100 * (worst.hit_ratio or 0):.3g}%"
    if view.outages:
        lines.append(f"{len(view.outages)} L2 (Redis) outage(s) in the {time_range.label}")
    return lines


AREA = Area(
    key="caches",
    title="Caches",
    endpoint="web_caches.overview",
    order=30,
    description="Hit ratio per cache and level, misses, errors and Redis outages.",
    summary=_summary,
)


def _model() -> dict[str, Any]:
    tr = current_time_range()
    view = caches_view(web_context().sources, tr.start_ms, tr.end_ms, tr.step_ms)
    if not view.caches:
        return {"caches": [], "outages": [], "figures": None, "empty_reason": NO_DATA}
    spans = [(o.start_ms, o.end_ms) for o in view.outages]
    figures = {
        "hit_ratio": hit_ratio_chart(view.ratio_series, spans, tr.start_ms, tr.end_ms),
        "misses": miss_chart(view.miss_series, tr.start_ms, tr.end_ms),
        "l2_errors": l2_error_chart(
            view.error_series, tr.start_ms, tr.end_ms, count_step_ms(tr.step_ms)
        )
        if view.error_series
        else None,
    }
    return {
        "caches": [asdict(c) for c in view.caches],
        "outages": [asdict(o) for o in view.outages],
        "figures": figures,
        "empty_reason": None,
    }


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_caches", __name__)

    @page(blueprint, "/caches", "caches/index.html")
    def overview():
        try:
            return _model()
        except QueryError as exc:
            abort(exc.status, description=exc.message)

    return blueprint
