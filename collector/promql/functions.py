"""Functions of instant vectors and scalars (range-vector functions: range_functions.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collector.promql.values import StepScalar, StepVector, drop_name

__all__ = ["MATH_FUNCTIONS", "TIME_FUNCTIONS", "clamp", "math_function", "time_function"]


def _round(v: np.ndarray, to_nearest: np.ndarray) -> np.ndarray:
    # Go: math.Floor(v*inverse + 0.5) / inverse, with inverse = 1 / toNearest.
    inverse = 1.0 / to_nearest
    return np.floor(v * inverse + 0.5) / inverse


MATH_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "sgn": np.sign,
    "acos": np.arccos,
    "acosh": np.arccosh,
    "asin": np.arcsin,
    "asinh": np.arcsinh,
    "atan": np.arctan,
    "atanh": np.arctanh,
    "cos": np.cos,
    "cosh": np.cosh,
    "sin": np.sin,
    "sinh": np.sinh,
    "tan": np.tan,
    "tanh": np.tanh,
    "deg": np.degrees,
    "rad": np.radians,
}


def math_function(name: str, vec: StepVector, extra: list[np.ndarray]) -> StepVector:
    with np.errstate(all="ignore"):
        if name == "round":
            to_nearest = extra[0] if extra else np.ones(vec.steps)
            values = _round(vec.values, to_nearest[None, :])
        else:
            values = MATH_FUNCTIONS[name](vec.values)
    labels = [drop_name(lbl) for lbl in vec.labels]
    return StepVector(labels, values, vec.present).merge_same_labels()


def clamp(vec: StepVector, low: np.ndarray | None, high: np.ndarray | None) -> StepVector:
    values = vec.values
    present = vec.present
    if low is not None and high is not None:
        # Prometheus returns nothing when min > max.
        present = present & ~(low > high)[None, :]
    with np.errstate(invalid="ignore"):
        if low is not None:
            values = np.where(np.isnan(values), values, np.maximum(values, low[None, :]))
        if high is not None:
            values = np.where(np.isnan(values), values, np.minimum(values, high[None, :]))
    labels = [drop_name(lbl) for lbl in vec.labels]
    return StepVector(labels, values, present).without_absent().merge_same_labels()


def _calendar(seconds: np.ndarray) -> dict[str, np.ndarray]:
    s = seconds.astype("datetime64[s]")
    day = s.astype("datetime64[D]")
    month = s.astype("datetime64[M]")
    year = s.astype("datetime64[Y]")
    return {
        "year": year.astype(np.int64) + 1970,
        "month": month.astype(np.int64) % 12 + 1,
        "day_of_month": (day - month.astype("datetime64[D]")).astype(np.int64) + 1,
        "day_of_year": (day - year.astype("datetime64[D]")).astype(np.int64) + 1,
        "days_in_month": (
            (month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")
        ).astype(np.int64),
        "day_of_week": (day.astype(np.int64) + 4) % 7,  # 1970-01-01 was a Thursday
        "hour": (seconds // 3600) % 24,
        "minute": (seconds // 60) % 60,
    }


TIME_FUNCTIONS = (
    "year",
    "month",
    "day_of_month",
    "day_of_year",
    "days_in_month",
    "day_of_week",
    "hour",
    "minute",
)


def time_function(name: str, vec: StepVector) -> StepVector:
    """Calendar fields (UTC) of the values, read as Unix seconds (Go truncates them)."""
    finite = np.isfinite(vec.values)
    seconds = np.where(finite, np.trunc(np.where(finite, vec.values, 0)), 0).astype(np.int64)
    fields = _calendar(seconds)[name].astype(np.float64)
    values = np.where(finite, fields, np.nan)
    labels = [drop_name(lbl) for lbl in vec.labels]
    return StepVector(labels, values, vec.present).merge_same_labels()


def scalar_of(vec: StepVector) -> StepScalar:
    """``scalar(v)``: the value where exactly one series is present, else NaN."""
    if not len(vec):
        return StepScalar(np.full(vec.steps, np.nan))
    single = vec.present.sum(axis=0) == 1
    values = np.where(vec.present, vec.values, 0.0).sum(axis=0)
    return StepScalar(np.where(single, values, np.nan))


def timestamp_of(vec: StepVector, times: np.ndarray) -> StepVector:
    """``timestamp(v)``: the samples' own timestamps for a selector, else the step's."""
    source = (
        vec.sample_ts if vec.sample_ts is not None else np.broadcast_to(times, vec.values.shape)
    )
    labels = [drop_name(lbl) for lbl in vec.labels]
    return StepVector(labels, source / 1e3, vec.present).merge_same_labels()


def sort_rows(vec: StepVector, descending: bool) -> StepVector:
    """Order series by value at the (single) step; NaN last, as Prometheus does."""
    if not len(vec):
        return vec
    v = vec.values[:, 0]
    key = np.where(np.isnan(v), np.inf, -v if descending else v)
    return vec.select(np.argsort(key, kind="stable"))
