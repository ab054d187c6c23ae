"""Prometheus' compensated (Kahan-Neumaier) summation, vectorised across steps.

Prometheus 3 sums with ``kahanSumInc`` in sum, avg, sum_over_time, avg_over_time and the
linear regression behind deriv and predict_linear. Summing the same way, in the same order,
gives its answers to the last bits rather than merely close ones.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["kahan_sum", "kahan_sum_floats"]


def kahan_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` term by term as Prometheus' kahanSumInc does; absent terms must be 0.

    >>> float(kahan_sum(np.array([[1e16, 1.0, -1e16]]), axis=1)[0])
    1.0
    """
    terms = np.moveaxis(values, axis, 0)
    if terms.ndim == 2 and terms.shape[1] == 1:  # one step (an instant query): floats are
        return np.array([kahan_sum_floats(terms[:, 0].tolist())])  # faster than numpy here
    total = np.zeros(terms.shape[1:])
    compensation = np.zeros(terms.shape[1:])
    with np.errstate(invalid="ignore", over="ignore"):
        for inc in terms:
            t = total + inc
            big = np.abs(total) >= np.abs(inc)
            step = np.where(big, (total - t) + inc, (inc - t) + total)
            compensation = np.where(np.isinf(t), 0.0, compensation + step)
            total = t
        return total + compensation


def kahan_sum_floats(terms: list[float]) -> float:
    """:func:`kahan_sum` of one column of Python floats (the same IEEE arithmetic, in order)."""
    total = compensation = 0.0
    for inc in terms:
        t = total + inc
        if abs(total) >= abs(inc):
            step = (total - t) + inc
        else:
            step = (inc - t) + total
        compensation = 0.0 if math.isinf(t) else compensation + step
        total = t
    return total + compensation
