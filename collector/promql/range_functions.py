"""Functions of a range vector: rate and friends, and every ``*_over_time``.

Each works on one series at all steps at once. Functions that need only the first and last
samples of each window (rate, increase, delta, irate, idelta, changes, resets) use index
arithmetic and prefix sums; the others look at every sample of every window through a padded
(steps x samples) matrix, built a block of steps at a time to bound memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collector.promql.aggregations import mean_columns
from collector.promql.kahan import kahan_sum
from collector.promql.quantile import quantile_rows
from collector.promql.values import RangeVector, StepVector, drop_name

__all__ = ["RANGE_FUNCTIONS", "call_range_function"]

_MATRIX_BUDGET = 4_000_000  # cells of one padded window matrix

# (values, timestamps, mask, scalar args per step) -> result per step
WindowFn = Callable[[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]], np.ndarray]


def _windows(rv: RangeVector, row: int, fn: WindowFn, args: list[np.ndarray]) -> np.ndarray:
    ts, vals = rv.timestamps[row], rv.values[row]
    lo, hi = rv.bounds(row)
    out = np.full(rv.steps, np.nan)
    width = int((hi - lo).max(initial=0))
    if width == 0:
        return out
    block = max(1, _MATRIX_BUDGET // width)
    offsets = np.arange(width)
    for s in range(0, rv.steps, block):
        e = min(rv.steps, s + block)
        idx = lo[s:e, None] + offsets[None, :]
        mask = idx < hi[s:e, None]
        idx = np.minimum(idx, len(ts) - 1)
        with np.errstate(all="ignore"):  # empty windows divide by zero; they are masked out
            out[s:e] = fn(vals[idx], ts[idx], mask, [a[s:e] for a in args])
    return out


def _per_series(
    rv: RangeVector,
    compute: Callable[[int], np.ndarray],
    min_samples: int = 1,
    keep_name: bool = False,
) -> StepVector:
    values = np.zeros((len(rv.labels), rv.steps))
    present = np.zeros((len(rv.labels), rv.steps), dtype=bool)
    for row in range(len(rv.labels)):
        lo, hi = rv.bounds(row)
        present[row] = hi - lo >= min_samples
        if present[row].any():
            with np.errstate(all="ignore"):  # steps without enough samples are masked out
                values[row] = compute(row)
    labels = rv.labels if keep_name else [drop_name(lbl) for lbl in rv.labels]
    return StepVector(labels, values, present).without_absent().merge_same_labels()


def _masked(values: np.ndarray, mask: np.ndarray, fill: float) -> np.ndarray:
    return np.where(mask, values, fill)


def _sum(v, _t, m, _a):
    return _masked(v, m, 0.0).sum(axis=1)


def _avg(v, _t, m, _a):
    return mean_columns(v.T, m.T)


def _extreme(pick: Callable, fill: float) -> WindowFn:
    def fn(v, _t, m, _a):
        real = m & ~np.isnan(v)
        out = pick(_masked(v, real, fill), axis=1)
        # Prometheus skips NaN unless every sample is NaN.
        return np.where(real.any(axis=1), out, np.nan)

    return fn


def _variance(v, _t, m, _a):
    n = m.sum(axis=1)
    mean = _sum(v, _t, m, _a) / n
    dev = _masked(v - mean[:, None], m, 0.0)
    return (dev * dev).sum(axis=1) / n


def _stddev(v, t, m, a):
    return np.sqrt(_variance(v, t, m, a))


def _quantile(v, _t, m, a):
    return quantile_rows(v, m, a[0])


def _mad(v, _t, m, _a):
    half = np.full(len(v), 0.5)
    median = quantile_rows(v, m, half)
    return quantile_rows(np.abs(v - median[:, None]), m, half)


def _regression(v, t, m, intercept_t):
    """Slope and intercept of a least-squares line, x in seconds from ``intercept_t``."""
    # Prometheus' linearRegression: compensated sums of x, y, xy and x², in sample order.
    n = m.sum(axis=1)
    x = _masked((t - intercept_t[:, None]) / 1e3, m, 0.0)
    y = _masked(v, m, 0.0)
    sum_x, sum_y = kahan_sum(x, axis=1), kahan_sum(y, axis=1)
    sum_xy, sum_x2 = kahan_sum(x * y, axis=1), kahan_sum(x * x, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (sum_xy - sum_x * sum_y / n) / (sum_x2 - sum_x * sum_x / n)
        intercept = sum_y / n - slope * sum_x / n
    first = v[:, 0]
    constant = (_masked(v, m, 0.0) == _masked(first[:, None], m, 0.0)).all(axis=1)
    slope = np.where(constant, np.where(np.isinf(first), np.nan, 0.0), slope)
    intercept = np.where(constant, np.where(np.isinf(first), np.nan, first), intercept)
    return slope, intercept


def _deriv(v, t, m, _a):
    return _regression(v, t, m, t[:, 0])[0]


def _predict(v, t, m, a):
    # ``a``: the seconds ahead, then the evaluation time of each step (the intercept).
    slope, intercept = _regression(v, t, m, a[1])
    return slope * a[0] + intercept


def _pairs(rv: RangeVector, row: int, counts: Callable[[np.ndarray], np.ndarray]):
    """Sum over each window of a per-adjacent-pair indicator, by prefix sums."""
    vals = rv.values[row]
    lo, hi = rv.bounds(row)
    prefix = np.concatenate(([0.0], np.cumsum(counts(vals))))  # prefix[i]: pairs ending <= i
    inside = hi - lo >= 2
    last = len(vals) - 1  # windows past the last sample have lo == len(vals): masked below
    pairs = prefix[np.clip(hi - 1, 0, last)] - prefix[np.clip(lo, 0, last)]
    return np.where(inside, pairs, 0.0)


def _changes(prev_cur: np.ndarray) -> np.ndarray:
    prev, cur = prev_cur[:-1], prev_cur[1:]
    same = (prev == cur) | (np.isnan(prev) & np.isnan(cur))
    return (~same).astype(np.float64)


def _resets(vals: np.ndarray) -> np.ndarray:
    return (vals[1:] < vals[:-1]).astype(np.float64)


def _extrapolated(rv: RangeVector, row: int, is_counter: bool, is_rate: bool) -> np.ndarray:
    """Prometheus' extrapolatedRate for rate, increase and delta."""
    ts, vals = rv.timestamps[row], rv.values[row]
    lo, hi = rv.bounds(row)
    if rv.steps == 1 and hi[0] - lo[0] >= 2:  # an instant query: plain floats, same bits
        return np.array(
            [_extrapolated_at(rv, ts, vals, int(lo[0]), int(hi[0]), is_counter, is_rate)]
        )
    last = np.maximum(hi - 1, 0)
    first = np.minimum(lo, len(ts) - 1)
    result = vals[last] - vals[first]
    if is_counter:
        drops = np.where(vals[1:] < vals[:-1], vals[:-1], 0.0)
        prefix = np.concatenate(([0.0], np.cumsum(drops)))
        result = result + prefix[last] - prefix[first]
    first_t, last_t = ts[first], ts[last]
    sampled = (last_t - first_t) / 1e3
    with np.errstate(divide="ignore", invalid="ignore"):
        average = sampled / (hi - lo - 1)
        to_start = (first_t - rv.window_start) / 1e3
        to_end = (rv.window_end - last_t) / 1e3
        threshold = average * 1.1
        to_start = np.where(to_start >= threshold, average / 2, to_start)
        if is_counter:
            to_zero = sampled * (vals[first] / result)
            use_zero = (result > 0) & (vals[first] >= 0) & (to_zero < to_start)
            to_start = np.where(use_zero, to_zero, to_start)
        to_end = np.where(to_end >= threshold, average / 2, to_end)
        factor = (sampled + to_start + to_end) / sampled
        if is_rate:
            factor = factor / (rv.range_ms / 1e3)
        return result * factor


