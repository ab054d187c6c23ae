"""Dispatch of PromQL function calls to their implementations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collector.model import Labels
from collector.promql.context import EvalContext
from collector.promql.errors import ExecutionError
from collector.promql.functions import (
    MATH_FUNCTIONS,
    TIME_FUNCTIONS,
    clamp,
    math_function,
    scalar_of,
    sort_rows,
    time_function,
    timestamp_of,
)
from collector.promql.histograms import histogram_quantile
from collector.promql.label_functions import (
    absent_labels,
    label_join,
    label_replace,
    sort_by_label,
)
from collector.promql.parser import ast, selector_matchers
from collector.promql.range_functions import RANGE_FUNCTIONS, call_range_function
from collector.promql.values import RangeVector, StepScalar, StepString, StepVector

__all__ = ["call_function"]

Evaluate = Callable[[object, EvalContext], object]


def call_function(node: ast.Call, ctx: EvalContext, evaluate: Evaluate):
    name = node.func.name
    args = [evaluate(arg, ctx) for arg in node.args]
    if name in RANGE_FUNCTIONS:
        ranges = [a for a in args if isinstance(a, RangeVector)]
        scalars = [a.values for a in args if isinstance(a, StepScalar)]
        return call_range_function(name, ranges[0], scalars)
    if name in MATH_FUNCTIONS or name == "round":
        return math_function(name, _vector(args[0], name), [_scalar(a) for a in args[1:]])
    if name in TIME_FUNCTIONS:
        vec = args[0] if args else _now_vector(ctx)
        return time_function(name, _vector(vec, name))
    if name in _SIMPLE:
        return _SIMPLE[name](args, ctx)
    if name in ("absent", "absent_over_time"):
        return _absent(node, args[0], ctx)
    raise ExecutionError(f"function {name!r} is not supported")


def _vector(value, name: str) -> StepVector:
    if not isinstance(value, StepVector):
        raise ExecutionError(f"{name}: expected an instant vector")
    return value


def _scalar(value) -> np.ndarray:
    if not isinstance(value, StepScalar):
        raise ExecutionError("expected a scalar argument")
    return value.values


def _string(value) -> str:
    if not isinstance(value, StepString):
        raise ExecutionError("expected a string argument")
    return value.value


def _now_vector(ctx: EvalContext) -> StepVector:
    return StepVector([Labels(())], (ctx.times / 1e3)[None, :], np.ones((1, ctx.steps), dtype=bool))


def _vector_of(args, ctx: EvalContext) -> StepVector:
    values = _scalar(args[0])
    return StepVector([Labels(())], values[None, :].copy(), np.ones((1, ctx.steps), dtype=bool))


def _absent(node: ast.Call, arg, ctx: EvalContext) -> StepVector:
    if isinstance(arg, RangeVector):
        seen = np.zeros(arg.steps, dtype=bool)
        for row in range(len(arg.labels)):
            lo, hi = arg.bounds(row)
            seen |= hi > lo
        selector = node.args[0]
        selector = getattr(selector, "vector_selector", None)
    else:
        seen = arg.present.any(axis=0) if len(arg) else np.zeros(ctx.steps, dtype=bool)
        selector = node.args[0]
    groups = selector_matchers(selector) if isinstance(selector, ast.VectorSelector) else None
    labels = absent_labels(groups)
    return StepVector([labels], np.ones((1, ctx.steps)), (~seen)[None, :]).without_absent()


_SIMPLE: dict[str, Callable[[list, EvalContext], object]] = {
    "time": lambda _a, ctx: StepScalar(ctx.times / 1e3),
    "pi": lambda _a, ctx: StepScalar(np.full(ctx.steps, np.pi)),
    "vector": _vector_of,
    "scalar": lambda a, _ctx: scalar_of(_vector(a[0], "scalar")),
    "timestamp": lambda a, ctx: timestamp_of(_vector(a[0], "timestamp"), ctx.times),
    "clamp": lambda a, _ctx: clamp(_vector(a[0], "clamp"), _scalar(a[1]), _scalar(a[2])),
    "clamp_min": lambda a, _ctx: clamp(_vector(a[0], "clamp_min"), _scalar(a[1]), None),
    "clamp_max": lambda a, _ctx: clamp(_vector(a[0], "clamp_max"), None, _scalar(a[1])),
    "histogram_quantile": lambda a, _ctx: histogram_quantile(
        _scalar(a[0]), _vector(a[1], "histogram_quantile")
    ),
    "label_replace": lambda a, _ctx: label_replace(
        _vector(a[0], "label_replace"), *(_string(x) for x in a[1:5])
    ),
    "label_join": lambda a, _ctx: label_join(
        _vector(a[0], "label_join"), _string(a[1]), _string(a[2]), [_string(x) for x in a[3:]]
    ),
    "sort": lambda a, ctx: _instant_only(a[0], ctx, lambda v: sort_rows(v, False)),
    "sort_desc": lambda a, ctx: _instant_only(a[0], ctx, lambda v: sort_rows(v, True)),
    "sort_by_label": lambda a, ctx: _instant_only(
        a[0], ctx, lambda v: sort_by_label(v, [_string(x) for x in a[1:]], False)
    ),
    "sort_by_label_desc": lambda a, ctx: _instant_only(
        a[0], ctx, lambda v: sort_by_label(v, [_string(x) for x in a[1:]], True)
    ),
}


def _instant_only(arg, ctx: EvalContext, order: Callable[[StepVector], StepVector]):
    """Sorting only orders an instant query's result; range results are sorted by labels."""
    vec = _vector(arg, "sort")
    return order(vec) if ctx.steps == 1 else vec
