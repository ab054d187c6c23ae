"""The compiled rules evaluated by the rule manager's group evaluator and sloscope's engine.

Counters with piecewise-constant request and error rates go into a SQLite store; the groups
are evaluated at chosen times (the evaluator writes each rule's samples back, so later rules
read earlier ones, as in Prometheus). Nothing waits for time to pass: the times are given.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from slo.compile import compile_slo
from slo.rules.alerting import AlertState
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.model import RuleGroup
from slo.spec.model import SLO, RatioSLI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slo_compile_helpers import ERRORS, TOTAL, events_slo  # noqa: E402

T0 = 1_700_000_000_000
SCRAPE_MS = 15_000
OFFSET_MS = 300  # samples never sit on a window edge
MINUTE = 60_000
HOUR = 60 * MINUTE

Phase = tuple[int, float, float]  # (duration ms, requests/s, errors/s)


def _counters(phases: Sequence[Phase]) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """``code="200"`` and ``code="500"`` counters of the phases, scraped every 15 s."""
    end = T0 + sum(duration for duration, _, _ in phases)
    ts = np.arange(T0 + OFFSET_MS, end, SCRAPE_MS, dtype=np.int64)
    ok_rate, err_rate = np.zeros(len(ts)), np.zeros(len(ts))
    start = T0
    for duration, requests, errors in phases:
        inside = (ts >= start) & (ts < start + duration)
        ok_rate[inside], err_rate[inside] = requests - errors, errors
        start += duration
    series = []
    for code, rate in (("200", ok_rate), ("500", err_rate)):
        labels = Labels.of(
            {"__name__": "http_request_duration_seconds_count", "job": "myservice", "code": code}
        )
        values = 1e6 + np.concatenate([[0.0], np.cumsum(rate[1:] * SCRAPE_MS / 1000)])
        series.append((labels, ts, values))
    return series


@pytest.fixture
def store() -> Iterator[SqlStore]:
    store = SqlStore("sqlite:///:memory:")
    store.open()
    try:
        yield store
    finally:
        store.close()


def _load(store: SqlStore, phases: Sequence[Phase]) -> None:
    for labels, ts, values in _counters(phases):
        assert store.append_series(labels, ts, values).appended == len(ts)


def _evaluators(store: SqlStore, groups: list[RuleGroup]) -> list[GroupEvaluator]:
    query = engine_query(Engine(store))
    return [GroupEvaluator(group, query=query, appender=store) for group in groups]


def _run(evaluators: list[GroupEvaluator], times: range | list[int]) -> None:
    for ts in times:
        for evaluator in evaluators:
            result = evaluator.eval(ts)
            assert [r.health.last_error for r in result.rules if r.health.last_error] == []


def _value(store: SqlStore, expr: str, ts: int) -> float:
    (sample,) = Engine(store).instant_query(expr, ts).value
    return sample.value


def _firing(evaluators: list[GroupEvaluator], ts: int) -> set[str]:
    states = set()
    for evaluator in evaluators:
        for alert in evaluator.eval(ts).alerts:
            if alert.state is AlertState.FIRING:
                states.add(alert.labels.get("sloth_severity"))
    return states


def test_period_ratio_is_event_weighted_not_a_mean_of_ratios(store: SqlStore):
    # A busy, healthy hour and a half, then a quiet, failing one: 0.1% of 100/s, 40% of 1/s.
    phases = [(90 * MINUTE, 100.0, 0.1), (90 * MINUTE, 1.0, 0.4)]
    _load(store, phases)
    events = events_slo(name="events")
    mean = replace(events_slo(name="mean"), sli=RatioSLI(f"({ERRORS})\n/\n({TOTAL})"))
    groups = [g for slo in (events, mean) for g in compile_slo(slo)[:2]]
    end = T0 + 180 * MINUTE
    _run(_evaluators(store, groups), range(T0 + 5 * MINUTE, end + 1, 5 * MINUTE))

    truth = sum(d * e for d, _, e in phases) / sum(d * r for d, r, _ in phases)  # 0.00495
    weighted = _value(store, 'slo:sli_error:ratio_rate30d{sloth_slo="events"}', end)
    mean_of_ratios = _value(store, 'slo:sli_error:ratio_rate30d{sloth_slo="mean"}', end)
    assert weighted == pytest.approx(truth, rel=0.01)
    assert mean_of_ratios == pytest.approx((0.001 + 0.4) / 2, rel=0.05)
    assert mean_of_ratios > 30 * weighted
    burn = _value(store, 'slo:period_burn_rate:ratio{sloth_slo="events"}', end)
    remaining = _value(store, 'slo:period_error_budget_remaining:ratio{sloth_slo="events"}', end)
    assert burn == pytest.approx(weighted / 0.001)
    assert remaining == pytest.approx(1 - burn)


def test_no_error_series_at_all_still_gives_a_period_ratio_of_zero(store: SqlStore):
    labels = Labels.of(
        {"__name__": "http_request_duration_seconds_count", "job": "myservice", "code": "200"}
    )
    ts = np.arange(T0 + OFFSET_MS, T0 + HOUR, SCRAPE_MS, dtype=np.int64)
    store.append_series(labels, ts, np.arange(len(ts), dtype=float) * 150)
    _run(
        _evaluators(store, compile_slo(events_slo())[:2]),
        range(T0 + 10 * MINUTE, T0 + HOUR, 5 * MINUTE),
    )
    at = T0 + HOUR - MINUTE
    assert _value(store, "slo:sli_error:ratio_rate30d", at) == 0.0
    assert _value(store, "slo:period_error_budget_remaining:ratio", at) == 1.0


def _alerting_at(store: SqlStore, slo: SLO, ts: int) -> set[str]:
    """Which tiers fire at ``ts``: the recordings at ``ts``, then the alerts."""
    groups = compile_slo(slo)
    recordings = _evaluators(store, groups[:2])
    _run(recordings, [ts])
    return _firing(_evaluators(store, groups[2:]), ts)


@pytest.mark.parametrize(("min_traffic", "expected"), [(None, {"page"}), (5.0, set())])
def test_min_traffic_keeps_a_quiet_service_from_paging(store, min_traffic, expected):
    _load(store, [(2 * HOUR, 1.0, 0.5)])  # one request a second, half of them failing
    slo = events_slo(min_traffic=min_traffic)
    assert _alerting_at(store, slo, T0 + 2 * HOUR - MINUTE) == expected


def test_enough_traffic_passes_the_guard(store: SqlStore):
    _load(store, [(2 * HOUR, 10.0, 5.0)])
    assert _alerting_at(store, events_slo(min_traffic=5.0), T0 + 2 * HOUR - MINUTE) == {"page"}


def test_a_slow_burn_opens_a_ticket(store: SqlStore):
    _load(store, [(3 * HOUR, 100.0, 0.4)])  # 4x the budget: over 3x and 1x, under 6x
    assert _alerting_at(store, events_slo(), T0 + 3 * HOUR - MINUTE) == {"ticket"}


def test_the_ticket_stays_quiet_while_the_page_fires(store: SqlStore):
    _load(store, [(3 * HOUR, 100.0, 2.0)])  # 20x the budget: every tier's condition holds
    slo = events_slo()
    assert _alerting_at(store, slo, T0 + 3 * HOUR - MINUTE) == {"page"}
    # Without the page tier there is nothing to defer to: the ticket fires.
    unpaged = replace(
        slo, alerting=replace(slo.alerting, page=replace(slo.alerting.page, enabled=False))
    )
    assert _alerting_at(store, unpaged, T0 + 3 * HOUR - MINUTE) == {"ticket"}
