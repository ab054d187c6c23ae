"""Parsing PromQL with the ``promql-parser`` package, and reading its AST nodes."""

from __future__ import annotations

import datetime as dt

import promql_parser as pp

from collector.model import METRIC_NAME
from collector.promql.errors import PromQLParseError
from collector.promql.lexical import normalise
from collector.store.matchers import Matcher, MatcherError, MatchType

__all__ = ["ast", "duration_ms", "parse", "selector_matchers"]

ast = pp  # node classes: VectorSelector, MatrixSelector, Call, BinaryExpr, ...

_MATCH_TYPES = {
    "Equal": MatchType.EQUAL,
    "NotEqual": MatchType.NOT_EQUAL,
    "Re": MatchType.REGEX,
    "NotRe": MatchType.NOT_REGEX,
}
_MS = dt.timedelta(milliseconds=1)


def parse(expr: str) -> pp.Expr:
    """Parse ``expr``; syntax and type errors become :class:`PromQLParseError`."""
    try:
        return pp.parse(normalise(expr))
    except (ValueError, TypeError) as exc:
        raise PromQLParseError(f"1:1: parse error: {exc}") from None


def duration_ms(value: dt.timedelta | None) -> int:
    return 0 if value is None else value // _MS


def timestamp_ms(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // _MS


def selector_matchers(node: pp.VectorSelector) -> list[list[Matcher]]:
    """The matcher sets of a selector: one set, or several joined by ``or`` (Prometheus 3)."""
    groups = node.matchers.or_matchers or [node.matchers.matchers]
    out = []
    for group in groups:
        matchers = [_matcher(m) for m in group]
        if node.name is not None:
            matchers.insert(0, Matcher.equal(METRIC_NAME, node.name))
        out.append(matchers)
    return out


def _matcher(m) -> Matcher:
    kind = _MATCH_TYPES[str(m.op).rsplit(".", 1)[-1]]
    try:
        return Matcher(kind, m.name, m.value)
    except MatcherError as exc:
        raise PromQLParseError(str(exc)) from None
