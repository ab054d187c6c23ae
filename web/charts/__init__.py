"""Plotly figure builders: plain data in, a JSON-able figure dict (``{"data", "layout"}``)
out. Pure functions: no Flask, no queries, no clock. Pages embed the dicts as JSON and
``static/sloscope.js`` draws them with plotly.js.

Text that came from users (label values, span names) is HTML-escaped with :func:`plot_text`
before it enters a figure, because plotly.js reads a subset of HTML in trace names, ticks and
hover text.
"""

from web.charts.style import plot_text
from web.charts.timeseries import Threshold, line_chart, stacked_area_chart
from web.charts.traces import duration_scatter, waterfall_chart

__all__ = [
    "Threshold",
    "duration_scatter",
    "line_chart",
    "plot_text",
    "stacked_area_chart",
    "waterfall_chart",
]
