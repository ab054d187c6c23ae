"""Short live figures for the home page: what the store, the traces and the rules hold."""

from __future__ import annotations

from dataclasses import dataclass

from collector.promql.result import Vector
from collector.store.matchers import Matcher
from slo.rules.alerting import AlertState
from slo.rules.rule_health import RuleHealth
from web.queries import Sources
from web.queries.promql import QueryError, instant_query

__all__ = [
    "AlertCounts",
    "RuleCounts",
    "SpanCalls",
    "alert_counts",
    "rule_counts",
    "series_count",
    "span_calls",
]

# The spanmetrics counter the collector derives from server and consumer spans.
SPAN_CALLS = "traces_span_metrics_calls_total"


def series_count(sources: Sources, start_ms: int, end_ms: int) -> int:
    """How many series have samples within the range."""
    return len(sources.querier.series([Matcher.regex("__name__", ".+")], start_ms, end_ms))


@dataclass(frozen=True)
class SpanCalls:
    calls: float
    errors: float


def span_calls(sources: Sources, start_ms: int, end_ms: int) -> SpanCalls:
    """Entry spans (server and consumer) and the failed ones among them within the range."""
    window_s = max(1, (end_ms - start_ms) // 1000)
    figures = []
    for matcher in ("", 'status_code="STATUS_CODE_ERROR"'):
        expr = f"sum(increase({SPAN_CALLS}{{{matcher}}}[{window_s}s]))"
        try:
            result = instant_query(sources, expr, end_ms)
        except QueryError:
            figures.append(0.0)
            continue
        value = result.value
        figures.append(value[0].value if isinstance(value, Vector) and value else 0.0)
    return SpanCalls(*figures)


@dataclass(frozen=True)
class AlertCounts:
    firing: int
    pending: int


def alert_counts(sources: Sources) -> AlertCounts | None:
    """Firing and pending alerts of the rule manager; None without one."""
    if sources.rule_manager is None:
        return None
    states = [alert.state for alert in sources.rule_manager.alerts()]
    return AlertCounts(states.count(AlertState.FIRING), states.count(AlertState.PENDING))


@dataclass(frozen=True)
class RuleCounts:
    groups: int
    rules: int
    unhealthy: int


def rule_counts(sources: Sources) -> RuleCounts | None:
    """Rule groups, rules and rules whose last evaluation failed; None without a manager."""
    if sources.rule_manager is None:
        return None
    groups = sources.rule_manager.groups()
    rules = [rule for group in groups for rule in group.rules]
    bad = sum(1 for rule in rules if rule.health.health is RuleHealth.ERR)
    return RuleCounts(len(groups), len(rules), bad)
