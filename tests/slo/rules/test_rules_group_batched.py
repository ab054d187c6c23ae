"""A group's results written in one batch (``querier=``) give exactly what rule-by-rule
writes give: the samples, what later rules read, stale markers, alerts and health."""

from __future__ import annotations

import math

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.group_writes import GroupWrites
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.rules.rule_health import RuleHealth
from sloscope.server.rules_backtest_command import ReadOnlySqlStore

MINUTE = 60_000

RULES = (
    RecordingRule("job:requests:rate1m", "sum by (job) (rate(requests_total[2m]))"),
    RecordingRule("job:errors:rate1m", 'sum by (job) (rate(requests_total{code="500"}[2m]))'),
    # One selector over several windows: read once over the widest, sliced for the others.
    RecordingRule("job:requests:rate15m", "sum by (job) (rate(requests_total[15m]))"),
    RecordingRule("job:requests:last", "sum by (job) (requests_total)"),
    # Reads the two rules above, written in this same evaluation.
    RecordingRule("job:errors:ratio", "job:errors:rate1m / job:requests:rate1m"),
    RecordingRule("job:errors:ratio_sum", "sum_over_time(job:errors:ratio[10m])"),
    # Two rules writing one series: the first one's sample is the one kept.
    RecordingRule("dup", "vector(1)"),
    RecordingRule("dup", "vector(2)"),
    # Appears and disappears: stale markers.
    RecordingRule("job:errors:high", "job:errors:ratio > 0.2"),
    AlertingRule("HighErrors", "job:errors:ratio > 0.2", for_ms=2 * MINUTE),
)


def load(store: SqlStore) -> None:
    rng = np.random.default_rng(5)
    ts = np.arange(1, 40) * MINUTE
    total = np.cumsum(rng.integers(50, 100, len(ts))).astype(float)
    errors = np.cumsum(np.where((ts > 12 * MINUTE) & (ts < 22 * MINUTE), 30, 2)).astype(float)
    for code, values in (("200", total), ("500", errors)):
        labels = Labels.of({"__name__": "requests_total", "job": "api", "code": code})
        store.append_series(labels, ts, values)


def run(store: SqlStore, batched: bool) -> list[tuple]:
    group = RuleGroup("g", "g.yml", RULES)
    evaluator = GroupEvaluator(
        group,
        query=engine_query(Engine(store)),
        appender=store,
        querier=store if batched else None,
    )
    seen = []
    for minute in range(3, 36):
        result = evaluator.eval(minute * MINUTE)
        seen.append(
            (
                [(str(lbl), t, "stale" if math.isnan(v) else v) for lbl, t, v in result.samples],
                [(str(a.labels), str(a.state), a.value) for a in result.alerts],
                [str(r.health.health) for r in result.rules],
            )
        )
    stored = store.select([Matcher.regex("__name__", "job:.*|dup|ALERTS.*")], 0, 40 * MINUTE)
    seen.append([(str(d.labels), d.timestamps.tolist(), d.values.tolist()) for d in stored])
    return seen


def test_batched_group_writes_match_rule_by_rule_writes(tmp_path):
    outcomes = []
    for batched in (False, True):
        store = SqlStore(f"sqlite:///{tmp_path}/{batched}.db")
        store.open()
        try:
            load(store)
            outcomes.append(run(store, batched))
        finally:
            store.close()
    by_rule, by_group = outcomes
    assert any(alerts for _, alerts, _ in by_rule[:-1])  # the alert really went off
    assert any("stale" in str(samples) for samples, _, _ in by_rule[:-1])
    # NaN values (stale markers) compare by their repr in the stored series.
    assert repr(by_group) == repr(by_rule)


def test_a_refused_batch_fails_every_rule_that_wrote_and_retries_its_stale_markers(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    writer = SqlStore(url)
    writer.open()
    load(writer)
    writer.close()
    store = ReadOnlySqlStore(url)  # selects work, appends are refused
    store.open()
    try:
        group = RuleGroup("g", "g.yml", (RecordingRule("one", "vector(1)"),))
        evaluator = GroupEvaluator(
            group, query=engine_query(Engine(store)), appender=store, querier=store
        )
        result = evaluator.eval(5 * MINUTE)
        assert [str(r.health.health) for r in result.rules] == [str(RuleHealth.ERR)]
        assert "read-only" in result.rules[0].health.last_error
        assert result.samples == []
        assert evaluator.previous_series == [set()]  # nothing was written: nothing to end
    finally:
        store.close()


@pytest.fixture
def memory_store():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    yield store
    store.close()


def test_pending_samples_are_visible_in_range_and_only_when_newer(memory_store):
    labels = Labels.of({"__name__": "x", "job": "a"})
    memory_store.append([(labels, MINUTE, 1.0), (labels, 3 * MINUTE, 3.0)])
    writes = GroupWrites(memory_store)
    other = Labels.of({"__name__": "x", "job": "b"})
    writes.add([(labels, 2 * MINUTE, 9.0), (labels, 4 * MINUTE, 4.0), (other, 4 * MINUTE, 7.0)])
    writes.add([(other, 4 * MINUTE, 8.0)])  # a second write of one series at one time: ignored
    got = {
        str(d.labels): list(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
        for d in writes.select([Matcher.equal("__name__", "x")], 0, 10 * MINUTE)
    }
    assert got == {
        'x{job="a"}': [(MINUTE, 1.0), (3 * MINUTE, 3.0), (4 * MINUTE, 4.0)],
        'x{job="b"}': [(4 * MINUTE, 7.0)],
    }
    assert writes.series([Matcher.equal("job", "b")]) == [other]
    assert writes.label_values("job") == ["a", "b"]
    assert len(writes.take()) == 4
    assert [str(d.labels) for d in writes.select([Matcher.equal("job", "b")], 0, 10**9)] == []
