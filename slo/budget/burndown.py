"""Error budget over a window, event-weighted: how much there is, how much is used, how much
is left, and how that moved over time.

With ``a = 1 - objective`` (the allowed error ratio), ``E`` bad and ``N`` all events in the
window:

* budget ``B = a * N`` (events that may fail), consumed ``E``, remaining ``B - E``;
* SLI ``1 - E / N``; burn rate ``(E / N) / a``; remaining ratio ``1 - burn rate``
  (``1 - E / B``), negative once the budget is overspent.

With no events (``N = 0``) the SLI, burn rate and remaining ratio are NaN: undefined, not
100% and not 0%. The remaining ratio is Sloth's ``slo:period_error_budget_remaining:ratio``
when the period error ratio is event-weighted, ``sum_over_time(errors) / sum_over_time(total)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo.budget.errors import BudgetError, allowed_error_ratio
from slo.budget.frames import check_events, in_period, in_window
from slo.budget.periods import Period

__all__ = [
    "BURNDOWN_COLUMNS",
    "BudgetStatus",
    "budget_status",
    "burn_rate",
    "burndown",
    "rolling_budget",
]

BURNDOWN_COLUMNS = (
    "errors",
    "total",
    "consumed",
    "events",
    "budget",
    "remaining",
    "remaining_ratio",
    "sli",
    "burn_rate",
)


@dataclass(frozen=True)
class BudgetStatus:
    """The budget of one window at its end. Ratios are NaN when the window saw no events."""

    objective: float
    events: float
    consumed: float
    budget: float
    remaining: float
    remaining_ratio: float
    sli: float
    burn_rate: float


def budget_status(
    events: pd.DataFrame, objective: float, period: Period | None = None
) -> BudgetStatus:
    """The budget of ``period`` (rows in ``(start, end]``), or of every row when None."""
    allowed = allowed_error_ratio(objective)
    events = check_events(events)
    if period is not None:
        events = in_period(events, period)
    # fsum: exact sums, so a month of small rates adds up the way PromQL's Kahan sum does.
    bad, total = math.fsum(events["errors"]), math.fsum(events["total"])
    columns = _budget_columns(np.array([bad]), np.array([total]), allowed)
    return BudgetStatus(objective, total, bad, **{k: float(v[0]) for k, v in columns.items()})


def burndown(events: pd.DataFrame, objective: float, period: Period | None = None) -> pd.DataFrame:
    """The budget accumulated from the start of ``period`` up to each row.

    Columns: ``errors``/``total`` (the row's own events), ``consumed``/``events`` (running
    sums), ``budget``, ``remaining``, ``remaining_ratio``, ``sli`` (running), and
    ``burn_rate``, the row's own burn rate (``errors / total / a``; NaN at zero traffic).
    ``remaining`` (in events) falls in a straight line while traffic and burn rate hold
    steady, which is what :func:`slo.budget.forecast.exhaustion_from_trend` fits.
    """
    allowed = allowed_error_ratio(objective)
    events = check_events(events)
    if period is not None:
        events = in_period(events, period)
    errors, total = events["errors"].to_numpy(), events["total"].to_numpy()
    consumed, seen = np.cumsum(errors), np.cumsum(total)
    columns = _budget_columns(consumed, seen, allowed)
    # Here burn_rate is each row's own, not the running one (that is 1 - remaining_ratio).
    columns["burn_rate"] = _ratio(errors, total) / allowed
    frame = pd.DataFrame({"errors": errors, "total": total, "consumed": consumed}, events.index)
    frame["events"] = seen
    for name, values in columns.items():
        frame[name] = values
    return frame[list(BURNDOWN_COLUMNS)]


def rolling_budget(events: pd.DataFrame, objective: float, window_ms: int) -> pd.DataFrame:
    """At each row ``t``, the budget of the rolling window ``(t - window, t]``.

    This is the series Sloth records as ``slo:period_error_budget_remaining:ratio`` for a
    rolling SLO (event-weighted). Columns: ``errors``/``total`` (window sums), ``budget``,
    ``remaining``, ``remaining_ratio``, ``sli`` and ``burn_rate`` (the window's, Sloth's
    ``slo:period_burn_rate:ratio``).
    """
    allowed = allowed_error_ratio(objective)
    if window_ms <= 0:
        raise BudgetError(f"a rolling window must be longer than 0, got {window_ms} ms")
    events = check_events(events)
    window = pd.Timedelta(milliseconds=window_ms)
    sums = events.rolling(window, closed="right").sum()
    # A rolling float sum can leave 1e-17 behind once every non-zero row has left the
    # window; counting non-zero rows (exact) tells a true zero from that residue.
    nonzero = (events > 0).astype(np.float64).rolling(window, closed="right").sum()
    errors = np.where(nonzero["errors"].to_numpy() > 0, sums["errors"].to_numpy(), 0.0)
    total = np.where(nonzero["total"].to_numpy() > 0, sums["total"].to_numpy(), 0.0)
    frame = pd.DataFrame({"errors": errors, "total": total}, index=events.index)
    for name, values in _budget_columns(errors, total, allowed).items():
        frame[name] = values
    return frame


def burn_rate(events: pd.DataFrame, objective: float, now_ms: int, lookback_ms: int) -> float:
    """The burn rate over ``(now - lookback, now]`` (e.g. the last 1h or 6h): the window's
    error ratio over the allowed one. 1 spends the budget exactly over the SLO period; NaN
    when the window saw no events."""
    allowed = allowed_error_ratio(objective)
    recent = in_window(check_events(events), now_ms - lookback_ms, now_ms)
    bad, total = math.fsum(recent["errors"]), math.fsum(recent["total"])
    return float(_ratio(np.array([bad]), np.array([total]))[0] / allowed)


def _budget_columns(bad: np.ndarray, total: np.ndarray, allowed: float) -> dict[str, np.ndarray]:
    error_ratio = _ratio(bad, total)
    burn = error_ratio / allowed
    budget = allowed * total
    return {
        "budget": budget,
        "remaining": budget - bad,
        "remaining_ratio": 1.0 - burn,
        "sli": 1.0 - error_ratio,
        "burn_rate": burn,
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # Zero traffic leaves the ratio undefined (NaN), never 0 or 1, and without a warning.
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
