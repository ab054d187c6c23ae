"""Parsing PromQL with the ``promql-parser`` package, and reading its AST nodes."""

from __future__ import annotations

import datetime as dt
import functools

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


_CACHED_EXPRESSIONS = 4096  # rules and dashboards ask the same expressions over and over


@functools.lru_cache(maxsize=_CACHED_EXPRESSIONS)
def parse(expr: str) -> pp.Expr:
    """Parse ``expr``; syntax and type errors become :class:`PromQLParseError`.

    Parsed expressions are remembered (the nodes are immutable), so a rule evaluated every
    minute is parsed once.
    """
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
    return _build_matcher(str(m.op), m.name, m.value)


@functools.lru_cache(maxsize=_CACHED_EXPRESSIONS)
def _build_matcher(op: str, name: str, value: str) -> Matcher:
    # Cached: a regex matcher compiles its regex, and selectors are read at every evaluation.
    kind = _MATCH_TYPES[op.rsplit(".", 1)[-1]]
    try:
        return Matcher(kind, name, value)
    except MatcherError as exc:
        raise PromQLParseError(str(exc)) from None
