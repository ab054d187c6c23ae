"""Charts of the DB pools page: saturation with the 80% line, checkout wait p95 and
checkout timeouts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.caches import count_bar_chart, step_text
from web.charts.services import latency_chart
from web.charts.style import COLORS, plot_text
from web.charts.timeseries import Threshold, line_chart
from web.queries.promql import SeriesPoints

__all__ = ["pool_palette", "saturation_chart", "timeout_chart", "wait_chart"]


def pool_palette(names: Sequence[str]) -> dict[str, str]:
    """One colour per pool, the same in every chart of the page (escaped names as keys)."""
    return {plot_text(name): COLORS[i % len(COLORS)] for i, name in enumerate(names)}


def _paint(figure: dict[str, Any], palette: dict[str, str]) -> dict[str, Any]:
    for trace in figure["data"]:
        color = palette.get(trace["name"])
        if color is None:
            continue
        if trace.get("type") == "bar":
            trace["marker"] = {"color": color}
        else:
            trace["line"] = {**trace.get("line", {}), "color": color}
    return figure


def saturation_chart(
    series: Sequence[SeriesPoints],
    threshold: float,
    start_ms: int,
    end_ms: int,
    palette: dict[str, str],
) -> dict[str, Any]:
    """Connections in use / capacity per pool (each scraped sample, or the peak per step
    over long ranges)."""
    figure = line_chart(
        series,
        start_ms,
        end_ms,
        title="Pool saturation (connections in use / capacity)",
        y_title="saturation",
        thresholds=[Threshold(threshold, f"saturated above {threshold:.0%}")],
        height=300,
    )
    figure["layout"]["yaxis"].update(tickformat=".0%", range=[0, 1.05], rangemode="normal")
    for trace in figure["data"]:
        trace["hovertemplate"] = trace["hovertemplate"].replace("%{y:.4~g}", "%{y:.1%}")
        if trace["line"].get("dash") is None:
            trace["line"] = {**trace["line"], "shape": "hv", "width": 2}
    return _paint(figure, palette)


def wait_chart(
    series: Sequence[SeriesPoints], start_ms: int, end_ms: int, palette: dict[str, str]
) -> dict[str, Any]:
    """Checkout wait p95 per pool, in milliseconds."""
    return _paint(latency_chart(series, start_ms, end_ms, title="Checkout wait p95"), palette)


def timeout_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    bar_ms: int,
    palette: dict[str, str],
) -> dict[str, Any]:
    """Checkout timeouts per bar, stacked by pool."""
    figure = count_bar_chart(
        series,
        start_ms,
        end_ms,
        bar_ms,
        title=f"Checkout timeouts per {step_text(bar_ms)}",
        y_title="timeouts",
    )
    return _paint(figure, palette)
