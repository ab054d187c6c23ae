"""The alert state machine over a scripted outage: the exact evaluation timestamps at which an
alert goes pending, fires, resolves and is forgotten (Prometheus' rules/alerting.go)."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import Labels, is_stale_nan
from collector.promql.engine import Engine
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from slo.rules.alerting import AlertState
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.model import AlertingRule, RuleGroup
from slo.rules.rule_health import RuleHealth

MINUTE = 60_000
UP = Labels.of({"__name__": "up", "job": "api"})
DOWN_ALERT = Labels.of({"alertname": "ApiDown", "job": "api", "severity": "page"})


@pytest.fixture
def store():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    yield store
    store.close()


def write_outage(store: SqlStore, down_from_min: float, down_until_min: float) -> None:
    """``up`` every 15 s for 45 minutes, 0 during [down_from, down_until)."""
    ts = np.arange(0, 45 * MINUTE, 15_000, dtype=np.int64)
    down = (ts >= down_from_min * MINUTE) & (ts < down_until_min * MINUTE)
    store.append_series(UP, ts, np.where(down, 0.0, 1.0))


def evaluator_for(store: SqlStore, rule: AlertingRule, **group_args) -> GroupEvaluator:
    group = RuleGroup("api", "api.yml", (rule,), **group_args)
    return GroupEvaluator(group, query=engine_query(Engine(store)), appender=store)


def down_rule(**kwargs) -> AlertingRule:
    return AlertingRule("ApiDown", "up == 0", labels={"severity": "page"}, **kwargs)


def state_table(evaluator: GroupEvaluator, minutes) -> list[tuple[int, str | None]]:
    """(minute, state of the ApiDown alert after evaluating at that minute)."""
    table = []
    for minute in minutes:
        result = evaluator.eval(minute * MINUTE)
        states = [str(a.state) for a in result.alerts if a.labels == DOWN_ALERT]
        assert len(states) <= 1
        table.append((minute, states[0] if states else None))
    return table


def expected(*runs: tuple[range, str | None]) -> list[tuple[int, str | None]]:
    return [(minute, state) for minutes, state in runs for minute in minutes]


def test_outage_goes_pending_fires_resolves_and_is_forgotten_after_15_minutes(store):
    write_outage(store, 10, 20)
    evaluator = evaluator_for(store, down_rule(for_ms=3 * MINUTE))
    assert state_table(evaluator, range(0, 41)) == expected(
        (range(0, 10), None),
        (range(10, 13), "pending"),
        (range(13, 20), "firing"),
        # Resolved at 20m and retained for notifications while ts - resolved <= 15m.
        (range(20, 36), "inactive"),
        (range(36, 41), None),
    )


def test_resolved_alert_keeps_its_times(store):
    write_outage(store, 10, 20)
    evaluator = evaluator_for(store, down_rule(for_ms=3 * MINUTE))
    for minute in range(0, 21):
        result = evaluator.eval(minute * MINUTE)
    (alert,) = result.alerts
    assert (alert.active_at_ms, alert.fired_at_ms, alert.resolved_at_ms) == (
        10 * MINUTE,
        13 * MINUTE,
        20 * MINUTE,
    )
    assert alert.state is AlertState.INACTIVE
    assert evaluator.alerting()[0].active_alerts() == []


def test_keep_firing_for_holds_the_alert_after_the_condition_clears(store):
    write_outage(store, 10, 20)
    evaluator = evaluator_for(store, down_rule(for_ms=3 * MINUTE, keep_firing_for_ms=5 * MINUTE))
    assert state_table(evaluator, range(8, 28)) == expected(
        (range(8, 10), None),
        (range(10, 13), "pending"),
        (range(13, 25), "firing"),  # 20m..24m: kept firing, ts - keep_firing_since < 5m
        (range(25, 28), "inactive"),
    )


def test_keep_firing_for_restarts_when_the_condition_returns(store):
    ts = np.arange(0, 45 * MINUTE, 15_000, dtype=np.int64)
    minute = ts // MINUTE
    down = ((minute >= 10) & (minute < 12)) | ((minute >= 14) & (minute < 15))
    store.append_series(UP, ts, np.where(down, 0.0, 1.0))
    evaluator = evaluator_for(store, down_rule(keep_firing_for_ms=3 * MINUTE))
    assert state_table(evaluator, range(9, 20)) == expected(
        (range(9, 10), None),
        (range(10, 18), "firing"),  # held 12m..13m, back at 14m, held 15m..17m
        (range(18, 20), "inactive"),
    )


def test_pending_alert_that_clears_before_for_is_dropped_not_resolved(store):
    write_outage(store, 10, 12)
    evaluator = evaluator_for(store, down_rule(for_ms=3 * MINUTE))
    assert state_table(evaluator, range(9, 14)) == expected(
        (range(9, 10), None), (range(10, 12), "pending"), (range(12, 14), None)
    )


def test_for_zero_fires_at_the_first_evaluation(store):
    write_outage(store, 10, 20)
    evaluator = evaluator_for(store, down_rule())
    assert state_table(evaluator, range(9, 12)) == [(9, None), (10, "firing"), (11, "firing")]


def test_alert_that_returns_after_resolving_starts_over_pending(store):
    ts = np.arange(0, 45 * MINUTE, 15_000, dtype=np.int64)
    minute = ts // MINUTE
    down = ((minute >= 10) & (minute < 12)) | (minute >= 13)
    store.append_series(UP, ts, np.where(down, 0.0, 1.0))
    evaluator = evaluator_for(store, down_rule(for_ms=MINUTE))
    assert state_table(evaluator, range(10, 16)) == [
        (10, "pending"),
        (11, "firing"),
        (12, "inactive"),
        (13, "pending"),
        (14, "firing"),
        (15, "firing"),
    ]
    (alert,) = evaluator.alerting()[0].active_alerts()
    assert alert.active_at_ms == 13 * MINUTE


def test_alerts_series_follow_the_states_with_stale_markers(store):
    write_outage(store, 10, 20)
    evaluator = evaluator_for(store, down_rule(for_ms=2 * MINUTE))
    for minute in range(9, 22):
        evaluator.eval(minute * MINUTE)
    series = {
        d.labels.get("alertstate") or d.labels.metric_name: d
        for d in store.select([Matcher.regex("__name__", "ALERTS.*")], 0, 30 * MINUTE)
    }
    pending, firing, for_state = series["pending"], series["firing"], series["ALERTS_FOR_STATE"]
    assert dict(firing.labels) == {
        "__name__": "ALERTS",
        "alertname": "ApiDown",
        "alertstate": "firing",
        "job": "api",
        "severity": "page",
    }
    minutes = lambda d: (d.timestamps // MINUTE).tolist()  # noqa: E731
    assert minutes(pending) == [10, 11, 12]
    assert pending.values[:2].tolist() == [1.0, 1.0] and is_stale_nan(pending.values[2])
    assert minutes(firing) == list(range(12, 21))
    assert set(firing.values[:-1].tolist()) == {1.0} and is_stale_nan(firing.values[-1])
    assert set(for_state.values[:-1].tolist()) == {10 * 60.0}  # active since, unix seconds
    assert minutes(for_state)[-1] == 20 and is_stale_nan(for_state.values[-1])


def test_value_and_annotations_follow_the_latest_sample(store):
    errors = Labels.of({"__name__": "errors", "job": "api"})
    store.append([(errors, m * MINUTE, float(m)) for m in range(0, 5)])
    rule = AlertingRule("Errors", "errors > 1", annotations={"summary": "too many errors"})
    evaluator = evaluator_for(store, rule)
    for minute in (2, 3, 4):
        result = evaluator.eval(minute * MINUTE)
    (alert,) = result.alerts
    assert (alert.value, alert.active_at_ms, alert.annotations) == (
        4.0,
        2 * MINUTE,
        {"summary": "too many errors"},
    )
    assert dict(alert.labels) == {"alertname": "Errors", "job": "api"}


def test_rule_labels_override_sample_labels_and_group_labels(store):
    store.append([(Labels.of({"__name__": "x", "team": "web", "env": "prod"}), 0, 1.0)])
    rule = AlertingRule("X", "x", labels={"team": "sre", "env": ""})
    evaluator = evaluator_for(store, rule, labels={"team": "db", "tier": "1"})
    (alert,) = evaluator.eval(MINUTE).alerts
    # Rule labels win over group labels; an empty value removes the label.
    assert dict(alert.labels) == {"alertname": "X", "team": "sre", "tier": "1"}


def test_duplicate_label_sets_after_dropping_the_name_fail_the_rule(store):
    store.append(
        [
            (Labels.of({"__name__": "a", "job": "x"}), 0, 1.0),
            (Labels.of({"__name__": "b", "job": "x"}), 0, 1.0),
        ]
    )
    evaluator = evaluator_for(store, AlertingRule("Dup", '{__name__=~"a|b"}'))
    result = evaluator.eval(MINUTE)
    assert result.alerts == ()
    assert result.rules[0].health.health is RuleHealth.ERR
    assert result.rules[0].health.last_error == (
        "vector contains metrics with the same labelset after applying alert labels"
    )


def test_more_alerts_than_the_limit_fail_the_rule_and_drop_its_alerts(store):
    store.append([(Labels.of({"__name__": "x", "i": str(i)}), 0, 1.0) for i in range(3)])
    evaluator = evaluator_for(store, AlertingRule("X", "x", for_ms=MINUTE), limit=2)
    result = evaluator.eval(MINUTE)
    assert result.rules[0].health.last_error == "exceeded limit of 2 with 3 alerts"
    assert result.alerts == () and result.samples == []
    assert (
        evaluator_for(store, AlertingRule("X", "x"), limit=3).eval(MINUTE).rules[0].health.health
        is RuleHealth.OK
    )


def test_rule_state_is_the_highest_of_its_alerts(store):
    store.append(
        [
            (Labels.of({"__name__": "x", "i": "1"}), 0, 1.0),
            (Labels.of({"__name__": "x", "i": "2"}), 2 * MINUTE, 1.0),
        ]
    )
    evaluator = evaluator_for(store, AlertingRule("X", "x", for_ms=MINUTE))
    rule = evaluator.alerting()[0]
    assert rule.state() is AlertState.UNKNOWN
    evaluator.eval(0)
    assert rule.state() is AlertState.PENDING
    evaluator.eval(2 * MINUTE)
    assert rule.state() is AlertState.FIRING
    assert sorted(str(a.state) for a in rule.active_alerts()) == ["firing", "pending"]


def test_labels_and_annotations_are_templated_and_a_broken_template_is_shown(store):
    errors = Labels.of({"__name__": "errors", "job": "api"})
    store.append([(errors, 0, 0.75)])
    rule = AlertingRule(
        "Errors",
        "errors",
        labels={"severity": "{{ if gt $value 0.5 }}page{{ else }}ticket{{ end }}"},
        annotations={
            "summary": "{{ $labels.job }} errors at {{ $value | humanizePercentage }}",
            "broken": "{{ .Labels.job",
        },
    )
    result = evaluator_for(store, rule).eval(MINUTE)
    (alert,) = result.alerts
    assert dict(alert.labels) == {"alertname": "Errors", "job": "api", "severity": "page"}
    assert alert.annotations["summary"] == "api errors at 75%"
    assert alert.annotations["broken"].startswith(
        "<error expanding template: error parsing template __alert_Errors:"
    )
    assert result.rules[0].health.health is RuleHealth.OK
