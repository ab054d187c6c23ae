"""``/api/v1/query_exemplars``: the exemplars of every series a query's selectors select.

As in Prometheus, the query is parsed, every vector selector in it (inside functions,
aggregations, binary operations and subqueries) is collected, and the exemplars of the series
each selects within [start, end] are returned, grouped by series::

    [{"seriesLabels": {...}, "exemplars": [{"labels": {"trace_id": "..."},
                                             "value": "6", "timestamp": 1600096945.479}]}]
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.http_api.encode import format_float, format_value, json_string, labels_json
from collector.promql.errors import PromQLError
from collector.promql.parser import ast, parse, selector_matchers
from collector.store.exemplars import Exemplar, ExemplarStore
from collector.store.matchers import Matcher, MatcherError

__all__ = ["exemplars_json", "query_matcher_sets"]


def query_matcher_sets(expr: str) -> list[list[Matcher]]:
    """The matcher sets of every vector selector in ``expr``.

    >>> [[str(m) for m in ms] for ms in query_matcher_sets('rate(a{x="1"}[5m]) / b')]
    [['__name__="a"', 'x="1"'], ['__name__="b"']]

    :raise ValueError: the expression does not parse (the message is the parser's).
    """
    try:
        root = parse(expr)
    except (PromQLError, MatcherError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    found: list[list[Matcher]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.VectorSelector):
            found.extend(selector_matchers(node))
        elif isinstance(node, ast.MatrixSelector):
            stack.append(node.vector_selector)
        elif isinstance(node, ast.Call):
            stack.extend(reversed(list(node.args)))
        elif isinstance(node, ast.BinaryExpr):
            stack.extend([node.rhs, node.lhs])
        elif isinstance(node, ast.AggregateExpr):
            stack.extend(n for n in (node.param, node.expr) if n is not None)
        elif isinstance(node, ast.ParenExpr | ast.UnaryExpr | ast.SubqueryExpr):
            stack.append(node.expr)
    return found


def exemplars_json(
    store: ExemplarStore | None, matcher_sets: Sequence[Sequence[Matcher]], start: int, end: int
) -> str:
    """The ``data`` of the reply; ``[]`` when exemplar storage is off (as Prometheus)."""
    if store is None or not matcher_sets:
        return "[]"
    groups = store.query(matcher_sets, start, end)
    parts = [
        f'{{"seriesLabels":{labels_json(series)},"exemplars":[{",".join(map(_one, found))}]}}'
        for series, found in groups
    ]
    return "[" + ",".join(parts) + "]"


def _one(exemplar: Exemplar) -> str:
    # Prometheus writes the value as a string and the timestamp as a float of seconds.
    value = json_string(format_value(exemplar.value))
    stamp = format_float(exemplar.timestamp_ms / 1000)
    return f'{{"labels":{labels_json(exemplar.labels)},"value":{value},"timestamp":{stamp}}}'