def _extrapolated_at(
    rv: RangeVector, ts: np.ndarray, vals: np.ndarray, lo: int, hi: int, counter: bool, rate: bool
) -> float:
    """:func:`_extrapolated` at one step with at least two samples, operation for operation."""
    first, last = lo, hi - 1
    first_v, last_v = float(vals[first]), float(vals[last])
    result = last_v - first_v
    if counter:
        resets = vals[1:] < vals[:-1]
        if resets.any():
            prefix = np.concatenate(([0.0], np.cumsum(np.where(resets, vals[:-1], 0.0))))
            result = result + float(prefix[last]) - float(prefix[first])
        else:
            result = result + 0.0 - 0.0
    first_t, last_t = int(ts[first]), int(ts[last])
    sampled = (last_t - first_t) / 1e3
    average = sampled / (hi - lo - 1)
    end = int(rv.window_end[0])
    to_start = (first_t - (end - rv.range_ms)) / 1e3
    to_end = (end - last_t) / 1e3
    threshold = average * 1.1
    if to_start >= threshold:
        to_start = average / 2
    if counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        if to_zero < to_start:
            to_start = to_zero
    if to_end >= threshold:
        to_end = average / 2
    factor = (sampled + to_start + to_end) / sampled
    if rate:
        factor = factor / (rv.range_ms / 1e3)
    return result * factor


