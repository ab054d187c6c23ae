"""SLO charts: the budget burndown, the SLI against its objective, each alert tier's burn
rates against its factor (as Pyrra draws them), and "why is it burning", the service's
signals stacked on one shared time axis with the exemplar traces below them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import COLORS, ERROR_COLOR, THRESHOLD_COLOR, base_layout, plot_text
from web.charts.timeseries import Threshold, line_chart
from web.queries.promql import SeriesPoints

__all__ = ["Row", "burndown_chart", "signals_chart", "sli_chart", "tier_chart"]

_OK_COLOR = "#009E73"
_ROW_GAP = 0.045
_TICK_FORMATS = {"ratio": ".1%", "s": ".3~g", "burn": ".3~g"}
_HOVER_FORMATS = {"ratio": ".3%", "s": ".4~g", "burn": ".3~g"}
_UNITS = {"ratio": "", "s": " s", "burn": "×"}


def burndown_chart(
    times_ms: Sequence[int], remaining: Sequence[float | None], start_ms: int, end_ms: int
) -> dict[str, Any]:
    """Budget remaining (1 = untouched) from the period's start, filled down to zero, with
    a red line at 0 (spent)."""
    layout = base_layout(height=280, y_title="budget remaining")
    layout["xaxis"]["range"] = [start_ms, end_ms]
    layout["yaxis"].update(tickformat=".0%", rangemode="normal")
    layout["showlegend"] = False
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "budget remaining",
            "x": list(times_ms),
            "y": list(remaining),
            "fill": "tozeroy",
            "line": {"width": 2, "color": COLORS[0]},
            "fillcolor": "rgba(0, 114, 178, 0.12)",
            "hovertemplate": "%{y:.2%} of the budget left<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "budget spent",
            "x": [start_ms, end_ms],
            "y": [0, 0],
            "line": {"dash": "dash", "width": 1.5, "color": ERROR_COLOR},
            "hoverinfo": "skip",
        },
    ]
    return {"data": data, "layout": layout}


def sli_chart(series: SeriesPoints, objective: float, start_ms: int, end_ms: int) -> dict[str, Any]:
    """The SLI per step against the objective (dashed)."""
    label = f"objective {objective * 100:.4g}%"
    fig = line_chart(
        [series],
        start_ms,
        end_ms,
        thresholds=[Threshold(objective, label, ERROR_COLOR)],
        height=260,
    )
    fig["layout"]["yaxis"].update(tickformat=".2%", rangemode="normal")
    for trace in fig["data"][:1]:
        trace["hovertemplate"] = "%{y:.3%}<extra>SLI</extra>"
        trace["line"] = {"width": 2, "color": COLORS[0]}
    return fig


def tier_chart(
    title: str,
    long_series: SeriesPoints | None,
    short_series: SeriesPoints | None,
    factor: float,
    start_ms: int,
    end_ms: int,
) -> dict[str, Any]:
    """One tier: its long and short window's burn rate, and its factor as the threshold."""
    series = [s for s in (long_series, short_series) if s is not None]
    fig = line_chart(
        series,
        start_ms,
        end_ms,
        title=title,
        thresholds=[Threshold(factor, f"threshold {factor:.4g}×", ERROR_COLOR)],
        height=220,
        y_title="burn rate",
    )
    for trace, color in zip(fig["data"], (COLORS[0], COLORS[1]), strict=False):
        if trace["name"] in {s.name for s in series}:
            trace["line"] = {"width": 1.8, "color": color}
            trace["hovertemplate"] = "%{y:.3~g}×<extra>" + trace["name"] + "</extra>"
    fig["layout"]["margin"]["t"] = 30
    fig["layout"]["legend"] = {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"}
    return fig


class Row:
    """One row of the stacked signals chart: a title, a unit and its series."""

    def __init__(self, title: str, unit: str, series: Sequence[SeriesPoints]) -> None:
        self.title, self.unit, self.series = title, unit, list(series)


def _row_traces(row: Row, axis: str, first_color: int) -> list[dict[str, Any]]:
    suffix = _UNITS.get(row.unit, "")
    fmt = _HOVER_FORMATS.get(row.unit, ".4~g")
    traces = []
    for i, s in enumerate(row.series):
        name = plot_text(f"{row.title}: {s.name}" if s.name else row.title)
        color = COLORS[(first_color + i) % len(COLORS)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": plot_text(s.name or row.title),
                "legendgroup": axis,
                "legendgrouptitle": {"text": plot_text(row.title)},
                "x": s.times_ms,
                "y": s.values,
                "xaxis": "x",
                "yaxis": axis,
                "line": {"width": 1.5, "color": color},
                "hovertemplate": f"%{{y:{fmt}}}{suffix}<extra>{name}</extra>",
            }
        )
    return traces


