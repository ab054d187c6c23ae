"""Replaying stored history through rules: when each alert would have been pending/firing.

:func:`backtest` evaluates every group at each of its slots between two times, as the rule
manager would have, reading the store but never writing it: recorded series and ``ALERTS``
go into a :class:`~slo.rules.memory_overlay.MemoryOverlay` where later rules read them. The
report lists each alert's episodes (pending from, firing from, resolved at) and per alert how
often it fired and for how long: what tuning a threshold or a ``for`` would change.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from collector.model import Labels
from collector.promql.engine import Engine, EngineOptions
from collector.store.interfaces import Querier
from slo.rules.alerting import ALERTS_FOR_STATE_METRIC, ALERTS_METRIC, Alert, AlertState
from slo.rules.engine_query import engine_query
from slo.rules.group import DEFAULT_INTERVAL_MS, GroupEvalResult, GroupEvaluator
from slo.rules.memory_overlay import MemoryOverlay
from slo.rules.model import RecordingRule, RuleGroup
from slo.rules.rule_health import RuleHealth
from slo.rules.schedule import eval_timestamp, group_offset_ms

__all__ = ["AlertEpisode", "AlertSummary", "BacktestReport", "RuleErrors", "backtest"]


@dataclass
class AlertEpisode:
    """One stretch of an alert being active. ``resolved_at_ms`` is None if it was still
    active when the replay ended; ``firing_at_ms`` is None if it never fired."""

    labels: Labels
    pending_at_ms: int
    firing_at_ms: int | None = None
    resolved_at_ms: int | None = None

    def firing_ms(self, end_ms: int) -> int:
        if self.firing_at_ms is None:
            return 0
        return _first(self.resolved_at_ms, end_ms) - self.firing_at_ms

    def pending_ms(self, end_ms: int) -> int:
        until = _first(self.firing_at_ms, _first(self.resolved_at_ms, end_ms))
        return until - self.pending_at_ms


@dataclass(frozen=True)
class AlertSummary:
    """Per alert (name and labels): episodes, how many fired, total firing time."""

    labels: Labels
    episodes: int
    fired: int
    firing_ms: int


@dataclass
class RuleErrors:
    """Failed evaluations of one rule: how many, and the first failure."""

    group: str
    rule: str
    count: int = 0
    first_at_ms: int = 0
    first_error: str = ""


@dataclass
class BacktestReport:
    start_ms: int
    end_ms: int
    evaluations: int = 0
    episodes: list[AlertEpisode] = field(default_factory=list)
    errors: list[RuleErrors] = field(default_factory=list)

    def summary(self) -> list[AlertSummary]:
        """One line per alert, most firing time first."""
        by_labels: dict[Labels, list[AlertEpisode]] = {}
        for episode in self.episodes:
            by_labels.setdefault(episode.labels, []).append(episode)
        rows = [
            AlertSummary(
                labels,
                len(episodes),
                sum(1 for e in episodes if e.firing_at_ms is not None),
                sum(e.firing_ms(self.end_ms) for e in episodes),
            )
            for labels, episodes in by_labels.items()
        ]
        return sorted(rows, key=lambda r: (-r.firing_ms, -r.fired, r.labels))


def backtest(
    groups: Iterable[RuleGroup],
    querier: Querier,
    start_ms: int,
    end_ms: int,
    *,
    interval_ms: int = DEFAULT_INTERVAL_MS,
    external_labels: Mapping[str, str] | None = None,
    external_url: str = "",
    engine_options: EngineOptions | None = None,
) -> BacktestReport:
    """Evaluate ``groups`` at each of their slots in ``[start_ms, end_ms]``, in time order
    (groups due at the same instant in file then name order)."""
    groups = list(groups)
    recorded = {r.record for g in groups for r in g.rules if isinstance(r, RecordingRule)}
    overlay = MemoryOverlay(querier, recorded | {ALERTS_METRIC, ALERTS_FOR_STATE_METRIC})
    query = engine_query(Engine(overlay, engine_options))
    evaluators = [
        GroupEvaluator(
            group,
            query=query,
            appender=overlay,
            external_labels=external_labels,
            external_url=external_url,
            default_interval_ms=interval_ms,
        )
        for group in groups
    ]
    report = BacktestReport(start_ms, end_ms)
    tracker = _EpisodeTracker(report)
    slots = (_slots(i, ev, start_ms, end_ms) for i, ev in enumerate(evaluators))
    for ts, _, _, evaluator in heapq.merge(*slots):
        result = evaluator.eval(ts)
        report.evaluations += 1
        tracker.observe(evaluator, result)
    return report


def _slots(index: int, evaluator: GroupEvaluator, start_ms: int, end_ms: int):
    interval = evaluator.interval_ms
    offset = group_offset_ms(evaluator.group.file, evaluator.group.name, interval)
    ts = eval_timestamp(start_ms, interval, offset)
    if ts < start_ms:
        ts += interval
    while ts <= end_ms:
        yield ts, evaluator.key, index, evaluator
        ts += interval


class _EpisodeTracker:
    """Turns the alerts after each evaluation into episodes, and failures into counts."""

    def __init__(self, report: BacktestReport) -> None:
        self.report = report
        self.open: dict[tuple[tuple[str, str], Labels], AlertEpisode] = {}
        self.errors: dict[tuple[tuple[str, str], int], RuleErrors] = {}

    def observe(self, evaluator: GroupEvaluator, result: GroupEvalResult) -> None:
        self._count_errors(evaluator, result)
        active = {a.labels: a for a in result.alerts if _is_active(a)}
        for labels, alert in active.items():
            key = (evaluator.key, labels)
            episode = self.open.get(key)
            if episode is None:
                episode = AlertEpisode(labels, alert.active_at_ms)
                self.open[key] = episode
                self.report.episodes.append(episode)
            if alert.state is AlertState.FIRING and episode.firing_at_ms is None:
                episode.firing_at_ms = alert.fired_at_ms
        ended = [k for k in self.open if k[0] == evaluator.key and k[1] not in active]
        for key in ended:
            self.open.pop(key).resolved_at_ms = result.ts_ms

    def _count_errors(self, evaluator: GroupEvaluator, result: GroupEvalResult) -> None:
        for index, rule_result in enumerate(result.rules):
            if rule_result.health.health is not RuleHealth.ERR:
                continue
            key = (evaluator.key, index)
            errors = self.errors.get(key)
            if errors is None:
                name = evaluator.runtimes[index].name
                errors = RuleErrors(evaluator.group.name, name, 0, result.ts_ms)
                errors.first_error = rule_result.health.last_error
                self.errors[key] = errors
                self.report.errors.append(errors)
            errors.count += 1


def _is_active(alert: Alert) -> bool:
    return alert.resolved_at_ms is None and alert.state in (AlertState.PENDING, AlertState.FIRING)


def _first(value: int | None, default: int) -> int:
    return default if value is None else value
