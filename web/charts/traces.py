"""Trace charts: the waterfall of one trace, and search hits as duration over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import COLORS, ERROR_COLOR, base_layout, plot_text
from web.queries.traces import SpanRow, TraceRow

__all__ = ["duration_scatter", "waterfall_chart"]

_ROW_PX = 24
_MAX_TICK_CHARS = 40


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TICK_CHARS else text[: _MAX_TICK_CHARS - 1] + "…"


def waterfall_chart(spans: Sequence[SpanRow], duration_ms: float) -> dict[str, Any]:
    """One bar per span from its start offset for its duration, one row each in tree order,
    coloured by service (one legend entry each); failed spans get a red outline.

    Each bar's ``customdata`` is its span id, so a click can jump to the span's details.
    """
    services = list(dict.fromkeys(s.service for s in spans))
    data = []
    for i, service in enumerate(services):
        rows = [(row, s) for row, s in enumerate(spans) if s.service == service]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": plot_text(service),
                "y": [row for row, _ in rows],
                "base": [s.offset_ms for _, s in rows],
                # A zero-length span still gets a sliver so it can be seen and clicked.
                "x": [max(s.duration_ms, duration_ms / 500 or 0.001) for _, s in rows],
                "customdata": [s.span_id for _, s in rows],
                "text": [f"{s.duration_ms:.3g} ms" for _, s in rows],
                "textposition": "auto",
                "hovertext": [plot_text(f"{s.service}: {s.name}") for _, s in rows],
                "hovertemplate": "%{hovertext}<br>start %{base:.3~f} ms, %{text}<extra></extra>",
                "marker": {
                    "color": COLORS[i % len(COLORS)],
                    "line": {
                        "color": [ERROR_COLOR if s.error else "rgba(0,0,0,0)" for _, s in rows],
                        "width": 2,
                    },
                },
            }
        )
    layout = base_layout(height=max(160, 70 + _ROW_PX * len(spans)))
    layout.update(hovermode="closest", barmode="overlay", bargap=0.25)
    layout["legend"] = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
    layout["margin"] = {"l": 260, "r": 16, "t": 32, "b": 40}
    layout["xaxis"] = {
        "title": {"text": "ms since the trace started"},
        "range": [0, max(duration_ms, 0.001) * 1.02],
        "gridcolor": "#eef0f3",
        "zeroline": False,
    }
    layout["yaxis"] = {
        "autorange": "reversed",
        "tickmode": "array",
        "tickvals": list(range(len(spans))),
        "ticktext": [plot_text(_short(s.name)) for s in spans],
        "automargin": True,
        "fixedrange": True,
    }
    return {"data": data, "layout": layout}


def duration_scatter(rows: Sequence[TraceRow], start_ms: int, end_ms: int) -> dict[str, Any]:
    """Search hits as points: start time against duration, failed traces in red. Each
    point's ``customdata`` is its trace id, so a click can open the trace."""
    data = []
    for error in (False, True):
        hits = [r for r in rows if r.error is error]
        if not hits:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "with errors" if error else "ok",
                "x": [r.start_ms for r in hits],
                "y": [r.duration_ms for r in hits],
                "customdata": [r.trace_id for r in hits],
                "hovertext": [plot_text(f"{r.root_service}: {r.root_name}") for r in hits],
                "hovertemplate": "%{hovertext}<br>%{y:.4~g} ms<extra></extra>",
                "marker": {"size": 8, "color": ERROR_COLOR if error else COLORS[0]},
            }
        )
    layout = base_layout(height=240, y_title="duration (ms)")
    layout["hovermode"] = "closest"
    layout["legend"] = {"orientation": "h", "y": 1.02, "yanchor": "bottom"}
    layout["legend"].update(x=1, xanchor="right")
    layout["xaxis"]["range"] = [start_ms, end_ms]
    return {"data": data, "layout": layout}
