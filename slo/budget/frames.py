"""The one input shape budget analytics works on, and the ways to build it.

An *events frame* is a :class:`pandas.DataFrame` with float columns ``errors`` and ``total``
on a sorted, unique, UTC :class:`pandas.DatetimeIndex`. A row stamped ``t`` holds the bad and
all events of the interval that ends at ``t`` (a ``rate(...[5m])`` sampled at ``t`` covers
``(t - 5m, t]``), which is why :func:`in_period` takes rows in ``(start, end]``, the same
left-open range PromQL's ``sum_over_time(x[30d])`` reads.

Gaps (missing scrapes, failed rule evaluations) are rows that are absent or whose ``total`` is
NaN: they are left out, as PromQL's ``*_over_time`` functions leave out missing samples. A
missing ``errors`` value where ``total`` is present counts as 0, because an error query such as
``sum(rate(http_requests_total{code=~"5.."}[5m]))`` returns nothing while there are no errors.
Counter resets are handled upstream: inputs are already rates or increases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slo.budget.errors import BudgetError
from slo.budget.periods import Period

__all__ = [
    "EVENT_COLUMNS",
    "check_events",
    "events_from_counts",
    "events_from_error_ratio",
    "events_from_rates",
    "in_period",
    "in_window",
    "series_from_samples",
    "times_ms",
    "timestamp",
]

EVENT_COLUMNS = ("errors", "total")


def series_from_samples(
    timestamps_ms: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, name=None
) -> pd.Series:
    """A float series on a UTC index from millisecond timestamps, e.g. one series of a
    PromQL range query (``Series.timestamps``, ``Series.values``)."""
    stamps = np.asarray(timestamps_ms, dtype=np.int64)
    numbers = np.asarray(values, dtype=np.float64)
    if stamps.shape != numbers.shape:
        raise BudgetError(f"{stamps.size} timestamps but {numbers.size} values")
    index = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms", utc=True))
    return pd.Series(numbers, index=index, name=name)


def events_from_counts(errors: pd.Series | None, total: pd.Series) -> pd.DataFrame:
    """An events frame from bad-event and all-event counts per interval.

    ``errors`` may be None (no bad events seen at all) or have fewer rows than ``total``;
    its missing rows count as 0. Rows of ``errors`` without a ``total`` are gaps and dropped.
    """
    total = _utc_series(total, "total")
    bad = pd.Series(0.0, index=total.index) if errors is None else _utc_series(errors, "errors")
    frame = pd.DataFrame({"errors": bad.reindex(total.index), "total": total})
    return check_events(frame)


def events_from_rates(
    error_rate: pd.Series | None, total_rate: pd.Series, step_ms: int
) -> pd.DataFrame:
    """An events frame from per-second rates sampled every ``step_ms`` (a range query's step):
    each rate times the step is that step's event count."""
    seconds = _step_seconds(step_ms)
    errors = None if error_rate is None else error_rate * seconds
    return events_from_counts(errors, total_rate * seconds)


def events_from_error_ratio(ratio: pd.Series, step_ms: int) -> pd.DataFrame:
    """An events frame from an error ratio alone (``slo:sli_error:ratio_rate5m``), when the
    SLI has no event counts: each sample weighs its step in seconds, so ``total`` counts
    observed seconds and ``errors`` error-weighted seconds. Budgets then mean the same as
    Sloth's average of 5-minute ratios. NaN ratios (0/0 at zero traffic) are gaps."""
    seconds = _step_seconds(step_ms)
    ratio = _utc_series(ratio, "error ratio").dropna()
    frame = pd.DataFrame({"errors": ratio * seconds, "total": seconds}, index=ratio.index)
    return check_events(frame)


def check_events(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a clean events frame (sorted, UTC, float, gaps dropped), or a
    :class:`BudgetError` naming the first problem: a missing column, a non-time index,
    a repeated timestamp, a negative or infinite count."""
    if not isinstance(frame, pd.DataFrame):
        raise BudgetError(f"expected a DataFrame with columns errors, total; got {type(frame)}")
    missing = [name for name in EVENT_COLUMNS if name not in frame.columns]
    if missing:
        raise BudgetError(f"events frame lacks column(s) {', '.join(missing)}")
    index = _utc_index(frame.index, "events frame")
    errors = pd.to_numeric(frame["errors"], errors="coerce").to_numpy(dtype=np.float64)
    total = pd.to_numeric(frame["total"], errors="coerce").to_numpy(dtype=np.float64)
    clean = pd.DataFrame({"errors": np.nan_to_num(errors, nan=0.0), "total": total}, index=index)
    clean = clean[~np.isnan(total)].sort_index()
    _check_values(clean)
    return clean


def in_period(events: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The rows of ``events`` whose interval ends in ``(period.start_ms, period.end_ms]``."""
    return in_window(events, period.start_ms, period.end_ms)


def in_window(events: pd.DataFrame, after_ms: int, until_ms: int) -> pd.DataFrame:
    """The rows stamped in ``(after_ms, until_ms]``, PromQL's range ``[until - after]``."""
    stamps = times_ms(events.index)
    return events[(stamps > after_ms) & (stamps <= until_ms)]


def times_ms(index: pd.Index) -> np.ndarray:
    """The UTC millisecond timestamps of a DatetimeIndex, whatever its resolution."""
    return _utc_index(index, "index").as_unit("ms").asi8


def timestamp(time_ms: int) -> pd.Timestamp:
    """A UTC :class:`pandas.Timestamp` for ``time_ms``."""
    return pd.Timestamp(int(time_ms), unit="ms", tz="UTC")


def _utc_series(series: pd.Series, what: str) -> pd.Series:
    if not isinstance(series, pd.Series):
        raise BudgetError(f"{what}: expected a pandas Series, got {type(series).__name__}")
    numbers = pd.to_numeric(series, errors="coerce").astype(np.float64)
    return pd.Series(numbers.to_numpy(), index=_utc_index(series.index, what))


def _utc_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    # Naive timestamps are taken as UTC: sloscope keeps time in UTC everywhere.
    if not isinstance(index, pd.DatetimeIndex):
        raise BudgetError(f"{what}: expected a DatetimeIndex, got {type(index).__name__}")
    if index.tz is None:
        return index.tz_localize("UTC")
    return index.tz_convert("UTC")


def _check_values(frame: pd.DataFrame) -> None:
    repeated = frame.index[frame.index.duplicated()]
    if len(repeated):
        raise BudgetError(f"events frame has more than one row at {repeated[0].isoformat()}")
    for name in EVENT_COLUMNS:
        values = frame[name].to_numpy()
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            where = frame.index[bad][0].isoformat()
            raise BudgetError(f"events frame: {name} is {float(values[bad][0])!r} at {where}")


def _step_seconds(step_ms: int) -> float:
    if isinstance(step_ms, bool) or not isinstance(step_ms, int | np.integer) or step_ms <= 0:
        raise BudgetError(f"step must be a positive number of milliseconds, got {step_ms!r}")
    return step_ms / 1000.0
