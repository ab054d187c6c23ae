"""Prometheus' quantile: linear interpolation between the two nearest ranks."""

from __future__ import annotations

import numpy as np

__all__ = ["quantile_rows"]


def quantile_rows(v: np.ndarray, m: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus' quantile (linear interpolation; NaNs sort first) of each row."""
    n = m.sum(axis=1)
    nan = np.isnan(v) & m
    # Order of each row: NaNs first (as Go's sort in Prometheus), then values, then padding.
    key = np.where(m, np.where(nan, -np.inf, v), np.inf)
    order = np.lexsort((key, ~nan), axis=-1)
    ordered = np.take_along_axis(np.where(m, v, np.inf), order, axis=1)
    # Indices from a sane phi; out-of-range and NaN phis are answered at the end.
    rank = np.where(np.isfinite(q), np.clip(q, 0, 1), 0) * np.maximum(n - 1, 0)
    lower = np.clip(np.floor(rank), 0, None)
    upper = np.minimum(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    rows = np.arange(len(v))
    lo = ordered[rows, np.clip(lower, 0, v.shape[1] - 1).astype(np.int64)]
    hi = ordered[rows, np.clip(upper, 0, v.shape[1] - 1).astype(np.int64)]
    out = lo * (1 - weight) + hi * weight
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q) | (n == 0), np.nan, out)
