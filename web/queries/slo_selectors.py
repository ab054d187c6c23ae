"""The series an SLI reads, as matcher sets: which job it watches, which histograms carry its
exemplars. Read from the parsed PromQL of its queries, so every spec format works alike."""

from __future__ import annotations

from collections.abc import Iterator

from collector.promql.errors import PromQLError
from collector.promql.parser import ast, parse, selector_matchers
from collector.store.matchers import Matcher
from slo.compile.naming import fill_window
from slo.compile.windows import MINUTE_MS
from slo.spec.model import SLO
from slo.spec.sli_queries import sli_queries

__all__ = ["query_selectors", "sli_selectors"]

_CHILDREN = ("expr", "lhs", "rhs", "vector_selector", "param")


def _walk(node) -> Iterator[ast.VectorSelector]:
    if isinstance(node, ast.VectorSelector):
        yield node
        return
    for attr in _CHILDREN:
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)
    for arg in getattr(node, "args", None) or ():
        yield from _walk(arg)


def query_selectors(template: str | None) -> list[list[Matcher]]:
    """Every selector's matcher sets in an SLI query template (``{{.window}}`` allowed)."""
    if not template:
        return []
    try:
        tree = parse(fill_window(template, 5 * MINUTE_MS))
    except PromQLError:
        return []
    return [matchers for node in _walk(tree) for matchers in selector_matchers(node)]


def sli_selectors(slo: SLO) -> list[list[Matcher]]:
    """The matcher sets of all of the SLI's queries (error ratio and event rates)."""
    queries = sli_queries(slo.sli)
    out: list[list[Matcher]] = []
    for template in (queries.error_ratio, queries.error_events, queries.total_events):
        for matchers in query_selectors(template):
            if matchers not in out:
                out.append(matchers)
    return out
