"""Read-only snapshots of rule groups for APIs (``/api/v1/rules``, ``/api/v1/alerts``)."""

from __future__ import annotations

from dataclasses import dataclass

from slo.rules.alerting import Alert, AlertingEvaluator, AlertState
from slo.rules.group import GroupEvaluator
from slo.rules.model import Rule, RuleGroup
from slo.rules.rule_health import GroupHealth, RuleHealthState

__all__ = ["GroupStatus", "RuleStatus", "group_status"]


@dataclass(frozen=True)
class RuleStatus:
    """One rule as the API shows it. ``state`` and ``alerts`` are for alerting rules only;
    ``alerts`` are the pending and firing ones (resolved alerts are not listed)."""

    rule: Rule
    labels: dict[str, str]  # the rule's labels merged over the group's
    health: RuleHealthState
    state: AlertState | None
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class GroupStatus:
    group: RuleGroup
    interval_ms: int
    query_offset_ms: int
    health: GroupHealth
    rules: tuple[RuleStatus, ...]

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def file(self) -> str:
        return self.group.file


def group_status(evaluator: GroupEvaluator) -> GroupStatus:
    """A snapshot of ``evaluator`` (copies: later evaluations do not change it)."""
    rules = []
    for runtime, health in zip(evaluator.runtimes, evaluator.health, strict=True):
        alerting = isinstance(runtime, AlertingEvaluator)
        rules.append(
            RuleStatus(
                rule=runtime.rule,
                labels=dict(runtime.labels),
                health=health,
                state=runtime.state() if alerting else None,
                alerts=tuple(runtime.active_alerts()) if alerting else (),
            )
        )
    return GroupStatus(
        evaluator.group,
        evaluator.interval_ms,
        evaluator.query_offset_ms,
        evaluator.group_health,
        tuple(rules),
    )
