"""The rule engine's view of PromQL: an instant query that always yields a vector.

>>> from collector.store.sql import SqlStore
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> query = engine_query(Engine(store))
>>> [(dict(s.labels), s.value) for s in query("1 + 1", 60_000)]
[({}, 2.0)]
>>> store.close()
"""

from __future__ import annotations

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.errors import ExecutionError
from collector.promql.result import Sample, Scalar, Vector
from slo.rules.model import QueryFunc

__all__ = ["Engine", "engine_query"]


def engine_query(engine: Engine) -> QueryFunc:
    """A :data:`QueryFunc` over ``engine``; a scalar becomes a one-sample vector, as in
    Prometheus' ``EngineQueryFunc``; strings and range vectors are errors."""

    def query(expr: str, time_ms: int) -> Vector:
        value = engine.instant_query(expr, time_ms).value
        if isinstance(value, Vector):
            return value
        if isinstance(value, Scalar):
            return Vector([Sample(Labels(), value.timestamp_ms, value.value)])
        raise ExecutionError("rule result is not a vector or scalar")

    return query
