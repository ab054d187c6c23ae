"""The RUM page's charts: a Web Vital's p75 over time against its good and poor thresholds,
and JavaScript errors per minute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web.charts.style import ERROR_COLOR
from web.charts.timeseries import Threshold, line_chart
from web.queries.promql import SeriesPoints

__all__ = ["GOOD_COLOR", "NEEDS_IMPROVEMENT_COLOR", "POOR_COLOR", "js_error_chart", "vital_chart"]

# CrUX's colours for good / needs improvement / poor.
GOOD_COLOR = "#0CCE6B"
NEEDS_IMPROVEMENT_COLOR = "#FFA400"
POOR_COLOR = "#FF4E42"
_DEVICE_COLORS = {"mobile": "#0072B2", "tablet": "#CC79A7", "desktop": "#009E73"}


def _threshold_text(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"
    return f"{value:g}"


def vital_chart(
    series: Sequence[SeriesPoints],
    start_ms: int,
    end_ms: int,
    *,
    name: str,
    unit: str,
    good: float,
    poor: float,
) -> dict[str, Any]:
    """p75 of vital ``name`` per device class, with dashed lines at the good and poor
    thresholds (values in the metric's unit: seconds, or none for CLS).

    >>> s = SeriesPoints("mobile", {"device_class": "mobile"}, [0, 60_000], [2.1, 2.7])
    >>> fig = vital_chart([s], 0, 60_000, name="LCP", unit="s", good=2.5, poor=4.0)
    >>> [t["name"] for t in fig["data"]]
    ['mobile', 'good ≤ 2.5 s', 'poor &gt; 4 s']
    """
    thresholds = [
        Threshold(good, f"good ≤ {_threshold_text(good, unit)}", GOOD_COLOR),
        Threshold(poor, f"poor > {_threshold_text(poor, unit)}", POOR_COLOR),
    ]
    y_title = f"p75 {name}" + (" (s)" if unit == "s" else "")
    fig = line_chart(series, start_ms, end_ms, y_title=y_title, thresholds=thresholds, height=280)
    for trace, s in zip(fig["data"], series, strict=False):
        color = _DEVICE_COLORS.get(s.labels.get("device_class") or "")
        if color:
            trace["line"] = {"width": 2, "color": color}
    return fig


def js_error_chart(series: Sequence[SeriesPoints], start_ms: int, end_ms: int) -> dict[str, Any]:
    """JavaScript errors per minute, one line per page.

    >>> s = SeriesPoints("/cart", {"page": "/cart"}, [0, 60_000], [0.5, 1.0])
    >>> js_error_chart([s], 0, 60_000)["layout"]["yaxis"]["title"]["text"]
    'errors / min'
    """
    fig = line_chart(series, start_ms, end_ms, y_title="errors / min", height=240)
    if len(series) == 1:
        fig["data"][0]["line"] = {"width": 2, "color": ERROR_COLOR}
    return fig
