"""The pandas budget equals what PromQL computes from the same samples.

Sloth records ``slo:period_error_budget_remaining:ratio`` as ``1 - period_burn_rate``; with
an event-weighted period ratio (``sum_over_time(errors) / sum_over_time(total)``) that is our
``remaining_ratio``, and with Sloth's own average of 5-minute ratios it is the remaining
ratio of :func:`events_from_error_ratio`. Both are checked against our PromQL engine over a
store holding the same data, gaps included, within 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.result import Matrix, Vector
from collector.store.sql import SqlStore
from slo.budget.burndown import budget_status, rolling_budget
from slo.budget.frames import (
    events_from_error_ratio,
    events_from_rates,
    series_from_samples,
    times_ms,
)
from slo.budget.periods import rolling_period

MIN5 = 300_000
HOUR = 3_600_000
START = 1_717_200_000_000  # 2024-06-01T00:00Z
STEPS = 2 * 24 * 12  # two days of 5-minute samples
OBJECTIVE = 0.999
WINDOW = "6h"
WINDOW_MS = 6 * HOUR

ERRORS = 'test:errors:rate5m{slo="checkout"}'
TOTAL = 'test:total:rate5m{slo="checkout"}'
RATIO = 'slo:sli_error:ratio_rate5m{sloth_id="shop-checkout"}'


def _data():
    rng = np.random.default_rng(20240601)
    stamps = START + MIN5 * np.arange(1, STEPS + 1)
    total = rng.uniform(5.0, 50.0, STEPS)
    errors = total * rng.uniform(0.0, 0.003, STEPS)
    errors[300:320] = total[300:320] * 0.05  # an incident burning 50x
    scraped = rng.uniform(size=STEPS) > 0.05  # 5% missed rule evaluations: both series gone
    errors_seen = scraped & (rng.uniform(size=STEPS) > 0.3)  # no 5xx series at all sometimes
    ratio = errors / total
    return stamps, total, errors, ratio, scraped, errors_seen


STAMPS, TOTAL_RATE, ERROR_RATE, ERROR_RATIO, SCRAPED, ERRORS_SEEN = _data()


def _labels(selector: str) -> Labels:
    name, rest = selector.split("{")
    key, value = rest.rstrip("}").split("=")
    return Labels.of({"__name__": name, key: value.strip('"')})


@pytest.fixture(scope="module")
def engine():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    samples = []
    for selector, values, keep in (
        (TOTAL, TOTAL_RATE, SCRAPED),
        (ERRORS, ERROR_RATE, ERRORS_SEEN),
        (RATIO, ERROR_RATIO, SCRAPED),
    ):
        labels = _labels(selector)
        samples += [
            (labels, int(t), float(v)) for t, v in zip(STAMPS[keep], values[keep], strict=True)
        ]
    store.append(samples)
    yield Engine(store)
    store.close()


def _events():
    error_rate = series_from_samples(STAMPS[ERRORS_SEEN], ERROR_RATE[ERRORS_SEEN])
    total_rate = series_from_samples(STAMPS[SCRAPED], TOTAL_RATE[SCRAPED])
    return events_from_rates(error_rate, total_rate, MIN5)


def _promql_series(engine: Engine, expr: str) -> dict[int, float]:
    result = engine.range_query(expr, int(STAMPS[0]), int(STAMPS[-1]), MIN5).value
    assert isinstance(result, Matrix) and len(result) == 1
    return dict(zip(result[0].timestamps.tolist(), result[0].values.tolist(), strict=True))


def _compare(ours: dict[int, float], theirs: dict[int, float]) -> None:
    assert len(ours) > 500
    for stamp, value in ours.items():
        assert math.isclose(value, theirs[stamp], rel_tol=0.0, abs_tol=1e-9), stamp


def test_event_weighted_remaining_ratio_equals_sloth_formula_over_event_ratios(engine):
    period_ratio = f"sum_over_time({ERRORS}[{WINDOW}]) / sum_over_time({TOTAL}[{WINDOW}])"
    expr = f"1 - ({period_ratio}) / (1 - {OBJECTIVE})"
    rolling = rolling_budget(_events(), OBJECTIVE, WINDOW_MS)["remaining_ratio"]
    ours = dict(zip(times_ms(rolling.index).tolist(), rolling.tolist(), strict=True))
    theirs = _promql_series(engine, expr)
    _compare(ours, theirs)
    assert min(ours.values()) < 0  # the incident overspent the 6h budget: a real test


def test_ratio_only_remaining_equals_sloth_average_of_5m_ratios(engine):
    period_ratio = f"sum_over_time({RATIO}[{WINDOW}]) / count_over_time({RATIO}[{WINDOW}])"
    expr = f"1 - ({period_ratio}) / (1 - {OBJECTIVE})"
    ratio = series_from_samples(STAMPS[SCRAPED], ERROR_RATIO[SCRAPED])
    events = events_from_error_ratio(ratio, MIN5)
    rolling = rolling_budget(events, OBJECTIVE, WINDOW_MS)["remaining_ratio"]
    ours = dict(zip(times_ms(rolling.index).tolist(), rolling.tolist(), strict=True))
    _compare(ours, _promql_series(engine, expr))


@pytest.mark.parametrize("offset_ms", [17 * HOUR + 123_456, 30 * HOUR, 47 * HOUR + 1])
def test_budget_status_at_any_instant_equals_an_instant_query(engine, offset_ms):
    now = START + offset_ms
    sums = f"sum_over_time({ERRORS}[{WINDOW}]) / sum_over_time({TOTAL}[{WINDOW}])"
    result = engine.instant_query(f"1 - ({sums}) / (1 - {OBJECTIVE})", now).value
    assert isinstance(result, Vector) and len(result) == 1
    status = budget_status(_events(), OBJECTIVE, rolling_period(WINDOW_MS, now))
    assert math.isclose(status.remaining_ratio, result[0].value, rel_tol=0.0, abs_tol=1e-9)
    sli = engine.instant_query(f"1 - {sums}", now).value[0].value
    assert math.isclose(status.sli, sli, rel_tol=0.0, abs_tol=1e-12)
