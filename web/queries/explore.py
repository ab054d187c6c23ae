"""The query explorer's data: one expression as a table (instant query at the end of the
range) and as a graph (range query over it), as Prometheus' expression browser shows it."""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.promql.result import Matrix, String
from web.queries import Sources
from web.queries.promql import (
    QueryError,
    ResultRow,
    SeriesPoints,
    instant_query,
    range_query,
    result_rows,
    series_of,
)

__all__ = ["MAX_GRAPH_SERIES", "MAX_TABLE_ROWS", "Exploration", "explore"]

MAX_TABLE_ROWS = 1000
MAX_GRAPH_SERIES = 100  # more lines than anyone can tell apart, and slow to draw


@dataclass
class Exploration:
    """What the explorer shows for one expression; ``error`` set means nothing else is."""

    expr: str
    result_type: str = ""
    rows: list[ResultRow] = field(default_factory=list)
    series: list[SeriesPoints] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: QueryError | None = None


def explore(sources: Sources, expr: str, start_ms: int, end_ms: int, step_ms: int) -> Exploration:
    """Run ``expr`` for the table and the graph; query errors land in ``error``."""
    out = Exploration(expr)
    try:
        table = instant_query(sources, expr, end_ms)
    except QueryError as exc:
        out.error = exc
        return out
    out.result_type = table.type.value
    out.rows = result_rows(table, MAX_TABLE_ROWS)
    total = len(table.value) if isinstance(table.value, list) else 1
    if total > MAX_TABLE_ROWS:
        out.notes.append(f"table shows {MAX_TABLE_ROWS} of {total} results")
    out.notes += table.warnings
    if isinstance(table.value, Matrix | String):
        out.notes.append(f"a {out.result_type} result cannot be graphed")
        return out
    try:
        graph = range_query(sources, expr, start_ms, end_ms, step_ms)
    except QueryError as exc:
        out.notes.append(f"graph: {exc.error_type}: {exc.message}")
        return out
    out.series = series_of(graph, MAX_GRAPH_SERIES)
    if len(graph.value) > MAX_GRAPH_SERIES:
        out.notes.append(f"graph shows {MAX_GRAPH_SERIES} of {len(graph.value)} series")
    return out
