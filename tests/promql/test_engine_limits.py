"""Query limits fail with Prometheus' typed errors, and the HTTP API maps them."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine, EngineOptions
from collector.promql.errors import (
    PromQLParseError,
    QueryTimeoutError,
    TooManySamplesError,
)
from collector.store.sql import SqlStore


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        for job in ("a", "b", "c"):
            labels = Labels.of({"__name__": "up", "job": job})
            store.append_series(labels, np.arange(100) * 15_000, np.ones(100))
        yield store


def test_too_many_samples(store):
    engine = Engine(store, EngineOptions(max_samples=250))
    assert len(Engine(store).instant_query("up[30m]", 1_500_000).value) == 3
    with pytest.raises(TooManySamplesError) as caught:
        engine.instant_query("sum(count_over_time(up[30m]))", 1_500_000)
    assert caught.value.error_type == "execution" and caught.value.http_status == 422


def test_timeout(store):
    engine = Engine(store, EngineOptions(timeout_s=0.0))
    with pytest.raises(QueryTimeoutError) as caught:
        engine.range_query("sum(rate(up[5m]))", 0, 1_500_000, 15_000)
    assert caught.value.error_type == "timeout" and caught.value.http_status == 503


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 100, 0), "zero or negative query resolution step"),
        ((100, 0, 10), "end timestamp must not be before start time"),
    ],
)
def test_range_query_argument_errors(store, args, message):
    with pytest.raises(PromQLParseError, match=message):
        Engine(store).range_query("up", *args)


def test_range_vector_is_not_a_range_query_result(store):
    with pytest.raises(PromQLParseError, match='invalid expression type "range vector"'):
        Engine(store).range_query("up[5m]", 0, 60_000, 15_000)
