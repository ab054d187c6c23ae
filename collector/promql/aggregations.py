"""Aggregation operators over an instant vector, at every step at once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collector.model import METRIC_NAME, Labels
from collector.promql.errors import ExecutionError
from collector.promql.formatting import format_float
from collector.promql.kahan import kahan_sum
from collector.promql.quantile import quantile_rows
from collector.promql.values import StepVector

__all__ = ["AGGREGATIONS", "aggregate", "group_labels"]


def group_labels(labels: Labels, names: list[str] | None, without: bool) -> Labels:
    """The labels a series is grouped by: ``by (names)`` keeps them, ``without`` drops them
    (and the metric name); no clause groups everything together."""
    if names is None:
        return Labels(())
    if without:
        dropped = set(names) | {METRIC_NAME}
        return Labels(tuple(p for p in labels if p[0] not in dropped))
    kept = set(names)
    return Labels(tuple(p for p in labels if p[0] in kept))


def _groups(vec: StepVector, names: list[str] | None, without: bool) -> dict[Labels, list[int]]:
    groups: dict[Labels, list[int]] = {}
    for row, labels in enumerate(vec.labels):
        groups.setdefault(group_labels(labels, names, without), []).append(row)
    return groups


# Reducers: (values, present) of one group, (k, steps) -> (values, present) per step.
Reducer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _sum(v: np.ndarray, p: np.ndarray):
    return kahan_sum(np.where(p, v, 0.0), axis=0), p.any(axis=0)


def _count(v: np.ndarray, p: np.ndarray):
    return p.sum(axis=0).astype(np.float64), p.any(axis=0)


def _avg(v: np.ndarray, p: np.ndarray):
    return mean_columns(v, p), p.any(axis=0)


def mean_columns(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Mean of the present values per column; where the plain sum overflows although no
    value is infinite, the mean of value/n instead (Prometheus' incremental mean)."""
    n = np.maximum(p.sum(axis=0), 1)
    values = np.where(p, v, 0.0)
    mean = kahan_sum(values, axis=0) / n
    overflow = np.isinf(mean) & ~np.isinf(values).any(axis=0)
    if overflow.any():
        mean = np.where(overflow, (values / n).sum(axis=0), mean)
    return mean


def _extreme(pick: Callable, fill: float) -> Reducer:
    def reduce(v: np.ndarray, p: np.ndarray):
        real = p & ~np.isnan(v)
        out = pick(np.where(real, v, fill), axis=0)
        return np.where(real.any(axis=0), out, np.nan), p.any(axis=0)

    return reduce


def _stdvar(v: np.ndarray, p: np.ndarray):
    mean, present = _avg(v, p)
    dev = np.where(p, v - mean, 0.0)
    return (dev * dev).sum(axis=0) / np.maximum(p.sum(axis=0), 1), present


def _stddev(v: np.ndarray, p: np.ndarray):
    var, present = _stdvar(v, p)
    return np.sqrt(var), present


AGGREGATIONS: dict[str, Reducer] = {
    "sum": _sum,
    "avg": _avg,
    "count": _count,
    "min": _extreme(np.min, np.inf),
    "max": _extreme(np.max, -np.inf),
    "group": lambda v, p: (np.ones(v.shape[1]), p.any(axis=0)),
    "stddev": _stddev,
    "stdvar": _stdvar,
}


def aggregate(
    op: str,
    vec: StepVector,
    names: list[str] | None,
    without: bool,
    param: np.ndarray | str | None,
) -> StepVector:
    """Apply aggregation ``op``; ``param`` is topk's k, quantile's phi or count_values' label."""
    groups = _groups(vec, names, without)
    with np.errstate(all="ignore"):
        if op in AGGREGATIONS:
            return _reduce(vec, groups, AGGREGATIONS[op])
        if op in ("topk", "bottomk"):
            return _select_k(vec, groups, param, op == "topk")
        if op == "quantile":
            return _quantile(vec, groups, param)
        if op == "count_values":
            return _count_values(vec, groups, str(param))
    raise ExecutionError(f"unsupported aggregation {op!r}")


def _reduce(vec: StepVector, groups: dict[Labels, list[int]], reducer: Reducer) -> StepVector:
    steps = vec.steps
    values = np.zeros((len(groups), steps))
    present = np.zeros((len(groups), steps), dtype=bool)
    for g, rows in enumerate(groups.values()):
        values[g], present[g] = reducer(vec.values[rows], vec.present[rows])
    return StepVector(list(groups), values, present).without_absent()


def _select_k(vec: StepVector, groups, k: np.ndarray, top: bool) -> StepVector:
    if np.isnan(k).any():
        raise ExecutionError("Parameter value is NaN")
    if (np.abs(k) >= 2.0**63).any():
        raise ExecutionError(f"Scalar value {k[np.abs(k) >= 2.0**63][0]:g} overflows int64")
    present = np.zeros_like(vec.present)
    ks = np.trunc(k)
    for rows in groups.values():
        rows = np.asarray(rows)
        v, p = vec.values[rows], vec.present[rows]
        # NaN ranks last for both; ties keep the series' order.
        key = np.where(np.isnan(v), np.inf, -v if top else v)
        key = np.where(p, key, np.nan)  # absent last of all (NaN sorts after inf)
        order = np.argsort(key, axis=0, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(len(rows))[:, None], axis=0)
        present[rows] = p & (ranks < ks[None, :])
    out = StepVector(vec.labels, vec.values, present).without_absent()
    if out.steps == 1 and len(out):
        # An instant result lists each group's selection best first, as Prometheus does.
        v = out.values[:, 0]
        key = np.where(np.isnan(v), np.inf, -v if top else v)
        out = out.select(np.argsort(key, kind="stable"))
    return out


def _quantile(vec: StepVector, groups, q: np.ndarray) -> StepVector:
    values = np.zeros((len(groups), vec.steps))
    present = np.zeros((len(groups), vec.steps), dtype=bool)
    for g, rows in enumerate(groups.values()):
        v, p = vec.values[rows], vec.present[rows]
        values[g] = quantile_rows(v.T, p.T, q)
        present[g] = p.any(axis=0)
    return StepVector(list(groups), values, present).without_absent()


def _count_values(vec: StepVector, groups, label: str) -> StepVector:
    if not label:
        raise ExecutionError(f"invalid label name {label!r}")
    counts: dict[Labels, np.ndarray] = {}
    for group, rows in groups.items():
        base = tuple(p for p in group if p[0] != label)
        for row in rows:
            steps = np.flatnonzero(vec.present[row])
            for value, step in zip(vec.values[row, steps].tolist(), steps.tolist(), strict=True):
                key = Labels.of((*base, (label, format_float(value))))
                counts.setdefault(key, np.zeros(vec.steps))[step] += 1
    labels = list(counts)
    values = np.array([counts[k] for k in labels]).reshape(len(labels), vec.steps)
    return StepVector(labels, values, values > 0)
