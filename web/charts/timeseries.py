"""Time-series charts: lines with threshold lines, and stacked areas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web.charts.style import THRESHOLD_COLOR, base_layout, plot_text
from web.queries.promql import SeriesPoints

__all__ = ["Threshold", "line_chart", "stacked_area_chart"]


@dataclass(frozen=True)
class Threshold:
    """A horizontal line drawn across the chart, e.g. a burn-rate tier's factor."""

    value: float
    label: str
    color: str = THRESHOLD_COLOR


def _trace(series: SeriesPoints, **extra: Any) -> dict[str, Any]:
    name = plot_text(series.name or "{}")
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": series.times_ms,
        "y": series.values,
        "line": {"width": 1.5},
        "hovertemplate": "%{y:.4~g}<extra>" + name + "</extra>",
        **extra,
    }


def _threshold_trace(threshold: Threshold, start_ms: int, end_ms: int) -> dict[str, Any]:
    label = plot_text(threshold.label)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": label,
        "x": [start_ms, end_ms],
        "y": [threshold.value, threshold.value],
        "line": {"dash": "dash", "width": 1.5, "color": threshold.color},
        "hovertemplate": f"{label}: %{{y:.4~g}}<extra></extra>",
    }


def line_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    *,
    title: str = "",
    y_title: str = "",
    thresholds: Sequence[Threshold] = (),
    height: int = 320,
) -> dict[str, Any]:
    """One line per series over ``[start_ms, end_ms]``, plus a dashed line per threshold.

    >>> s = SeriesPoints('up{job="api"}', {}, [0, 60_000], [1.0, None])
    >>> fig = line_chart([s], 0, 60_000, thresholds=[Threshold(0.5, "half")])
    >>> [t["name"] for t in fig["data"]]
    ['up{job="api"}', 'half']
    """
    data = [_trace(s, connectgaps=False) for s in series]
    data += [_threshold_trace(t, start_ms, end_ms) for t in thresholds]
    layout = base_layout(title, height=height, y_title=y_title)
    layout["xaxis"]["range"] = [start_ms, end_ms]
    layout["showlegend"] = len(data) <= 20
    return {"data": data, "layout": layout}


def stacked_area_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    *,
    title: str = "",
    y_title: str = "",
    height: int = 320,
) -> dict[str, Any]:
    """Series stacked on each other as filled areas (shares of a whole: pool states, hit
    and miss counts...). Gaps count as zero so the stack stays whole."""
    data = [
        _trace(
            SeriesPoints(s.name, s.labels, s.times_ms, [v or 0.0 for v in s.values]),
            stackgroup="one",
            line={"width": 0.5},
        )
        for s in series
    ]
    layout = base_layout(title, height=height, y_title=y_title)
    layout["xaxis"]["range"] = [start_ms, end_ms]
    return {"data": data, "layout": layout}
