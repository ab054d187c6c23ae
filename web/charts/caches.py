"""Charts of the Caches page: hit ratio per cache and level (L2 outages shaded), misses of
every level, and failed L2 calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import COLORS, ERROR_COLOR, base_layout, plot_text
from web.charts.timeseries import Threshold, line_chart
from web.queries.promql import SeriesPoints

__all__ = [
    "HIT_RATIO_ALERT",
    "count_bar_chart",
    "hit_ratio_chart",
    "l2_error_chart",
    "miss_chart",
    "step_text",
]

#: The shipped CacheHitRatioLow alert's threshold.
HIT_RATIO_ALERT = 0.8


def step_text(step_ms: int) -> str:
    """``15 s``, ``2 min``, ``3 h``: the chart step as a reader says it."""
    seconds = step_ms // 1000
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _outage_shapes(spans: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": start,
            "x1": end,
            "y0": 0,
            "y1": 1,
            "fillcolor": ERROR_COLOR,
            "opacity": 0.12,
            "line": {"width": 0},
            "layer": "below",
        }
        for start, end in spans
    ]


def hit_ratio_chart(
    series: Sequence[SeriesPoints],
    outages: Sequence[tuple[int, int]],
    start_ms: int,
    end_ms: int,
) -> dict[str, Any]:
    """Hit ratio (0..1, shown as %) per cache and level; L2 outages as red bands."""
    title = "Hit ratio per cache and level" + (" (red: L2 outages)" if outages else "")
    figure = line_chart(
        series,
        start_ms,
        end_ms,
        title=title,
        y_title="hit ratio",
        thresholds=[Threshold(HIT_RATIO_ALERT, "alert below 80%")],
        height=300,
    )
    figure["layout"]["yaxis"].update(tickformat=".0%", range=[0, 1.05], rangemode="normal")
    for trace in figure["data"]:
        trace["hovertemplate"] = trace["hovertemplate"].replace("%{y:.4~g}", "%{y:.2%}")
    # Very short outages still show: a band at least half a percent of the range wide.
    least = (end_ms - start_ms) // 200
    widened = [(s, max(e, s + least)) for s, e in outages]
    figure["layout"]["shapes"] = _outage_shapes(widened)
    return figure


def miss_chart(series: Sequence[SeriesPoints], start_ms: int, end_ms: int) -> dict[str, Any]:
    """Lookups per second that missed every level (each one went to the loader)."""
    return line_chart(
        series,
        start_ms,
        end_ms,
        title="Lookups missing every level (to the loader)",
        y_title="misses/s",
        height=300,
    )


def count_bar_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    bar_ms: int,
    *,
    title: str,
    y_title: str,
) -> dict[str, Any]:
    """Event counts as stacked bars, each over the ``bar_ms`` that ends at its time."""
    data = []
    for i, s in enumerate(series):
        name = plot_text(s.name)
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": s.times_ms,
                "y": s.values,
                "width": bar_ms,
                "offset": -bar_ms,
                "marker": {"color": COLORS[i % len(COLORS)]},
                "hovertemplate": "%{y:.4~g}<extra>" + name + "</extra>",
            }
        )
    layout = base_layout(title, height=300, y_title=y_title)
    layout["xaxis"]["range"] = [start_ms, end_ms]
    layout["barmode"] = "stack"
    layout["hovermode"] = "closest"
    return {"data": data, "layout": layout}


def l2_error_chart(
    series: Sequence[SeriesPoints], start_ms: int, end_ms: int, bar_ms: int
) -> dict[str, Any]:
    """Failed or skipped L2 (Redis) calls per bar, stacked by cache and reason."""
    return count_bar_chart(
        series,
        start_ms,
        end_ms,
        bar_ms,
        title=f"Failed L2 calls per {step_text(bar_ms)}",
        y_title="calls",
    )
