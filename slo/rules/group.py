"""One rule group evaluated at a given timestamp: :class:`GroupEvaluator`.

The evaluator holds the group's run-time state (alert instances, the series each rule wrote
last time, rule health) and has no clock: the caller says when. The rule manager drives it on
aligned timestamps; ``sloscope rules test`` and ``sloscope rules backtest`` drive it over
replayed time.

>>> from collector.model import Labels, is_stale_nan
>>> from collector.promql.engine import Engine
>>> from collector.store.sql import SqlStore
>>> from slo.rules.engine_query import engine_query
>>> from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> up = Labels.of({"__name__": "up", "job": "api"})
>>> _ = store.append([(up, t * 60_000, 0.0) for t in range(10)])
>>> group = RuleGroup("api", "rules.yml", (
...     RecordingRule("job:up:sum", "sum by (job) (up)"),
...     AlertingRule("ApiDown", "job:up:sum == 0", for_ms=120_000),
... ))
>>> evaluator = GroupEvaluator(group, query=engine_query(Engine(store)), appender=store)
>>> for minute in (1, 2, 3):
...     result = evaluator.eval(minute * 60_000)
...     print(minute, [(a.labels.get("alertname"), str(a.state)) for a in result.alerts])
1 [('ApiDown', 'pending')]
2 [('ApiDown', 'pending')]
3 [('ApiDown', 'firing')]
>>> for labels, ts, value in result.samples:  # the pending series ends: a stale marker
...     print(labels, ts, "stale" if is_stale_nan(value) else value)
job:up:sum{job="api"} 180000 0.0
ALERTS{alertname="ApiDown", alertstate="firing", job="api"} 180000 1.0
ALERTS_FOR_STATE{alertname="ApiDown", job="api"} 180000 60.0
ALERTS{alertname="ApiDown", alertstate="pending", job="api"} 180000 stale
>>> store.close()
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collector.model import STALE_NAN, Labels
from collector.promql.engine import Engine
from collector.store.interfaces import Appender, Querier
from slo.rules.alerting import Alert, AlertingEvaluator
from slo.rules.engine_query import engine_query
from slo.rules.group_writes import GroupWrites
from slo.rules.model import AlertingRule, QueryFunc, Rule, RuleGroup
from slo.rules.recording_eval import RecordingEvaluator
from slo.rules.rule_health import GroupHealth, RuleEvalError, RuleHealth, RuleHealthState

__all__ = ["GroupEvalResult", "GroupEvaluator", "RuleEvalResult", "RuleRuntime", "rule_key"]

log = logging.getLogger(__name__)

RuleRuntime = RecordingEvaluator | AlertingEvaluator
Sample = tuple[Labels, int, float]
DEFAULT_INTERVAL_MS = 60_000


@dataclass(frozen=True)
class RuleEvalResult:
    """What one rule did at one evaluation: samples written (stale markers included)."""

    rule: Rule
    samples: tuple[Sample, ...]
    health: RuleHealthState


@dataclass(frozen=True)
class GroupEvalResult:
    """One evaluation of a group: per-rule results and copies of the alerts afterwards.

    ``alerts`` holds every alert instance the group's alerting rules keep, resolved ones
    still retained included (``alert.resolved_at_ms is not None``).
    """

    ts_ms: int
    rules: tuple[RuleEvalResult, ...]
    alerts: tuple[Alert, ...]
    duration_s: float

    @property
    def samples(self) -> list[Sample]:
        return [sample for rule in self.rules for sample in rule.samples]


def rule_key(rule: Rule, labels: Mapping[str, str]) -> tuple[str, str, tuple]:
    """What identifies a rule across a reload (Prometheus matches by name and labels)."""
    name = rule.alert if isinstance(rule, AlertingRule) else rule.record
    kind = "alert" if isinstance(rule, AlertingRule) else "record"
    return kind, name, tuple(sorted(labels.items()))


class GroupEvaluator:
    """Evaluates a :class:`RuleGroup` rule by rule, in order, at timestamps it is given.

    Each rule queries at ``ts - query_offset``; its samples (and stale markers for series it
    wrote last time but not now) go to ``appender`` in one append, so later rules of the
    group see them. With ``appender=None`` nothing is written; the samples are returned.
    ``restored=False`` holds back ``ALERTS``/``ALERTS_FOR_STATE`` until :mod:`restore`
    has restored the alerts' ``for`` state after a restart.

    With ``querier`` (the store ``appender`` writes to, which ``query`` reads), rules query
    through PromQL over ``querier`` with the group's results so far laid over it
    (:class:`~slo.rules.group_writes.GroupWrites`), and the whole group's samples are
    appended at once at its end: one write per group instead of one per rule. An appender
    whose ``append`` takes ``sync`` (:class:`~collector.store.sql.SqlStore`) commits it with
    ``sync=False``: safe from a crash of the process, not from a power cut (as Prometheus'
    WAL for rule results).
    """

    def __init__(
        self,
        group: RuleGroup,
        *,
        query: QueryFunc,
        appender: Appender | None = None,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        default_interval_ms: int = DEFAULT_INTERVAL_MS,
        default_query_offset_ms: int = 0,
        restored: bool = True,
        querier: Querier | None = None,
    ) -> None:
        self.group = group
        self.query = query
        self.appender = appender
        self._writes = GroupWrites(querier) if querier is not None and appender else None
        self._rule_query = engine_query(Engine(self._writes)) if self._writes else query
        self._unsynced = self._writes is not None and _takes_sync(appender)
        self.interval_ms = group.interval_ms or default_interval_ms
        offset = group.query_offset_ms
        self.query_offset_ms = default_query_offset_ms if offset is None else offset
        self.runtimes: list[RuleRuntime] = [
            self._runtime(rule, external_labels or {}, external_url, restored)
            for rule in group.rules
        ]
        self.health: list[RuleHealthState] = [RuleHealthState() for _ in group.rules]
        self.previous_series: list[set[Labels]] = [set() for _ in group.rules]
        self._written_before: list[set[Labels]] = [set() for _ in group.rules]
        self.stale_series: list[Labels] = []  # of rules removed by a reload
        self.group_health = GroupHealth()

    def _runtime(
        self, rule: Rule, external_labels: Mapping[str, str], external_url: str, restored: bool
    ) -> RuleRuntime:
        labels = {**self.group.labels, **rule.labels}
        if isinstance(rule, AlertingRule):
            return AlertingEvaluator(
                rule,
                labels=labels,
                external_labels=external_labels,
                external_url=external_url,
                restored=restored,
            )
        return RecordingEvaluator(rule, labels=labels)

    @property
    def key(self) -> tuple[str, str]:
        return self.group.file, self.group.name

    def alerting(self) -> list[AlertingEvaluator]:
        return [r for r in self.runtimes if isinstance(r, AlertingEvaluator)]

    def eval(self, ts_ms: int) -> GroupEvalResult:
        """Evaluate every rule at ``ts_ms``; rule errors are recorded in health, not raised."""
        started = time.perf_counter()
        results = tuple(self._eval_rule(i, ts_ms) for i in range(len(self.runtimes)))
        if self._writes is not None:
            results = self._write_group(results)
        self._flush_removed_series(ts_ms)
        duration = time.perf_counter() - started
        self.group_health = GroupHealth(ts_ms, duration)
        alerts = tuple(alert for rule in self.alerting() for alert in rule.alerts())
        return GroupEvalResult(ts_ms, results, alerts, duration)

    def _eval_rule(self, index: int, ts_ms: int) -> RuleEvalResult:
        runtime = self.runtimes[index]
        started = time.perf_counter()
        try:
            samples = runtime.eval(ts_ms, self.query_offset_ms, self._rule_query, self.group.limit)
        except Exception as exc:  # a failing rule must not stop its group: health says why
            if not isinstance(exc, RuleEvalError):
                log.warning("evaluating rule %s failed: %s", runtime.name, exc)
            return self._done(index, ts_ms, started, (), _describe(exc))
        returned = {labels for labels, _, _ in samples}
        at = ts_ms - self.query_offset_ms
        markers = [(lbl, at, STALE_NAN) for lbl in self.previous_series[index] - returned]
        written = tuple(samples + sorted(markers))
        if self._writes is not None:  # stored with the rest of the group: _write_group
            self._writes.add(written)
            self._written_before[index] = self.previous_series[index]
            self.previous_series[index] = returned
            return self._done(index, ts_ms, started, written, "")
        try:
            self._write(written)
        except Exception as exc:  # the store refused the batch; try again next time
            log.warning("storing the results of rule %s failed: %s", runtime.name, exc)
            return self._done(index, ts_ms, started, (), _describe(exc))
        self.previous_series[index] = returned
        return self._done(index, ts_ms, started, written, "")

    def _write_group(self, results: tuple[RuleEvalResult, ...]) -> tuple[RuleEvalResult, ...]:
        """Append the group's samples at once; if the store refuses them, every rule that
        wrote some fails, as it would have alone (and writes them again next time)."""
        assert self._writes is not None
        batch = self._writes.take()
        try:
            if self._unsynced and batch:
                # Derived data: survives a crash of the process without waiting for the
                # disk, as Prometheus' own WAL does for rule results.
                self.appender.append(batch, sync=False)
            else:
                self._write(batch)
        except Exception as exc:  # the store refused the batch; try again next time
            log.warning("storing the results of group %s failed: %s", self.group.name, exc)
            return tuple(self._unwritten(i, r, _describe(exc)) for i, r in enumerate(results))
        return results

    def _unwritten(self, index: int, result: RuleEvalResult, error: str) -> RuleEvalResult:
        if not result.samples:
            return result
        self.previous_series[index] = self._written_before[index]
        health = RuleHealthState(
            RuleHealth.ERR, error, result.health.last_eval_ms, result.health.eval_duration_s
        )
        self.health[index] = health
        return RuleEvalResult(result.rule, (), health)

    def _done(
        self, index: int, ts_ms: int, started: float, samples: tuple[Sample, ...], error: str
    ) -> RuleEvalResult:
        health = RuleHealthState(
            RuleHealth.ERR if error else RuleHealth.OK,
            error,
            ts_ms,
            time.perf_counter() - started,
        )
        self.health[index] = health
        return RuleEvalResult(self.group.rules[index], samples, health)

    def _write(self, samples: Sequence[Sample]) -> None:
        if self.appender is not None and samples:
            self.appender.append(samples)

    def _flush_removed_series(self, ts_ms: int) -> None:
        """Stale markers for series of rules a reload removed (not tied to a rule's health)."""
        if not self.stale_series:
            return
        at = ts_ms - self.query_offset_ms
        markers = tuple((labels, at, STALE_NAN) for labels in sorted(self.stale_series))
        try:
            self._write(markers)
        except Exception as exc:  # keep them for the next evaluation
            log.warning("writing stale markers of removed rules failed: %s", exc)
            return
        self.stale_series = []

    def copy_state(self, old: GroupEvaluator) -> None:
        """Take over alerts and written series from the group this one replaces on reload.

        Rules match by kind, name and labels; with duplicates the first matches the first
        (Prometheus' ``CopyState``). Series of rules without a match are marked stale at the
        next evaluation.
        """
        self.group_health = old.group_health
        unmatched: dict[tuple, list[int]] = {}
        for i, runtime in enumerate(old.runtimes):
            unmatched.setdefault(rule_key(runtime.rule, runtime.labels), []).append(i)
        for i, runtime in enumerate(self.runtimes):
            candidates = unmatched.get(rule_key(runtime.rule, runtime.labels))
            if not candidates:
                continue
            j = candidates.pop(0)
            self.previous_series[i] = set(old.previous_series[j])
            previous = old.runtimes[j]
            if isinstance(runtime, AlertingEvaluator) and isinstance(previous, AlertingEvaluator):
                runtime.active.update(previous.active)
                runtime.evaluated = previous.evaluated
        self.stale_series = list(old.stale_series)
        for indexes in unmatched.values():
            for j in indexes:
                self.stale_series.extend(sorted(old.previous_series[j]))


def _takes_sync(appender: Appender | None) -> bool:
    """Whether ``appender.append`` can skip waiting for the disk (``SqlStore.append``'s
    ``sync`` keyword; a wrapper passing it on has it too)."""
    if appender is None:
        return False
    try:
        return "sync" in inspect.signature(appender.append).parameters
    except (TypeError, ValueError):  # a callable without a signature
        return False


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