def _exemplar_trace(exemplars: Sequence[Any], axis: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "exemplar traces",
        "legendgroup": axis,
        "x": [e.time_ms for e in exemplars],
        "y": [e.value for e in exemplars],
        "xaxis": "x",
        "yaxis": axis,
        "customdata": [e.trace_id for e in exemplars],
        "hovertext": [plot_text(_exemplar_text(e)) for e in exemplars],
        "hovertemplate": "%{y:.4~g} s, click to open the trace<br>%{hovertext}<extra></extra>",
        "marker": {
            "size": 9,
            "symbol": "diamond",
            "color": [ERROR_COLOR if e.bad else _OK_COLOR for e in exemplars],
            "line": {"width": 1, "color": "#ffffff"},
        },
    }


def _exemplar_text(exemplar: Any) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(exemplar.series.items()))
    return f"trace {exemplar.trace_id}<br>{labels}" if labels else f"trace {exemplar.trace_id}"


def signals_chart(
    rows: Sequence[Row],
    exemplars: Sequence[Any],
    start_ms: int,
    end_ms: int,
    burn_threshold: float | None = None,
) -> dict[str, Any]:
    """Rows stacked top to bottom on one time axis (zooming one zooms all); exemplars, if
    any, in a last row whose points open their trace when clicked (``customdata``)."""
    count = len(rows) + (1 if exemplars else 0)
    height = 165 * count + 70
    layout = base_layout(height=height)
    # "closest": a click lands on the exemplar under the pointer, not on a line at that time.
    layout.update(hovermode="closest", showlegend=True)
    layout["legend"] = {
        "orientation": "v",
        "x": 1.01,
        "y": 1,
        "yanchor": "top",
        "font": {"size": 11},
        "tracegroupgap": 14,
        "groupclick": "toggleitem",
    }
    layout["margin"] = {"l": 64, "r": 170, "t": 24, "b": 40}
    layout["xaxis"].update(range=[start_ms, end_ms], anchor=f"y{count if count > 1 else ''}")
    size = (1 - _ROW_GAP * (count - 1)) / max(count, 1)
    data, annotations, color = [], [], 0
    for i in range(count):
        axis = "y" if i == 0 else f"y{i + 1}"
        top = 1 - i * (size + _ROW_GAP)
        is_exemplars = i == len(rows)
        unit = "s" if is_exemplars else rows[i].unit
        title = "exemplar traces (click one)" if is_exemplars else rows[i].title
        values = [e.value for e in exemplars] if is_exemplars else _values(rows[i])
        if i == 0 and burn_threshold is not None:
            values.append(burn_threshold)
        layout[f"yaxis{'' if i == 0 else i + 1}"] = {
            "domain": [max(0.0, top - size), top],
            "gridcolor": "#eef0f3",
            "zerolinecolor": "#d1d5db",
            "range": [0, (max(values, default=0) or 1) * 1.15],
            "tickformat": _TICK_FORMATS.get(unit, ".3~g"),
            "ticksuffix": _UNITS.get(unit, "") if unit != "ratio" else "",
            "nticks": 4,
        }
        annotations.append(_row_title(title, top))
        if is_exemplars:
            data.append(_exemplar_trace(exemplars, axis))
            continue
        data += _row_traces(rows[i], axis, color)
        color += len(rows[i].series)
        if i == 0 and burn_threshold is not None:
            data.append(_flat(burn_threshold, axis, start_ms, end_ms))
    layout["annotations"] = annotations
    return {"data": data, "layout": layout}


def _values(row: Row) -> list[float]:
    return [v for s in row.series for v in s.values if v is not None and v >= 0]


def _row_title(title: str, top: float) -> dict[str, Any]:
    return {
        "text": f"<b>{plot_text(title)}</b>",
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": top,
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": "#374151"},
    }


def _flat(value: float, axis: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": f"burn rate {value:g}",
        "x": [start_ms, end_ms],
        "y": [value, value],
        "xaxis": "x",
        "yaxis": axis,
        "line": {"dash": "dash", "width": 1.2, "color": THRESHOLD_COLOR},
        "hoverinfo": "skip",
        "legendgroup": axis,
    }
