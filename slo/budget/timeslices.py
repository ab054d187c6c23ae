"""Timeslice budgeting (OpenSLO ``budgetingMethod: Timeslices``): the SLI is the fraction of
good time slices, a slice being good when its own good ratio meets the slice target.

Rather than a second set of budget functions, slices become an events frame of their own:
one row per slice that saw traffic, ``total`` 1 and ``errors`` 1 for a bad slice, 0 for a
good one. Every budget, burndown, forecast and report function then works on slices
unchanged, in units of slices instead of events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slo.budget.errors import BudgetError
from slo.budget.frames import check_events, times_ms

__all__ = ["timeslice_events"]

_TOLERANCE = 1e-12


def timeslice_events(
    events: pd.DataFrame, slice_ms: int, target: float, origin_ms: int = 0
) -> pd.DataFrame:
    """Slices of ``slice_ms`` as an events frame, graded good when ``1 - errors / total >=
    target``.

    Slices are ``(origin + k * slice, origin + (k + 1) * slice]``, stamped at their end, so
    pass the period's start as ``origin_ms`` to align them with a calendar period. A slice
    with no rows or no traffic is no slice at all: it counts neither good nor bad, just as a
    zero-traffic interval leaves an occurrences SLI undefined.
    """
    if isinstance(slice_ms, bool) or not isinstance(slice_ms, int) or slice_ms <= 0:
        raise BudgetError(f"timeslice window must be a positive duration, got {slice_ms!r}")
    if not 0.0 < target <= 1.0:
        raise BudgetError(f"timeslice target must be a fraction in (0, 1], got {target!r}")
    events = check_events(events)
    stamps = times_ms(events.index)
    # ceil((t - origin) / slice) in integers: the end of the slice each row falls in.
    ends = origin_ms - ((origin_ms - stamps) // slice_ms) * slice_ms
    sums = events.groupby(ends).sum()
    sums = sums[sums["total"] > 0]
    good_ratio = 1.0 - sums["errors"].to_numpy() / sums["total"].to_numpy()
    index = pd.DatetimeIndex(pd.to_datetime(sums.index.to_numpy(), unit="ms", utc=True))
    # The tolerance keeps 99 good of 100 a good slice at target 0.99 despite float rounding.
    bad = np.where(good_ratio >= target - _TOLERANCE, 0.0, 1.0)
    return pd.DataFrame({"errors": bad, "total": np.ones(len(bad))}, index=index)
