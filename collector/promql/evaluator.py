"""Walks the parsed expression and evaluates every node at all steps at once."""

from __future__ import annotations

import numpy as np

from collector.promql.aggregations import aggregate
from collector.promql.binops import Matching, binary
from collector.promql.context import EvalContext
from collector.promql.errors import ExecutionError
from collector.promql.function_calls import call_function
from collector.promql.parser import ast, duration_ms
from collector.promql.selectors import (
    effective_times,
    eval_matrix_selector,
    eval_vector_selector,
)
from collector.promql.values import RangeVector, StepScalar, StepString, StepVector, drop_name

__all__ = ["DEFAULT_SUBQUERY_STEP_MS", "evaluate"]

DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus' default evaluation interval

Value = StepVector | StepScalar | StepString | RangeVector

_CARDINALITY = {
    "OneToOne": "one-to-one",
    "ManyToOne": "many-to-one",
    "OneToMany": "one-to-many",
    "ManyToMany": "many-to-many",
}


def evaluate(node, ctx: EvalContext) -> Value:
    """Evaluate ``node`` at every timestamp of ``ctx``."""
    ctx.charge(0)  # checks the deadline between nodes
    if isinstance(node, ast.NumberLiteral):
        return StepScalar(np.full(ctx.steps, float(node.val)))
    if isinstance(node, ast.StringLiteral):
        return StepString(node.val)
    if isinstance(node, ast.ParenExpr):
        return evaluate(node.expr, ctx)
    if isinstance(node, ast.UnaryExpr):
        return _negate(evaluate(node.expr, ctx))
    if isinstance(node, ast.VectorSelector):
        return eval_vector_selector(node, ctx)
    if isinstance(node, ast.MatrixSelector):
        return eval_matrix_selector(node, ctx)
    if isinstance(node, ast.SubqueryExpr):
        return _subquery(node, ctx)
    if isinstance(node, ast.AggregateExpr):
        return _aggregate(node, ctx)
    if isinstance(node, ast.BinaryExpr):
        return _binary(node, ctx)
    if isinstance(node, ast.Call):
        return call_function(node, ctx, evaluate)
    raise ExecutionError(f"unsupported expression {type(node).__name__}")


def _negate(value: Value) -> Value:
    if isinstance(value, StepScalar):
        return StepScalar(-value.values)
    if isinstance(value, StepVector):
        labels = [drop_name(lbl) for lbl in value.labels]
        return StepVector(labels, -value.values, value.present).merge_same_labels()
    raise ExecutionError("unary minus needs a scalar or an instant vector")


def _subquery(node: ast.SubqueryExpr, ctx: EvalContext) -> RangeVector:
    range_ms = duration_ms(node.range)
    step = duration_ms(node.step) or DEFAULT_SUBQUERY_STEP_MS
    ends = effective_times(node, ctx)
    first = (int(ends.min()) - range_ms) // step * step
    inner_times = np.arange(first, int(ends.max()) + 1, step, dtype=np.int64)
    inner = evaluate(node.expr, ctx.with_times(inner_times))
    if not isinstance(inner, StepVector):
        raise ExecutionError("subqueries need an instant vector expression")
    timestamps, values, labels = [], [], []
    for row, series in enumerate(inner.labels):
        mask = inner.present[row]
        labels.append(series)
        timestamps.append(inner_times[mask])
        values.append(inner.values[row, mask])
    return RangeVector(labels, timestamps, values, ends, range_ms, ctx.times)


def _aggregate(node: ast.AggregateExpr, ctx: EvalContext) -> StepVector:
    op = str(node.op)
    vec = evaluate(node.expr, ctx)
    if not isinstance(vec, StepVector):
        raise ExecutionError(f"{op} needs an instant vector")
    names, without = None, False
    if node.modifier is not None:
        names = list(node.modifier.labels)
        without = str(node.modifier.type).endswith("Without")
    param = None
    if node.param is not None:
        value = evaluate(node.param, ctx)
        if isinstance(value, StepString):
            param = value.value
        elif isinstance(value, StepScalar):
            param = value.values
        else:
            raise ExecutionError(f"{op}: the parameter must be a scalar or a string")
    return aggregate(op, vec, names, without, param)


def _matching(node: ast.BinaryExpr) -> Matching:
    modifier = node.modifier
    if modifier is None:
        return Matching()
    card = _CARDINALITY[str(modifier.card).rsplit(".", 1)[-1]]
    on, labels = False, ()
    if modifier.matching is not None:
        on = str(modifier.matching.type).endswith("Include")
        labels = tuple(modifier.matching.labels)
    return Matching(
        on=on,
        labels=labels,
        card=card,
        include=tuple(modifier.group_labels or ()),
        return_bool=bool(modifier.return_bool),
    )


def _binary(node: ast.BinaryExpr, ctx: EvalContext):
    lhs = evaluate(node.lhs, ctx)
    rhs = evaluate(node.rhs, ctx)
    for side in (lhs, rhs):
        if not isinstance(side, StepVector | StepScalar):
            raise ExecutionError("binary operators need scalars or instant vectors")
    return binary(str(node.op), lhs, rhs, _matching(node))
