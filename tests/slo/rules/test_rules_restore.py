"""Alert state survives a restart: a new manager on the same store restores ``for`` state from
``ALERTS_FOR_STATE`` with Prometheus' grace period and outage tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from slo.rules.alerting import AlertState
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.manager import RuleManager
from slo.rules.model import AlertingRule, RuleGroup
from slo.rules.restore import restore_for_state, restored_active_at
from slo.rules.schedule import group_offset_ms

MINUTE = 60_000
UP = Labels.of({"__name__": "up", "job": "api"})
OFFSET = group_offset_ms("api.yml", "api", MINUTE)


def group(for_minutes: int) -> RuleGroup:
    rule = AlertingRule("ApiDown", "up == 0", for_ms=for_minutes * MINUTE)
    return RuleGroup("api", "api.yml", (rule,), interval_ms=MINUTE)


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = SqlStore(url)
    store.open()
    ts = np.arange(0, 120 * MINUTE, 15_000, dtype=np.int64)
    store.append_series(UP, ts, np.where(ts >= 10 * MINUTE, 0.0, 1.0))  # down from 10m on
    store.close()
    return url


def run_manager(url: str, rules: RuleGroup, start_min: int, stop_min: int) -> dict[int, tuple]:
    """Run a fresh manager from ``start`` to ``stop`` (minutes); the alert after each slot."""
    store = SqlStore(url)
    store.open()
    try:
        manager = RuleManager([rules], querier=store, appender=store)
        manager.eval_due(start_min * MINUTE)
        seen = {}
        while (now := manager.next_due_ms()) <= stop_min * MINUTE:
            manager.eval_due(now)
            alerts = manager.alerts()
            seen[(now - OFFSET) // MINUTE] = (
                (str(alerts[0].state), alerts[0].active_at_ms) if alerts else None
            )
        return seen
    finally:
        store.close()


def test_a_firing_alert_fires_again_right_after_restore(store_url):
    before = run_manager(store_url, group(10), 0, 25)
    active_at = 10 * MINUTE + OFFSET
    assert before[19] == ("pending", active_at) and before[20] == ("firing", active_at)
    after = run_manager(store_url, group(10), 30, 36)  # five minutes down
    # Two evaluations (the first one at the next slot), then the restore: the evaluation
    # after it fires the alert again. Stored state has whole seconds.
    restored = active_at // 1000 * 1000
    assert after == {
        30: ("pending", 30 * MINUTE + OFFSET),
        31: ("pending", restored),
        32: ("firing", restored),
        33: ("firing", restored),
        34: ("firing", restored),
        35: ("firing", restored),
    }


def test_pending_time_before_the_restart_still_counts(store_url):
    run_manager(store_url, group(30), 0, 15)  # pending since 10m, 5m of 30m spent
    after = run_manager(store_url, group(30), 20, 70)
    firing = [minute for minute, alert in after.items() if alert[0] == "firing"]
    # Last state at 14m, restore at 21m: the active time moves 7m on, so it fires at 47m.
    assert firing[0] == 47


def test_without_stored_state_the_alert_waits_its_whole_for(store_url):
    after = run_manager(store_url, group(10), 30, 45)
    assert [m for m, a in after.items() if a[0] == "firing"][0] == 40


def test_outage_longer_than_the_tolerance_forgets_the_state(store_url):
    run_manager(store_url, group(10), 0, 25)
    after = run_manager(store_url, group(10), 90, 105)  # down 65m > 1h tolerance
    assert [m for m, a in after.items() if a[0] == "firing"][0] == 100


def test_rules_with_for_under_the_grace_period_are_not_restored(store_url):
    run_manager(store_url, group(5), 0, 25)
    after = run_manager(store_url, group(5), 30, 40)
    assert [m for m, a in after.items() if a[0] == "firing"][0] == 35


@pytest.mark.parametrize(
    ("down_at_s", "active_at_s", "restore_at_s", "expected_s", "case"),
    [
        (1500, 600, 1800, 600, "was firing: keeps its active time"),
        (900, 600, 1800, 1800 + 600 - 600, "less than grace left: fires grace after restore"),
        (700, 600, 1800, 600 + 1100, "else: shifted by the outage"),
    ],
)
def test_restored_active_at_branches(down_at_s, active_at_s, restore_at_s, expected_s, case):
    # hold 10m; grace 10m, except the third row whose hold is 30m (25m+ left).
    hold_ms = 600_000 if "shifted" not in case else 1_800_000
    got = restored_active_at(
        (down_at_s * 1000 + 999, float(active_at_s)),
        restore_at_s * 1000,
        hold_ms=hold_ms,
        for_grace_period_ms=600_000,
    )
    assert got == expected_s * 1000, case


def test_a_stale_for_state_means_the_alert_had_ended(tmp_path):
    store = SqlStore(f"sqlite:///{tmp_path / 'stale.db'}")
    store.open()
    try:
        flag = Labels.of({"__name__": "broken", "job": "api"})
        rules = RuleGroup("g", "g.yml", (AlertingRule("Broken", "broken == 1", for_ms=600_000),))
        query = engine_query(Engine(store))
        first = GroupEvaluator(rules, query=query, appender=store)
        store.append([(flag, m * MINUTE, 1.0) for m in range(10, 22)])
        for minute in range(10, 22):
            first.eval(minute * MINUTE)
        store.append([(flag, 22 * MINUTE, 0.0)])  # recovers: the alert resolves at 22m
        first.eval(22 * MINUTE)
        store.append([(flag, 23 * MINUTE, 1.0)])  # and breaks again
        second = GroupEvaluator(rules, query=query, appender=store, restored=False)
        second.eval(23 * MINUTE)
        restore_for_state(second, store, 23 * MINUTE)
        (alert,) = second.alerting()[0].active_alerts()
        assert (alert.state, alert.active_at_ms) == (AlertState.PENDING, 23 * MINUTE)
        assert second.alerting()[0].restored
    finally:
        store.close()
