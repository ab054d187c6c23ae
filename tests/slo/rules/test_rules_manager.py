"""RuleManager: slot alignment and offsets, skipped slots, reloads that keep state, stale
markers for removed groups, notification resends, the thread loop, read-only views."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.model import Labels, is_stale_nan
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from slo.rules.alert_notify import notify_alert
from slo.rules.alerting import AlertState
from slo.rules.manager import RuleManager
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.rules.rule_health import RuleHealth
from slo.rules.schedule import eval_timestamp, group_offset_ms, xxh64

MINUTE = 60_000
T0 = 1_700_000_000_000  # a realistic epoch, well away from 0
UP = Labels.of({"__name__": "up", "job": "api"})


@pytest.fixture
def store():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    ts = np.arange(T0 - 10 * MINUTE, T0 + 120 * MINUTE, 15_000, dtype=np.int64)
    store.append_series(UP, ts, np.where(ts >= T0 + 10 * MINUTE, 0.0, 1.0))  # down at +10m
    yield store
    store.close()


def test_xxh64_matches_the_reference_vectors():
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    assert xxh64(b"Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1


@given(
    now=st.integers(min_value=0, max_value=2**45),
    interval=st.integers(min_value=1, max_value=24 * 3_600_000),
    name=st.text(max_size=300),
)
def test_eval_timestamp_is_the_latest_slot_of_the_group(now, interval, name):
    offset = group_offset_ms("f.yml", name, interval)
    assert 0 <= offset < interval
    slot = eval_timestamp(now, interval, offset)
    assert slot <= now < slot + interval
    assert (slot - offset) % interval == 0


def test_groups_are_spread_over_the_interval():
    offsets = {group_offset_ms("rules.yml", f"group-{i}", MINUTE) for i in range(50)}
    assert len(offsets) > 40  # distinct groups rarely share a slot


def scheduled_slots(manager: RuleManager, until_ms: int, step_ms: int) -> list[int]:
    """Call eval_due every ``step_ms`` from T0; the timestamps evaluated."""
    done = []
    for now in range(T0, until_ms + 1, step_ms):
        done += [r.ts_ms for r in manager.eval_due(now)]
    return done


def test_first_call_schedules_then_each_slot_is_evaluated_once(store):
    rule = RecordingRule("one", "vector(1)")
    group = RuleGroup("g", "g.yml", (rule,), interval_ms=MINUTE)
    manager = RuleManager([group], querier=store, appender=store)
    offset = group_offset_ms("g.yml", "g", MINUTE)
    first = eval_timestamp(T0, MINUTE, offset) + MINUTE
    assert scheduled_slots(manager, T0 + 5 * MINUTE, 1_000) == [
        first + i * MINUTE for i in range(5) if first + i * MINUTE <= T0 + 5 * MINUTE
    ]


def test_missed_slots_are_skipped_not_caught_up(store):
    group = RuleGroup("g", "g.yml", (RecordingRule("one", "vector(1)"),), interval_ms=MINUTE)
    manager = RuleManager([group], querier=store, appender=store)
    manager.eval_due(T0)
    due = manager.next_due_ms()
    (result,) = manager.eval_due(due + 3 * MINUTE + 30_000)  # asleep for three slots
    assert result.ts_ms == due + 3 * MINUTE
    assert manager.next_due_ms() == due + 4 * MINUTE
    assert manager.eval_due(due + 3 * MINUTE + 59_000) == []


def test_group_interval_overrides_the_global_one(store):
    fast = RuleGroup("fast", "g.yml", (RecordingRule("a", "vector(1)"),), interval_ms=15_000)
    slow = RuleGroup("slow", "g.yml", (RecordingRule("b", "vector(1)"),))
    manager = RuleManager([fast, slow], querier=store, appender=store, interval_ms=MINUTE)
    counts = {"fast": 0, "slow": 0}
    for now in range(T0, T0 + 10 * MINUTE, 1_000):
        for result in manager.eval_due(now):
            counts["fast" if result.rules[0].rule.record == "a" else "slow"] += 1
    assert counts["slow"] in (9, 10) and counts["fast"] in (39, 40)


def down_group(**rule_args) -> RuleGroup:
    rule = AlertingRule("ApiDown", "up == 0", **rule_args)
    return RuleGroup("api", "api.yml", (rule,), interval_ms=MINUTE)


def test_reload_keeps_state_of_unchanged_and_matching_rules(store):
    manager = RuleManager([down_group(for_ms=2 * MINUTE)], querier=store, appender=store)
    scheduled_slots(manager, T0 + 15 * MINUTE, 15_000)
    (before,) = manager.alerts()
    assert before.state is AlertState.FIRING
    manager.update([down_group(for_ms=2 * MINUTE)])  # identical: nothing changes
    (same,) = manager.alerts()
    assert (same.state, same.active_at_ms) == (before.state, before.active_at_ms)
    extra = RecordingRule("up:copy", "up")
    changed = RuleGroup("api", "api.yml", (*down_group(for_ms=2 * MINUTE).rules, extra))
    manager.update([changed])
    (kept,) = manager.alerts()  # the alerting rule matched by name and labels
    assert (kept.state, kept.active_at_ms, kept.fired_at_ms) == (
        AlertState.FIRING,
        before.active_at_ms,
        before.fired_at_ms,
    )
    manager.update([down_group(for_ms=30 * MINUTE)])  # a longer ``for``: pending again
    (result,) = scheduled_slots_results(manager, T0 + 17 * MINUTE)
    assert [str(a.state) for a in result.alerts] == ["pending"]


def scheduled_slots_results(manager: RuleManager, now: int):
    manager.eval_due(now)
    return manager.eval_due(manager.next_due_ms())


def test_removed_group_series_go_stale_two_intervals_later(store):
    record = RuleGroup("rec", "r.yml", (RecordingRule("up:copy", "up"),), interval_ms=MINUTE)
    manager = RuleManager([record], querier=store, appender=store)
    scheduled_slots(manager, T0 + 5 * MINUTE, 15_000)
    manager.update([])
    removed_at = T0 + 6 * MINUTE
    manager.eval_due(removed_at)
    manager.eval_due(removed_at + 2 * MINUTE - 1)
    copy = [Matcher.equal("__name__", "up:copy")]
    (data,) = store.select(copy, T0, T0 + 20 * MINUTE)
    assert not is_stale_nan(data.values[-1])
    manager.eval_due(removed_at + 2 * MINUTE)
    (data,) = store.select(copy, T0, T0 + 20 * MINUTE)
    assert data.timestamps[-1] == removed_at and is_stale_nan(data.values[-1])


def test_firing_and_resolved_alerts_are_sent_every_resend_delay(store):
    sent: list[tuple[int, str, int | None]] = []

    def notify(alerts, ts):
        sent.extend((ts, str(a.state), a.valid_until_ms) for a in alerts)

    group = RuleGroup(
        "api", "api.yml", (AlertingRule("ApiDown", "up == 0", for_ms=MINUTE),), interval_ms=15_000
    )
    manager = RuleManager([group], querier=store, appender=store, notify=notify)
    manager.eval_due(T0 + 9 * MINUTE)
    fired = None
    while (now := manager.next_due_ms()) < T0 + 16 * MINUTE:
        (result,) = manager.eval_due(now)
        if fired is None and result.alerts and result.alerts[0].state is AlertState.FIRING:
            fired = now
    assert fired is not None
    # Pending alerts are never sent; firing ones at once, then when last send + 1m < now.
    assert [ts - fired for ts, _, _ in sent] == [0, 75_000, 150_000, 225_000]
    assert {until - ts for ts, _, until in sent} == {4 * MINUTE}  # 4 * max(15s, 1m)
    assert {state for _, state, _ in sent} == {"firing"}


def test_a_resolution_is_sent_at_once(store):
    sent = []
    group = RuleGroup("g", "g.yml", (AlertingRule("Flap", "flap == 1"),), interval_ms=MINUTE)
    flap = Labels.of({"__name__": "flap"})
    store.append([(flap, T0 + m * MINUTE, float(m < 5)) for m in range(40)])
    manager = RuleManager(
        [group], querier=store, appender=store, notify=lambda a, ts: sent.extend(a)
    )
    scheduled_slots(manager, T0 + 40 * MINUTE, 15_000)
    resolved = [a for a in sent if a.resolved_at_ms is not None]
    # Sent when resolved and then every resend delay for the 15 minutes it is retained.
    assert len({a.last_sent_at_ms for a in resolved}) == len(resolved) >= 7
    assert all(a.state is AlertState.INACTIVE for a in resolved)
    last = notify_alert(resolved[-1], "http://sloscope.example/")
    assert (last.starts_at_ms, last.ends_at_ms) == (
        resolved[-1].fired_at_ms,
        resolved[-1].resolved_at_ms,
    )
    assert last.resolved(resolved[-1].resolved_at_ms)
    assert last.generator_url == "http://sloscope.example/graph?g0.expr=flap+%3D%3D+1&g0.tab=1"


def test_run_loop_evaluates_on_the_injected_clock_until_stopped(store):
    group = RuleGroup("g", "g.yml", (RecordingRule("one", "vector(1)"),), interval_ms=MINUTE)
    manager = RuleManager([group], querier=store, appender=store)
    stop = threading.Event()
    now = [T0]
    waits: list[float] = []

    def clock() -> int:
        return now[0]

    def wait(seconds: float) -> None:  # simulated time: waiting moves the clock
        waits.append(seconds)
        now[0] += round(seconds * 1000) + 1
        if now[0] > T0 + 5 * MINUTE:
            stop.set()

    manager.run(stop, clock, wait)
    (data,) = store.select([Matcher.equal("__name__", "one")], T0, T0 + 10 * MINUTE)
    offset = group_offset_ms("g.yml", "g", MINUTE)
    first = eval_timestamp(T0, MINUTE, offset) + MINUTE
    assert data.timestamps.tolist() == list(range(first, T0 + 5 * MINUTE + 1, MINUTE))
    # It waits until each next slot, never longer than a minute.
    assert len(waits) == len(data.timestamps) + 1 and max(waits) <= 60


def test_views_report_health_state_and_active_alerts(store):
    groups = [
        down_group(for_ms=2 * MINUTE),
        RuleGroup("bad", "a.yml", (RecordingRule("bad", '"text"'),), interval_ms=MINUTE),
    ]
    manager = RuleManager(groups, querier=store, appender=store)
    assert [s.rules[0].health.health for s in manager.groups()] == [RuleHealth.UNKNOWN] * 2
    scheduled_slots(manager, T0 + 11 * MINUTE, 15_000)
    bad, api = manager.groups()  # ordered by file, then name
    assert (bad.file, api.file) == ("a.yml", "api.yml")
    assert bad.rules[0].health.health is RuleHealth.ERR and bad.rules[0].state is None
    assert api.rules[0].state is AlertState.PENDING and len(api.rules[0].alerts) == 1
    assert api.health.last_eval_ms == api.rules[0].health.last_eval_ms
    assert [str(a.state) for a in manager.alerts()] == ["pending"]


def test_state_is_restored_on_request(store):
    for_state = Labels.of({"__name__": "ALERTS_FOR_STATE", "alertname": "ApiDown", "job": "api"})
    # Before the restart it had been active since +2m and fired at +12m.
    store.append([(for_state, T0 + 14 * MINUTE, (T0 + 2 * MINUTE) / 1000)])
    manager = RuleManager([down_group(for_ms=10 * MINUTE)], querier=store, appender=store)
    manager.eval_due(T0 + 15 * MINUTE)
    manager.eval_due(manager.next_due_ms())  # one evaluation: pending, not restored yet
    manager.restore(T0 + 17 * MINUTE)
    (alert,) = manager.alerts()
    assert alert.active_at_ms == T0 + 2 * MINUTE
    (result,) = manager.eval_due(manager.next_due_ms())
    assert result.alerts[0].state is AlertState.FIRING


def test_views_do_not_wait_for_an_evaluation_in_progress(store):
    entered, release = threading.Event(), threading.Event()

    def slow_query(expr, ts):
        entered.set()
        release.wait()
        return []

    group = RuleGroup("g", "g.yml", (RecordingRule("one", "vector(1)"),), interval_ms=MINUTE)
    manager = RuleManager([group], querier=store, appender=store, query=slow_query)
    manager.eval_due(T0)
    evaluating = threading.Thread(target=manager.eval_due, args=(manager.next_due_ms(),))
    evaluating.start()
    try:
        assert entered.wait(30)  # deadlock guard only
        (status,) = manager.groups()  # answered from the last snapshot, mid-evaluation
        assert status.health.last_eval_ms is None
    finally:
        release.set()
        evaluating.join()
    assert manager.groups()[0].health.last_eval_ms is not None
