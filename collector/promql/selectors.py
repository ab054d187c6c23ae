"""Vector and matrix selectors: from stored samples to values at each step.

Prometheus 3 semantics: an instant selector at time t takes the newest sample in
``(t - lookback, t]`` unless it is a stale marker; a range selector ``[r]`` takes the samples
in ``(t - r, t]`` without stale markers. ``offset`` shifts t back, ``@`` pins it.
"""

from __future__ import annotations

import numpy as np

from collector.model import Labels, stale_mask
from collector.promql.context import EvalContext
from collector.promql.parser import ast, duration_ms, selector_matchers, timestamp_ms
from collector.promql.values import RangeVector, StepVector
from collector.store.interfaces import SeriesData

__all__ = ["effective_times", "eval_matrix_selector", "eval_vector_selector"]


def effective_times(node, ctx: EvalContext) -> np.ndarray:
    """The timestamps a selector or subquery reads at, per step (after ``@`` and offset)."""
    at = node.at
    if at is None:
        times = ctx.times
    else:
        kind = str(at.type).rsplit(".", 1)[-1]
        if kind == "Start":
            pinned = ctx.query_start
        elif kind == "End":
            pinned = ctx.query_end
        else:
            pinned = timestamp_ms(at.at)
        times = np.full(len(ctx.times), pinned, dtype=np.int64)
    return times - duration_ms(node.offset)


def _select(node, ctx: EvalContext, start: int, end: int) -> list[SeriesData]:
    groups = selector_matchers(node)
    if len(groups) == 1:
        found = ctx.querier.select(groups[0], start, end)
    else:  # "or" of matcher sets: the union, each series once
        merged: dict[Labels, SeriesData] = {}
        for matchers in groups:
            for data in ctx.querier.select(matchers, start, end):
                merged.setdefault(data.labels, data)
        found = sorted(merged.values(), key=lambda d: d.labels)
    ctx.charge(sum(len(d.timestamps) for d in found))
    return found


def eval_vector_selector(node: ast.VectorSelector, ctx: EvalContext) -> StepVector:
    times = effective_times(node, ctx)
    found = _select(node, ctx, int(times.min()) - ctx.lookback_ms + 1, int(times.max()))
    n, steps = len(found), len(times)
    values = np.zeros((n, steps))
    present = np.zeros((n, steps), dtype=bool)
    sample_ts = np.zeros((n, steps), dtype=np.int64)
    for row, data in enumerate(found):
        idx = np.searchsorted(data.timestamps, times, side="right") - 1
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        ts = data.timestamps[safe]
        vals = data.values[safe]
        ok &= ts > times - ctx.lookback_ms
        ok &= ~stale_mask(vals)
        values[row] = vals
        present[row] = ok
        sample_ts[row] = ts
    ctx.charge(int(present.sum()))
    out = StepVector([d.labels for d in found], values, present, sample_ts)
    return out.without_absent()


def eval_matrix_selector(node: ast.MatrixSelector, ctx: EvalContext) -> RangeVector:
    selector = node.vector_selector
    range_ms = duration_ms(node.range)
    times = effective_times(selector, ctx)
    found = _select(selector, ctx, int(times.min()) - range_ms + 1, int(times.max()))
    labels, timestamps, values = [], [], []
    for data in found:
        stale = stale_mask(data.values)
        if not stale.any():  # the usual case: no copy
            labels.append(data.labels)
            timestamps.append(data.timestamps)
            values.append(data.values)
        elif not stale.all():
            labels.append(data.labels)
            timestamps.append(data.timestamps[~stale])
            values.append(data.values[~stale])
    return RangeVector(labels, timestamps, values, times, range_ms, ctx.times)
