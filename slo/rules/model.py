"""Rule groups as Prometheus rule files write them, and the seams rules evaluate through."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collector.promql.result import Vector
from slo.spec.model import SourcePosition

__all__ = ["AlertingRule", "QueryFunc", "RecordingRule", "Rule", "RuleGroup", "RulePosition"]

#: Evaluates an instant query at a timestamp (ms); the rule engine's only view of PromQL.
QueryFunc = Callable[[str, int], Vector]


#: Where a rule (or group) was written: the same file:line:column type SLO specs use.
RulePosition = SourcePosition


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)
    position: RulePosition | None = None


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    position: RulePosition | None = None


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    file: str
    rules: tuple[Rule, ...]
    interval_ms: int | None = None  # None: the manager's global evaluation interval
    limit: int = 0  # 0: no limit on series a rule may produce
    query_offset_ms: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # Prometheus 3 group labels
    position: RulePosition | None = None
