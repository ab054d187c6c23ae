"""``histogram_quantile`` over classic ``le`` buckets, as Prometheus computes it.

Native histograms are not supported (see the README).
"""

from __future__ import annotations

import math

import numpy as np

from collector.model import Labels
from collector.promql.values import StepVector, drop_name

__all__ = ["histogram_quantile"]

_SMALL_DELTA = 1e-12  # Prometheus' tolerance for float noise between cumulative buckets
_MIN_NORMAL = 2.2250738585072014e-308


def _parse_le(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _almost_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
        relative = diff / np.minimum(abs_sum, np.finfo(np.float64).max) < _SMALL_DELTA
        return (a == b) | np.where(tiny, diff < _SMALL_DELTA * _MIN_NORMAL, relative)


def _monotonic(counts: np.ndarray) -> np.ndarray:
    """Remove decreases and float noise between buckets (rows: buckets by ``le``)."""
    fixed = counts.copy()
    for i in range(1, len(fixed)):
        prev, cur = fixed[i - 1], fixed[i]
        fixed[i] = np.where((cur < prev) | _almost_equal(prev, cur), prev, cur)
    return fixed


def _coalesce(bounds: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum buckets with the same upper bound (e.g. le="1" and le="1.0")."""
    unique, inverse = np.unique(bounds, return_inverse=True)
    if len(unique) == len(bounds):
        return bounds, counts
    summed = np.zeros((len(unique), counts.shape[1]))
    np.add.at(summed, inverse, counts)
    return unique, summed


def _all_present_quantiles(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Prometheus' bucketQuantile at many steps at once, every bucket present at each of them:
    ``bounds`` ascending and ending with +Inf, ``counts`` (buckets x steps) cumulative."""
    counts = _monotonic(counts)
    observations = counts[-1]
    rank = q * observations
    below = (counts[:-1] < rank[None, :]).sum(axis=0)  # first bucket reaching the rank
    b = np.minimum(below, len(bounds) - 1)
    steps = np.arange(counts.shape[1])
    prev = np.maximum(b - 1, 0)
    start = np.where(b > 0, bounds[prev], 0.0)
    base = np.where(b > 0, counts[prev, steps], 0.0)
    end = bounds[b]
    inside = start + (end - start) * ((rank - base) / (counts[b, steps] - base))
    out = np.where(b == len(bounds) - 1, bounds[-2] if len(bounds) > 1 else np.nan, inside)
    out = np.where((b == 0) & (bounds[0] <= 0), bounds[0], out)
    out = np.where((observations == 0) | np.isnan(observations), np.nan, out)
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q) | (len(bounds) < 2), np.nan, out)


def _group_quantiles(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray, present) -> tuple:
    steps = counts.shape[1]
    out = np.full(steps, np.nan)
    has = present.any(axis=0)
    full = present.all(axis=0)
    if math.isinf(bounds[-1]) and full.any():
        b, c = _coalesce(bounds, counts[:, full])
        out[full] = _all_present_quantiles(q[full], b, c)
    for step in np.flatnonzero(has & ~full).tolist():  # steps where some bucket is missing
        qs = q[step]
        if math.isnan(qs):
            continue
        if qs < 0 or qs > 1:
            out[step] = -math.inf if qs < 0 else math.inf
            continue
        rows = present[:, step]
        b = bounds[rows]
        if not math.isinf(b[-1]):
            continue
        b, c = _coalesce(b, counts[rows, step][:, None])
        out[step] = _all_present_quantiles(q[step : step + 1], b, c)[0]
    return out, has


def histogram_quantile(q: np.ndarray, vec: StepVector) -> StepVector:
    """phi per step, and the bucket series; one result series per label set without ``le``."""
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for row, labels in enumerate(vec.labels):
        le = _parse_le(labels.get("le"))
        if le is None:
            continue  # Prometheus ignores series without a valid le
        key = Labels(tuple(p for p in drop_name(labels) if p[0] != "le"))
        groups.setdefault(key, []).append((le, row))
    labels_out, values, present = [], [], []
    for key, members in groups.items():
        members.sort()
        bounds = np.array([le for le, _ in members])
        rows = [row for _, row in members]
        with np.errstate(all="ignore"):
            v, p = _group_quantiles(q, bounds, vec.values[rows], vec.present[rows])
        labels_out.append(key)
        values.append(v)
        present.append(p)
    if not labels_out:
        return StepVector.empty(vec.steps)
    return StepVector(labels_out, np.array(values), np.array(present)).without_absent()
