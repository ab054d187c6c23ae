"""Rule groups as the Rules page shows them: every group and rule of the rule manager with
its last evaluation, health and error, and for alerting rules how many alerts are active now
and how many fired within the page's time range (from the ``ALERTS`` series)."""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.promql.result import Vector
from slo.compile.windows import format_duration
from slo.rules.alerting import AlertState
from slo.rules.model import AlertingRule
from slo.rules.rule_health import RuleHealth
from slo.rules.status import GroupStatus, RuleStatus
from web.queries import Sources
from web.queries.promql import QueryError, instant_query

__all__ = ["HEALTH_FILTERS", "GroupRow", "RuleRow", "RulesView", "rule_groups"]

#: The page's ``health`` filter: every rule, or only those whose last evaluation was so.
HEALTH_FILTERS = ("all", "err", "ok", "unknown")


@dataclass(frozen=True)
class RuleRow:
    """One rule; ``state``, ``for_``, ``active`` and ``fired_in_range`` are for alerting
    rules only (``fired_in_range`` is None when ``ALERTS`` could not be read)."""

    kind: str  # "record" or "alert"
    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]
    health: str  # "ok", "err" or "unknown", as Prometheus says
    last_error: str
    last_eval_ms: int | None
    eval_duration_s: float
    position: str
    state: str | None = None
    for_: str = ""
    keep_firing_for: str = ""
    pending: int = 0
    firing: int = 0
    fired_in_range: int | None = None


@dataclass(frozen=True)
class GroupRow:
    name: str
    file: str
    interval: str
    query_offset: str
    last_eval_ms: int | None
    eval_duration_s: float
    rules: list[RuleRow]
    failing: int
    total_rules: int


@dataclass(frozen=True)
class RulesView:
    """What the Rules page shows; ``manager`` is False when the server runs no rules."""

    manager: bool
    groups: list[GroupRow] = field(default_factory=list)
    group_count: int = 0
    rule_count: int = 0
    failing: int = 0
    firing: int = 0
    alerts_error: str = ""


def _duration(ms: int) -> str:
    return format_duration(ms) if ms else ""


def _fired_counts(sources: Sources, start_ms: int, end_ms: int) -> dict[str, int]:
    """Alert name -> label sets that fired at some time within the range."""
    window_s = max(1, (end_ms - start_ms) // 1000)
    expr = f'count by (alertname) (max_over_time(ALERTS{{alertstate="firing"}}[{window_s}s]))'
    result = instant_query(sources, expr, end_ms)
    if not isinstance(result.value, Vector):
        return {}
    return {s.labels.get("alertname") or "": int(s.value) for s in result.value}


def _rule_row(status: RuleStatus, fired: dict[str, int] | None) -> RuleRow:
    rule, health = status.rule, status.health
    common = dict(
        expr=rule.expr,
        labels=dict(status.labels),
        health=str(health.health),
        last_error=health.last_error,
        last_eval_ms=health.last_eval_ms,
        eval_duration_s=health.eval_duration_s,
        position=str(rule.position) if rule.position else "",
    )
    if not isinstance(rule, AlertingRule):
        return RuleRow(kind="record", name=rule.record, annotations={}, **common)
    states = [a.state for a in status.alerts]
    return RuleRow(
        kind="alert",
        name=rule.alert,
        annotations=dict(rule.annotations),
        state=str(status.state or AlertState.INACTIVE),
        for_=_duration(rule.for_ms),
        keep_firing_for=_duration(rule.keep_firing_for_ms),
        pending=states.count(AlertState.PENDING),
        firing=states.count(AlertState.FIRING),
        fired_in_range=None if fired is None else fired.get(rule.alert, 0),
        **common,
    )


def _wanted(row: RuleRow, health: str, name: str) -> bool:
    return (health == "all" or row.health == health) and name.lower() in row.name.lower()


def _group_row(status: GroupStatus, rules: list[RuleRow]) -> GroupRow:
    return GroupRow(
        name=status.name,
        file=status.file,
        interval=_duration(status.interval_ms),
        query_offset=_duration(status.query_offset_ms),
        last_eval_ms=status.health.last_eval_ms,
        eval_duration_s=status.health.eval_duration_s,
        rules=rules,
        failing=sum(1 for r in status.rules if r.health.health is RuleHealth.ERR),
        total_rules=len(status.rules),
    )


def rule_groups(
    sources: Sources, start_ms: int, end_ms: int, *, health: str = "all", name: str = ""
) -> RulesView:
    """Every group of the rule manager, its rules filtered by ``health`` (one of
    :data:`HEALTH_FILTERS`) and a case-insensitive ``name`` substring; groups left without
    a rule are dropped. Totals count every rule, filtered or not."""
    if sources.rule_manager is None:
        return RulesView(manager=False)
    statuses: list[GroupStatus] = sources.rule_manager.groups()
    fired: dict[str, int] | None
    alerts_error = ""
    try:
        fired = _fired_counts(sources, start_ms, end_ms)
    except QueryError as exc:
        fired, alerts_error = None, exc.message
    groups, totals = [], [0, 0, 0]
    for status in statuses:
        rows = [_rule_row(r, fired) for r in status.rules]
        totals[0] += len(rows)
        totals[1] += sum(1 for r in rows if r.health == "err")
        totals[2] += sum(r.firing for r in rows)
        kept = [r for r in rows if _wanted(r, health, name)]
        if kept:
            groups.append(_group_row(status, kept))
    return RulesView(True, groups, len(statuses), *totals, alerts_error=alerts_error)