def _instant(rv: RangeVector, row: int, is_rate: bool) -> np.ndarray:
    """irate and idelta: from the last two samples of each window."""
    ts, vals = rv.timestamps[row], rv.values[row]
    _lo, hi = rv.bounds(row)
    last, prev = np.maximum(hi - 1, 0), np.maximum(hi - 2, 0)
    diff = vals[last] - vals[prev]
    if not is_rate:
        return diff
    diff = np.where(vals[last] < vals[prev], vals[last], diff)  # counter reset
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff / ((ts[last] - ts[prev]) / 1e3)


def _window_function(fn: WindowFn, keep_name: bool = False, scalar_first: bool = False):
    def call(rv: RangeVector, scalars: list[np.ndarray]) -> StepVector:
        return _per_series(rv, lambda row: _windows(rv, row, fn, scalars), keep_name=keep_name)

    call.scalar_first = scalar_first  # type: ignore[attr-defined]
    return call


def _last(rv: RangeVector, scalars: list[np.ndarray]) -> StepVector:
    def compute(row: int) -> np.ndarray:
        _lo, hi = rv.bounds(row)
        return rv.values[row][np.maximum(hi - 1, 0)]

    return _per_series(rv, compute, keep_name=True)


def _predict_linear(rv: RangeVector, scalars: list[np.ndarray]) -> StepVector:
    # Prometheus puts the intercept at the evaluation time, before any offset.
    args = [scalars[0], rv.eval_times]
    return _per_series(rv, lambda row: _windows(rv, row, _predict, args), min_samples=2)


def _window_sums(rv: RangeVector, row: int) -> np.ndarray:
    """Each step's window sum, summed in order by ``np.add.reduceat`` without building the
    padded window matrix (sum, avg and count are most of dashboard traffic)."""
    vals = rv.values[row]
    lo, hi = rv.bounds(row)
    padded = np.append(vals, 0.0)  # reduceat indices may point one past the end
    edges = np.empty(2 * len(lo), dtype=np.int64)
    edges[0::2], edges[1::2] = lo, hi
    sums = np.add.reduceat(padded, edges)[0::2]
    return np.where(hi > lo, sums, 0.0)


def _sum_over_time(rv: RangeVector, _s: list[np.ndarray]) -> StepVector:
    return _per_series(rv, lambda row: _window_sums(rv, row))


def _avg_over_time(rv: RangeVector, scalars: list[np.ndarray]) -> StepVector:
    def compute(row: int) -> np.ndarray:
        lo, hi = rv.bounds(row)
        mean = _window_sums(rv, row) / (hi - lo)
        if np.isinf(mean).any() and not np.isinf(rv.values[row]).any():
            # The sum overflowed: Prometheus switches to an incremental mean.
            return _windows(rv, row, _avg, scalars)
        return mean

    return _per_series(rv, compute)


RANGE_FUNCTIONS: dict[str, Callable[[RangeVector, list[np.ndarray]], StepVector]] = {
    "rate": lambda rv, _s: _per_series(rv, lambda r: _extrapolated(rv, r, True, True), 2),
    "increase": lambda rv, _s: _per_series(rv, lambda r: _extrapolated(rv, r, True, False), 2),
    "delta": lambda rv, _s: _per_series(rv, lambda r: _extrapolated(rv, r, False, False), 2),
    "irate": lambda rv, _s: _per_series(rv, lambda r: _instant(rv, r, True), 2),
    "idelta": lambda rv, _s: _per_series(rv, lambda r: _instant(rv, r, False), 2),
    "changes": lambda rv, _s: _per_series(rv, lambda r: _pairs(rv, r, _changes)),
    "resets": lambda rv, _s: _per_series(rv, lambda r: _pairs(rv, r, _resets)),
    "deriv": lambda rv, _s: _per_series(rv, lambda r: _windows(rv, r, _deriv, []), min_samples=2),
    "predict_linear": _predict_linear,
    "sum_over_time": _sum_over_time,
    "avg_over_time": _avg_over_time,
    "min_over_time": _window_function(_extreme(np.min, np.inf)),
    "max_over_time": _window_function(_extreme(np.max, -np.inf)),
    "count_over_time": lambda rv, _s: _per_series(
        rv, lambda row: np.subtract(*rv.bounds(row)[::-1]).astype(np.float64)
    ),
    "stddev_over_time": _window_function(_stddev),
    "stdvar_over_time": _window_function(_variance),
    "quantile_over_time": _window_function(_quantile),
    "mad_over_time": _window_function(_mad),
    "present_over_time": _window_function(lambda v, _t, _m, _a: np.ones(len(v))),
    "last_over_time": _last,
}


def call_range_function(name: str, rv: RangeVector, scalars: list[np.ndarray]) -> StepVector:
    return RANGE_FUNCTIONS[name](rv, scalars)
