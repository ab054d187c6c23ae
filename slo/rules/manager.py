"""The rule manager: evaluates every group on its own aligned slots, restores alert state
after a restart, survives reloads, and hands due alerts to the notifier.

It has no clock of its own. :meth:`RuleManager.eval_due` evaluates the groups whose slot has
come at the given time; :meth:`RuleManager.run` is the thread loop that asks a clock.

>>> from collector.store.sql import SqlStore
>>> from slo.rules.model import RecordingRule, RuleGroup
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> group = RuleGroup("g", "f.yml", (RecordingRule("one", "vector(1)"),), interval_ms=60_000)
>>> manager = RuleManager([group], querier=store, appender=store)
>>> manager.eval_due(0)  # the first call only schedules the next slot
[]
>>> due = manager.next_due_ms(); due == group_offset_ms("f.yml", "g", 60_000)
True
>>> [r.ts_ms == due for r in manager.eval_due(due)]
[True]
>>> store.close()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from collector.model import STALE_NAN, Labels
from collector.promql.engine import Engine
from collector.store.interfaces import Appender, Querier
from slo.rules.alerting import Alert
from slo.rules.engine_query import engine_query
from slo.rules.group import DEFAULT_INTERVAL_MS, GroupEvalResult, GroupEvaluator
from slo.rules.model import QueryFunc, RuleGroup
from slo.rules.restore import (
    DEFAULT_FOR_GRACE_PERIOD_MS,
    DEFAULT_OUTAGE_TOLERANCE_MS,
    restore_for_state,
)
from slo.rules.rule_health import RuleHealth
from slo.rules.schedule import eval_timestamp, group_offset_ms
from slo.rules.status import GroupStatus, group_status

__all__ = ["DEFAULT_RESEND_DELAY_MS", "NotifyFunc", "RuleManager", "wall_clock_ms"]

log = logging.getLogger(__name__)

#: Receives the alerts due to be sent and the evaluation timestamp they were evaluated at.
NotifyFunc = Callable[[list[Alert], int], None]
#: Prometheus' ``--rules.alert.resend-delay``.
DEFAULT_RESEND_DELAY_MS = 60_000
_IDLE_WAIT_MS = 1_000


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Scheduled:
    evaluator: GroupEvaluator
    offset_ms: int
    next_ms: int | None = None  # None until the first eval_due call schedules it
    evaluations: int = 0
    should_restore: bool = False


@dataclass
class _Retired:
    """Series of a group a reload removed: marked stale two intervals later (by then a
    renamed group has written its own samples, which the markers must not end)."""

    series: list[Labels]
    interval_ms: int
    query_offset_ms: int
    stamp_ms: int | None = None


class RuleManager:
    """Runs rule groups against a store.

    ``querier`` is what queries (and the ``for``-state restore) read; ``appender`` is where
    results go. ``notify`` receives firing and recently resolved alerts every
    ``resend_delay_ms``; each carries ``valid_until_ms`` (``endsAt`` while active).
    """

    def __init__(
        self,
        groups: Iterable[RuleGroup],
        *,
        querier: Querier,
        appender: Appender | None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        notify: NotifyFunc | None = None,
        query: QueryFunc | None = None,
        resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
        outage_tolerance_ms: int = DEFAULT_OUTAGE_TOLERANCE_MS,
        for_grace_period_ms: int = DEFAULT_FOR_GRACE_PERIOD_MS,
        default_query_offset_ms: int = 0,
    ) -> None:
        self.querier = querier
        self.appender = appender
        self.interval_ms = interval_ms
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.notify = notify
        self.query = query or engine_query(Engine(querier))
        # Rules reading the store they write to (directly or through a wrapper keeping it
        # as ``.store``, like the server's timing appender) store a group's results in one
        # write.
        writes_querier = appender is querier or getattr(appender, "store", None) is querier
        self._group_querier = querier if query is None and writes_querier else None
        self.resend_delay_ms = resend_delay_ms
        self.outage_tolerance_ms = outage_tolerance_ms
        self.for_grace_period_ms = for_grace_period_ms
        self.default_query_offset_ms = default_query_offset_ms
        # Evaluation and reloads take turns under ``_lock``; the API reads snapshots
        # published after each evaluation, so it never waits for a slow query.
        self._lock = threading.RLock()
        self._views_lock = threading.Lock()
        self._views: dict[tuple[str, str], GroupStatus] = {}
        self._retired: list[_Retired] = []
        # Groups present at start restore their alerts' state; groups added by a reload
        # start fresh (Prometheus' default).
        self._groups = {(g.file, g.name): self._schedule(g, should_restore=True) for g in groups}
        self._publish()

    def _schedule(self, group: RuleGroup, *, should_restore: bool) -> _Scheduled:
        evaluator = GroupEvaluator(
            group,
            query=self.query,
            appender=self.appender,
            external_labels=self.external_labels,
            external_url=self.external_url,
            default_interval_ms=self.interval_ms,
            default_query_offset_ms=self.default_query_offset_ms,
            restored=not should_restore,
            querier=self._group_querier,
        )
        offset = group_offset_ms(group.file, group.name, evaluator.interval_ms)
        return _Scheduled(evaluator, offset, should_restore=should_restore)

    # -- evaluation ----------------------------------------------------------------------

    def eval_due(self, now_ms: int) -> list[GroupEvalResult]:
        """Evaluate every group whose slot has come by ``now_ms``, at that slot.

        A group evaluates at most once per call, at its latest due slot: missed slots are
        skipped, not caught up. The first call only schedules each group's first slot, one
        interval after the slot in progress (as Prometheus waits after it starts).
        """
        with self._lock:
            due = []
            for sched in self._groups.values():
                interval = sched.evaluator.interval_ms
                if sched.next_ms is None:
                    sched.next_ms = eval_timestamp(now_ms, interval, sched.offset_ms) + interval
                elif now_ms >= sched.next_ms:
                    due.append((eval_timestamp(now_ms, interval, sched.offset_ms), sched))
            due.sort(key=lambda item: (item[0], item[1].evaluator.key))
            results = [self._evaluate(sched, ts, now_ms) for ts, sched in due]
            self._mark_retired_stale(now_ms)
            return results

    def _evaluate(self, sched: _Scheduled, ts_ms: int, now_ms: int) -> GroupEvalResult:
        evaluator = sched.evaluator
        result = evaluator.eval(ts_ms)
        sched.next_ms = ts_ms + evaluator.interval_ms
        sched.evaluations += 1
        self._send(evaluator, result)
        # Restore after the second evaluation: by then recording rules have caught up with
        # the data the alerts depend on.
        if sched.should_restore and sched.evaluations >= 2:
            self._restore(sched, now_ms)
        self._publish(sched)
        return result

    def _send(self, evaluator: GroupEvaluator, result: GroupEvalResult) -> None:
        if self.notify is None:
            return
        due: list[Alert] = []
        ok = {id(r.rule) for r in result.rules if r.health.health is RuleHealth.OK}
        for rule in evaluator.alerting():
            if id(rule.rule) in ok:
                due += rule.alerts_to_send(
                    result.ts_ms, self.resend_delay_ms, evaluator.interval_ms
                )
        if due:
            try:
                self.notify(due, result.ts_ms)
            except Exception as exc:  # the notifier's trouble must not stop evaluation
                log.error("notifying alerts of %s failed: %s", evaluator.key, exc)

    def next_due_ms(self) -> int | None:
        """The earliest scheduled slot (``None`` before the first :meth:`eval_due`)."""
        with self._lock:
            slots = [s.next_ms for s in self._groups.values() if s.next_ms is not None]
            return min(slots, default=None)

    def restore(self, now_ms: int) -> None:
        """Restore the ``for`` state of every group still waiting for it, now."""
        with self._lock:
            for sched in self._groups.values():
                if sched.should_restore:
                    self._restore(sched, now_ms)
                    self._publish(sched)

    def _restore(self, sched: _Scheduled, now_ms: int) -> None:
        restore_for_state(
            sched.evaluator,
            self.querier,
            now_ms,
            outage_tolerance_ms=self.outage_tolerance_ms,
            for_grace_period_ms=self.for_grace_period_ms,
        )
        sched.should_restore = False

    # -- reload --------------------------------------------------------------------------

    def update(self, groups: Iterable[RuleGroup]) -> None:
        """Replace the rule set. Unchanged groups go on untouched; changed groups keep the
        alerts and series of rules with the same name and labels; removed groups' series
        are marked stale."""
        with self._lock:
            fresh: dict[tuple[str, str], _Scheduled] = {}
            for group in groups:
                key = (group.file, group.name)
                old = self._groups.pop(key, None)
                if old is not None and _same_group(old.evaluator.group, group):
                    fresh[key] = old
                    continue
                sched = self._schedule(group, should_restore=False)
                if old is not None:
                    sched.evaluator.copy_state(old.evaluator)
                fresh[key] = sched
            for old in self._groups.values():
                series = sorted({s for prev in old.evaluator.previous_series for s in prev})
                series += old.evaluator.stale_series
                if series:
                    ev = old.evaluator
                    self._retired.append(_Retired(series, ev.interval_ms, ev.query_offset_ms))
            self._groups = fresh
            self._publish()

    def _mark_retired_stale(self, now_ms: int) -> None:
        waiting = []
        for retired in self._retired:
            if retired.stamp_ms is None:
                retired.stamp_ms = now_ms
            if now_ms < retired.stamp_ms + 2 * retired.interval_ms:
                waiting.append(retired)
                continue
            at = retired.stamp_ms - retired.query_offset_ms
            try:
                if self.appender is not None:
                    self.appender.append([(s, at, STALE_NAN) for s in retired.series])
            except Exception as exc:  # series of a removed group: best effort, like Prometheus
                log.warning("stale markers for a removed rule group failed: %s", exc)
        self._retired = waiting

    # -- loop ----------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        clock: Callable[[], int] = wall_clock_ms,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        """Evaluate groups as their slots come until ``stop`` is set (a thread's target).

        ``clock`` returns the time in ms since the epoch; ``wait(seconds)`` waits until the
        next slot (default: ``stop.wait``, so setting ``stop`` ends the wait at once). Tests
        inject both to run the loop on simulated time.
        """
        wait = stop.wait if wait is None else wait
        while not stop.is_set():
            try:
                self.eval_due(clock())
            except Exception:  # keep evaluating: one bad cycle must not end alerting
                log.exception("rule evaluation cycle failed")
            due = self.next_due_ms()
            wait_ms = _IDLE_WAIT_MS if due is None else min(max(0, due - clock()), 60_000)
            wait(wait_ms / 1000)

    # -- views ---------------------------------------------------------------------------

    def _publish(self, sched: _Scheduled | None = None) -> None:
        """Refresh the snapshots the views read: one group's, or all (after a reload)."""
        if sched is not None:
            status = group_status(sched.evaluator)
            with self._views_lock:
                self._views[sched.evaluator.key] = status
            return
        views = {key: group_status(s.evaluator) for key, s in self._groups.items()}
        with self._views_lock:
            self._views = views

    def groups(self) -> list[GroupStatus]:
        """Snapshots of all groups, ordered by file then name (as Prometheus lists them)."""
        with self._views_lock:
            return [self._views[key] for key in sorted(self._views)]

    def alerts(self) -> list[Alert]:
        """Copies of every pending and firing alert."""
        rules = [rule for status in self.groups() for rule in status.rules]
        return [alert.copy() for rule in rules for alert in rule.alerts]


def _same_group(a: RuleGroup, b: RuleGroup) -> bool:
    """Equal apart from where things were written (moving a rule in its file is no change)."""
    return replace(a, position=None, rules=_unplaced(a)) == replace(
        b, position=None, rules=_unplaced(b)
    )


def _unplaced(group: RuleGroup) -> tuple:
    return tuple(replace(rule, position=None) for rule in group.rules)
