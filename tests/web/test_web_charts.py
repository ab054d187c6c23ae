"""Figure builders: valid plotly figures (checked by plotly's own validators), user text
escaped for plotly's pseudo-HTML, waterfall rows in tree order."""

from __future__ import annotations

import plotly.graph_objects as go
from web_testdata import XSS_SCRIPT

from web.charts import (
    Threshold,
    duration_scatter,
    line_chart,
    plot_text,
    stacked_area_chart,
    waterfall_chart,
)
from web.queries.promql import SeriesPoints
from web.queries.traces import SpanRow, TraceRow

SERIES = [
    SeriesPoints(f'x{{q="{XSS_SCRIPT}"}}', {}, [0, 60_000, 120_000], [1.0, None, 3.0]),
    SeriesPoints("y", {}, [0, 60_000, 120_000], [2.0, 2.0, None]),
]


def span_row(name: str, service: str, offset: float, duration: float, depth: int, error=False):
    return SpanRow(name, "", service, name, "server", offset, duration, depth, error, "", {}, {})


def test_line_chart_with_thresholds_is_a_valid_figure():
    figure = line_chart(SERIES, 0, 120_000, title="t", thresholds=[Threshold(14.4, "page <1h>")])
    go.Figure(figure)  # raises on any property plotly does not know
    names = [trace["name"] for trace in figure["data"]]
    assert names == ['x{q="&lt;script&gt;window.__xss=1&lt;/script&gt;"}', "y", "page &lt;1h&gt;"]
    assert figure["data"][0]["y"] == [1.0, None, 3.0]  # a gap stays a gap
    assert figure["data"][2]["y"] == [14.4, 14.4]
    assert figure["layout"]["xaxis"]["range"] == [0, 120_000]


def test_stacked_area_fills_gaps_with_zero():
    figure = stacked_area_chart(SERIES, 0, 120_000)
    go.Figure(figure)
    assert [t["stackgroup"] for t in figure["data"]] == ["one", "one"]
    assert figure["data"][1]["y"] == [2.0, 2.0, 0.0]


def test_waterfall_rows_follow_span_order_and_mark_errors():
    spans = [
        span_row("root", "shop", 0, 100, 0, error=True),
        span_row(XSS_SCRIPT, "db", 10, 50, 1),
        span_row("zero", "shop", 70, 0, 1),
    ]
    figure = waterfall_chart(spans, 100)
    go.Figure(figure)
    shop, db = figure["data"]
    assert (shop["name"], shop["y"], shop["base"]) == ("shop", [0, 2], [0, 70])
    assert shop["x"][1] > 0  # a zero-length span is still drawn
    assert shop["marker"]["line"]["color"][0] == "#C62828"
    assert db["y"] == [1] and db["customdata"] == [XSS_SCRIPT]
    assert figure["layout"]["yaxis"]["ticktext"][1] == plot_text(XSS_SCRIPT)


def test_duration_scatter_splits_failed_traces():
    rows = [
        TraceRow("a" * 32, "shop", "GET", 1_000.0, 12.0, 3, False),
        TraceRow("b" * 32, "shop", "<b>x</b>", 2_000.0, 40.0, 2, True),
    ]
    figure = duration_scatter(rows, 0, 3_000)
    go.Figure(figure)
    assert [t["name"] for t in figure["data"]] == ["ok", "with errors"]
    assert figure["data"][1]["customdata"] == ["b" * 32]
    assert figure["data"][1]["hovertext"] == ["shop: &lt;b&gt;x&lt;/b&gt;"]
