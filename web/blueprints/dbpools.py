"""DB pools (``/dbpools``): saturation over time, time above 80%, checkout wait p95 and
timeouts per engine, from what ``sloscope.integrations.sqlalchemy`` exports."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort

from web.area import Area, area_blueprint
from web.charts.dbpools import pool_palette, saturation_chart, timeout_chart, wait_chart
from web.context import web_context
from web.pages import current_time_range, page
from web.queries.dbpools import SATURATED, dbpools_view
from web.queries.promql import QueryError
from web.queries.raw_samples import count_step_ms

__all__ = ["AREA", "create_blueprint"]

NO_DATA = (
    "No connection pool metrics in this range: db_client_connection_pool_* come from "
    "sloscope.integrations.sqlalchemy.instrument_engine() (checkout waits and timeouts need "
    "poolclass=TimedQueuePool) in an app scraped by the collector."
)


def _summary(sources, time_range) -> list[str]:
    tr = time_range
    view = dbpools_view(sources, tr.start_ms, tr.end_ms, tr.step_ms, charts=False)
    if not view.pools:
        return ["no connection pool metrics yet"]
    lines = [f"{len(view.pools)} pool{'s' if len(view.pools) != 1 else ''}"]
    peaks = [p for p in view.pools if p.saturation_peak is not None]
    if peaks:
        top = max(peaks, key=lambda p: p.saturation_peak or 0.0)
        lines[0] += f"; peak saturation {100 * (top.saturation_peak or 0):.0f}% ({top.engine})"
    timeouts = sum(p.timeouts for p in view.pools)
    if timeouts:
        lines.append(f"{timeouts:.0f} checkout timeout(s) in the {time_range.label}")
    return lines


AREA = Area(
    key="dbpools",
    title="DB pools",
    endpoint="web_dbpools.overview",
    order=40,
    description="Connection pool saturation, checkout wait and timeouts per engine.",
    summary=_summary,
)


def _model() -> dict[str, Any]:
    tr = current_time_range()
    view = dbpools_view(web_context().sources, tr.start_ms, tr.end_ms, tr.step_ms)
    if not view.pools:
        return {"pools": [], "figures": None, "threshold": SATURATED, "empty_reason": NO_DATA}
    start, end, step = tr.start_ms, tr.end_ms, tr.step_ms
    names = {s.name for s in (*view.saturation_series, *view.wait_series, *view.timeout_series)}
    palette = pool_palette(sorted(names))
    figures = {
        "saturation": saturation_chart(view.saturation_series, SATURATED, start, end, palette)
        if view.saturation_series
        else None,
        "wait": wait_chart(view.wait_series, start, end, palette) if view.wait_series else None,
        "timeouts": timeout_chart(view.timeout_series, start, end, count_step_ms(step), palette)
        if view.timeout_series
        else None,
    }
    return {
        "pools": [asdict(p) for p in view.pools],
        "figures": figures,
        "threshold": SATURATED,
        "empty_reason": None,
    }


def create_blueprint() -> Blueprint:
    blueprint = area_blueprint("web_dbpools", __name__)

    @page(blueprint, "/dbpools", "dbpools/index.html")
    def overview():
        try:
            return _model()
        except QueryError as exc:
            abort(exc.status, description=exc.message)

    return blueprint
