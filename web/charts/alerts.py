"""The Alerts page's chart: how many alerts of each name were pending or firing over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import ERROR_COLOR
from web.charts.timeseries import line_chart
from web.queries.promql import SeriesPoints

__all__ = ["alerts_chart"]

_PENDING_COLOR = "#E69F00"
_FEW_POINTS = 50


def alerts_chart(series: Sequence[SeriesPoints], start_ms: int, end_ms: int) -> dict[str, Any]:
    """One step line per alert name and state (firing solid, pending dashed), from
    ``sum by (alertname, alertstate) (ALERTS)``.

    >>> s = SeriesPoints("Down (firing)", {"alertname": "Down", "alertstate": "firing"},
    ...                  [0, 60_000], [1.0, 2.0])
    >>> fig = alerts_chart([s], 0, 60_000)
    >>> fig["data"][0]["line"]["shape"], fig["layout"]["yaxis"]["title"]["text"]
    ('hv', 'alerts')
    """
    fig = line_chart(series, start_ms, end_ms, y_title="alerts", height=240)
    for trace, s in zip(fig["data"], series, strict=True):
        pending = s.labels.get("alertstate") == "pending"
        trace["line"] = {"width": 1.5, "shape": "hv", "dash": "dot" if pending else "solid"}
        if sum(v is not None for v in s.values) < _FEW_POINTS:
            # a short-lived alert may be one point: a line alone would not show it
            trace.update(mode="lines+markers", marker={"size": 5})
        if len(series) == 1:
            trace["line"]["color"] = _PENDING_COLOR if pending else ERROR_COLOR
    fig["layout"]["yaxis"]["rangemode"] = "tozero"
    fig["layout"]["yaxis"]["tickformat"] = ",d"
    return fig
