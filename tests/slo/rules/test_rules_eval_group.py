"""GroupEvaluator: recording rules written back and read by later rules, stale markers,
query_offset, group labels, limits, health, and writing nothing without an appender."""

from __future__ import annotations

import math

import pytest

from collector.model import Labels, is_stale_nan
from collector.promql.engine import Engine
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.rules.rule_health import RuleHealth

MINUTE = 60_000


@pytest.fixture
def store():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    yield store
    store.close()


def requests(code: str) -> Labels:
    return Labels.of({"__name__": "requests_total", "job": "api", "code": code})


def evaluator_for(store, *rules, appender="store", **group_args) -> GroupEvaluator:
    group = RuleGroup("g", "g.yml", tuple(rules), **group_args)
    return GroupEvaluator(
        group,
        query=engine_query(Engine(store)),
        appender=store if appender == "store" else appender,
    )


def stored(store, name: str, start=0, end=60 * MINUTE) -> dict[Labels, list]:
    return {
        d.labels: list(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
        for d in store.select([Matcher.equal("__name__", name)], start, end)
    }


def test_recorded_series_are_stored_and_feed_later_rules_of_the_group(store):
    store.append([(requests("200"), 0, 90.0), (requests("500"), 0, 10.0)])
    evaluator = evaluator_for(
        store,
        RecordingRule("job:requests:sum", "sum by (job) (requests_total)"),
        RecordingRule("job:requests:double", "job:requests:sum * 2", labels={"kind": "x2"}),
    )
    result = evaluator.eval(MINUTE)
    assert [(str(labels), ts, value) for labels, ts, value in result.samples] == [
        ('job:requests:sum{job="api"}', MINUTE, 100.0),
        ('job:requests:double{job="api", kind="x2"}', MINUTE, 200.0),
    ]
    assert stored(store, "job:requests:double") == {
        Labels.of({"__name__": "job:requests:double", "job": "api", "kind": "x2"}): [
            (MINUTE, 200.0)
        ]
    }


def test_a_series_that_disappears_gets_a_stale_marker_once(store):
    store.append([(requests("200"), 0, 1.0), (requests("500"), 0, 1.0)])
    store.append([(requests("200"), 6 * MINUTE, 1.0)])  # 500 is gone after 5m lookback
    evaluator = evaluator_for(store, RecordingRule("copy", "requests_total"))
    for minute in (1, 6, 7):
        evaluator.eval(minute * MINUTE)
    got = stored(store, "copy")
    gone = got[Labels.of({"__name__": "copy", "job": "api", "code": "500"})]
    assert [ts for ts, _ in gone] == [MINUTE, 6 * MINUTE]
    assert is_stale_nan(gone[1][1])
    kept = got[Labels.of({"__name__": "copy", "job": "api", "code": "200"})]
    assert kept == [(MINUTE, 1.0), (6 * MINUTE, 1.0), (7 * MINUTE, 1.0)]


def test_query_offset_queries_and_writes_earlier(store):
    store.append([(requests("200"), 0, 1.0), (requests("200"), 2 * MINUTE, 5.0)])
    evaluator = evaluator_for(
        store, RecordingRule("copy", "requests_total"), query_offset_ms=MINUTE
    )
    result = evaluator.eval(3 * MINUTE)
    # At 3m with a 1m offset the query runs at 2m, and the sample is written at 2m.
    assert [(ts, v) for _, ts, v in result.samples] == [(2 * MINUTE, 5.0)]
    alerting = evaluator_for(
        store, AlertingRule("A", "requests_total > 2"), query_offset_ms=MINUTE
    ).eval(3 * MINUTE)
    assert {ts for _, ts, _ in alerting.samples} == {2 * MINUTE}
    assert alerting.alerts[0].active_at_ms == 3 * MINUTE  # the alert's clock is not offset


def test_group_labels_apply_to_recorded_series_and_rule_labels_win(store):
    store.append([(requests("200"), 0, 1.0)])
    evaluator = evaluator_for(
        store,
        RecordingRule("copy", "requests_total", labels={"team": "web", "code": ""}),
        labels={"team": "sre", "region": "eu"},
    )
    ((labels, _, _),) = evaluator.eval(MINUTE).samples
    assert dict(labels) == {"__name__": "copy", "job": "api", "team": "web", "region": "eu"}


def test_recording_duplicates_and_limit_are_rule_errors(store):
    store.append([(requests("200"), 0, 1.0), (requests("500"), 0, 1.0)])
    evaluator = evaluator_for(
        store,
        RecordingRule("dup", "requests_total", labels={"code": ""}),
        RecordingRule("copy", "requests_total"),
        limit=1,
    )
    result = evaluator.eval(MINUTE)
    assert [r.health.last_error for r in result.rules] == [
        "vector contains metrics with the same labelset after applying rule labels",
        "exceeded limit of 1 with 2 series",
    ]
    assert result.samples == [] and stored(store, "copy") == {}


def test_health_is_unknown_then_ok_or_err_and_a_failing_rule_does_not_stop_the_group(store):
    evaluator = evaluator_for(
        store, RecordingRule("broken", '"a string"'), RecordingRule("now", "time()")
    )
    assert [h.health for h in evaluator.health] == [RuleHealth.UNKNOWN, RuleHealth.UNKNOWN]
    result = evaluator.eval(5 * MINUTE)
    broken, ok = result.rules
    assert broken.health.health is RuleHealth.ERR
    assert broken.health.last_error == "rule result is not a vector or scalar"
    assert ok.health.health is RuleHealth.OK and ok.health.last_error == ""
    # A scalar result is recorded as one series without labels but the name.
    assert [(dict(lbl), v) for lbl, _, v in ok.samples] == [({"__name__": "now"}, 300.0)]
    assert {h.last_eval_ms for h in evaluator.health} == {5 * MINUTE}
    assert evaluator.group_health.last_eval_ms == 5 * MINUTE
    assert evaluator.group_health.eval_duration_s >= max(
        h.eval_duration_s for h in evaluator.health
    )


def test_store_refusing_the_batch_marks_the_rule_unhealthy(store):
    store.append([(requests("200"), 0, 1.0)])
    evaluator = evaluator_for(store, RecordingRule("copy", "requests_total"))
    evaluator.eval(MINUTE)
    store.close()  # appends now fail: the rule reports it, evaluation goes on
    query_store = SqlStore("sqlite:///:memory:")
    query_store.open()
    try:
        query_store.append([(requests("200"), 0, 1.0)])
        evaluator.query = engine_query(Engine(query_store))
        result = evaluator.eval(2 * MINUTE)
    finally:
        query_store.close()
        store.open()
    assert result.rules[0].health.health is RuleHealth.ERR
    assert "not open" in result.rules[0].health.last_error


def test_without_an_appender_nothing_is_written_but_samples_are_returned(store):
    store.append([(requests("200"), 0, 1.0)])
    evaluator = evaluator_for(store, RecordingRule("copy", "requests_total"), appender=None)
    first = evaluator.eval(MINUTE)
    assert [v for _, _, v in first.samples] == [1.0]
    assert stored(store, "copy") == {}
    later = evaluator.eval(7 * MINUTE)  # the input went stale: a marker, returned not stored
    ((labels, ts, value),) = later.samples
    assert (labels.metric_name, ts, math.isnan(value)) == ("copy", 7 * MINUTE, True)
    assert is_stale_nan(value)
