"""The PromQL engine: parse, evaluate against a :class:`Querier`, shape the result.

>>> from collector.store.sql import SqlStore
>>> from collector.model import Labels
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> _ = store.append([(Labels.of({"__name__": "up", "job": "api"}), 1_000, 1.0)])
>>> result = Engine(store).instant_query("sum(up) * 2", 60_000)
>>> [(dict(s.labels), s.value) for s in result.value]
[({}, 2.0)]
>>> store.close()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collector.model import Labels
from collector.promql.context import EvalContext
from collector.promql.errors import ExecutionError, PromQLParseError
from collector.promql.evaluator import evaluate
from collector.promql.parser import ast, parse
from collector.promql.result import Matrix, QueryResult, Sample, Scalar, Series, String, Vector
from collector.promql.values import RangeVector, StepScalar, StepString, StepVector
from collector.store.interfaces import Querier

__all__ = ["Engine", "EngineOptions"]

MAX_POINTS_PER_SERIES = 11_000


@dataclass(frozen=True)
class EngineOptions:
    """Limits and defaults, as Prometheus' ``--query.*`` flags."""

    lookback_ms: int = 5 * 60_000
    max_samples: int = 50_000_000
    timeout_s: float = 120.0


class Engine:
    """Evaluates PromQL with Prometheus 3 semantics over any :class:`Querier`."""

    def __init__(self, querier: Querier, options: EngineOptions | None = None) -> None:
        self.querier = querier
        self.options = options or EngineOptions()

    def _context(self, start: int, end: int, step: int) -> EvalContext:
        o = self.options
        return EvalContext.create(
            self.querier, start, end, step, o.lookback_ms, o.max_samples, o.timeout_s
        )

    def instant_query(self, expr: str, time_ms: int) -> QueryResult:
        """Evaluate ``expr`` at one instant."""
        node = parse(expr)
        value = evaluate(node, self._context(time_ms, time_ms, 0))
        return QueryResult(_instant_result(value, time_ms))

    def range_query(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        """Evaluate ``expr`` at ``start, start + step, ... <= end``; a matrix (or an error)."""
        if step_ms <= 0:
            raise PromQLParseError("zero or negative query resolution step widths are not accepted")
        if end_ms < start_ms:
            raise PromQLParseError("end timestamp must not be before start time")
        node = parse(expr)
        if isinstance(node, ast.MatrixSelector | ast.SubqueryExpr):
            raise PromQLParseError(
                'invalid expression type "range vector" for range query, '
                "must be Scalar or instant Vector"
            )
        ctx = self._context(start_ms, end_ms, step_ms)
        value = evaluate(node, ctx)
        return QueryResult(_range_result(value, ctx.times))


def _instant_result(value, time_ms: int):
    if isinstance(value, StepScalar):
        return Scalar(time_ms, float(value.values[0]))
    if isinstance(value, StepString):
        return String(time_ms, value.value)
    if isinstance(value, RangeVector):
        matrix = Matrix()
        for row, labels in enumerate(value.labels):
            lo, hi = value.bounds(row)
            ts, vals = value.timestamps[row][lo[0] : hi[0]], value.values[row][lo[0] : hi[0]]
            if len(ts):
                matrix.append(Series(labels, ts, vals))
        return matrix
    vector = Vector()
    for row, labels in enumerate(value.labels):
        if value.present[row, 0]:
            vector.append(Sample(labels, time_ms, float(value.values[row, 0])))
    return vector


def _range_result(value, times: np.ndarray) -> Matrix:
    if isinstance(value, StepScalar):
        value = StepVector([Labels(())], value.values[None, :], np.ones((1, len(times)), bool))
    if not isinstance(value, StepVector):
        raise ExecutionError("range queries need a scalar or an instant vector expression")
    matrix = Matrix()
    for row, labels in enumerate(value.labels):
        mask = value.present[row]
        if mask.any():
            matrix.append(Series(labels, times[mask], value.values[row, mask]))
    matrix.sort(key=lambda s: s.labels)
    return matrix
