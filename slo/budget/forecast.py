"""When the error budget runs out if things go on as they are: from the current burn rate,
or from a straight line through the recent burndown. ``None`` means it does not run out
(not burning, or the budget is growing back)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo.budget.errors import BudgetError
from slo.budget.frames import in_window, times_ms

__all__ = ["Exhaustion", "exhaustion_from_burn", "exhaustion_from_trend"]


@dataclass(frozen=True)
class Exhaustion:
    """The budget is spent ``in_ms`` after now, at ``at_ms`` (UTC ms); 0 if already spent."""

    in_ms: int
    at_ms: int

    @property
    def in_days(self) -> float:
        return self.in_ms / 86_400_000


def exhaustion_from_burn(
    remaining_ratio: float, burn_rate: float, window_ms: int, now_ms: int
) -> Exhaustion | None:
    """Time to exhaustion at a steady ``burn_rate`` (e.g. the last hour's, see
    :func:`slo.budget.burndown.burn_rate`).

    Burning at rate ``b`` spends ``b / window`` of the whole budget per unit of time (at 1x
    the budget lasts exactly one window), so ``remaining_ratio`` lasts
    ``remaining_ratio * window / b``: 50% left at 2x in a 30d window is 7.5 days. The model
    assumes steady traffic, and for rolling windows it ignores old errors ageing out, so it
    errs on the early side. None when not burning (``b <= 0``) or either input is NaN.
    """
    if window_ms <= 0:
        raise BudgetError(f"the SLO window must be longer than 0, got {window_ms} ms")
    if math.isnan(remaining_ratio) or math.isnan(burn_rate) or burn_rate <= 0:
        return None
    if remaining_ratio <= 0:
        return Exhaustion(0, now_ms)
    return _after(now_ms, remaining_ratio * window_ms / burn_rate)


def exhaustion_from_trend(remaining: pd.Series, now_ms: int, lookback_ms: int) -> Exhaustion | None:
    """Time to exhaustion by a least-squares line through ``remaining`` over
    ``(now - lookback, now]``, extended to where it crosses zero.

    Pass :func:`slo.budget.burndown.burndown`'s ``remaining`` column (events): it falls in a
    straight line under steady traffic and burn, in calendar and rolling windows alike. Any
    measure that is zero exactly when the budget is spent works (``remaining_ratio`` too).
    None when the line is flat or rising, or fewer than two points with data are in range.
    """
    if lookback_ms <= 0:
        raise BudgetError(f"the trend lookback must be longer than 0, got {lookback_ms} ms")
    recent = in_window(remaining.to_frame("remaining"), now_ms - lookback_ms, now_ms)
    recent = recent["remaining"].dropna()
    if len(recent) == 0:
        return None
    if recent.iloc[-1] <= 0:
        return Exhaustion(0, now_ms)
    # Seconds relative to now keep the fit well conditioned with epoch-sized timestamps.
    seconds = (times_ms(recent.index) - now_ms) / 1000.0
    if len(recent) < 2 or np.ptp(seconds) == 0:
        return None
    slope, intercept = np.polyfit(seconds, recent.to_numpy(dtype=np.float64), 1)
    crossing_s = -intercept / slope if slope < 0 else math.inf
    if not math.isfinite(crossing_s):  # flat, rising, or so slow it never gets there
        return None
    return _after(now_ms, max(0.0, crossing_s) * 1000.0)


def _after(now_ms: int, delay_ms: float) -> Exhaustion:
    delay = int(round(delay_ms))
    return Exhaustion(delay, now_ms + delay)
