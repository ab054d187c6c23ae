"""Charts of the Services pages: requests, errors and latency over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import ERROR_COLOR
from web.charts.timeseries import line_chart, stacked_area_chart
from web.queries.promql import SeriesPoints

__all__ = [
    "latency_chart",
    "rate_chart",
    "to_milliseconds",
]

_QUANTILE_COLORS = {"p50": "#009E73", "p95": "#E69F00", "p99": "#D55E00"}


def to_milliseconds(series: Sequence[SeriesPoints]) -> list[SeriesPoints]:
    """Durations in seconds as milliseconds: "12.5 ms" reads better than "0.0125"."""
    return [
        SeriesPoints(
            s.name, s.labels, s.times_ms, [None if v is None else v * 1000 for v in s.values]
        )
        for s in series
    ]


def rate_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    *,
    title: str,
    unit: str = "requests/s",
    errors: bool = False,
) -> dict[str, Any]:
    """Per-second rates stacked (routes or services add up to the whole)."""
    figure = stacked_area_chart(series, start_ms, end_ms, title=title, y_title=unit, height=280)
    if errors and len(series) == 1:
        figure["data"][0]["line"]["color"] = ERROR_COLOR
    return figure


def latency_chart(
    series: Sequence[SeriesPoints], start_ms: int, end_ms: int, *, title: str
) -> dict[str, Any]:
    """Duration quantiles (or one quantile per route) in milliseconds."""
    figure = line_chart(
        to_milliseconds(series), start_ms, end_ms, title=title, y_title="ms", height=280
    )
    for trace in figure["data"]:
        color = _QUANTILE_COLORS.get(trace["name"])
        if color:
            trace["line"] = {**trace["line"], "color": color, "width": 2}
    return figure
