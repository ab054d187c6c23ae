"""Error-budget analytics with pandas: remaining budget, burndown, forecasts, reports.

Pure functions over pandas objects: no I/O and no clock (callers pass ``now``). Data comes
in as an *events frame* (see :mod:`slo.budget.frames`), typically built from PromQL range
queries. ``docs/budgets.md`` defines every figure.
"""

from slo.budget.burndown import BudgetStatus, budget_status, burn_rate, burndown, rolling_budget
from slo.budget.errors import BudgetError, allowed_error_ratio
from slo.budget.forecast import Exhaustion, exhaustion_from_burn, exhaustion_from_trend
from slo.budget.frames import (
    check_events,
    events_from_counts,
    events_from_error_ratio,
    events_from_rates,
    in_period,
    series_from_samples,
)
from slo.budget.periods import Period, calendar_period, calendar_periods, rolling_period
from slo.budget.report import REPORT_COLUMNS, period_summary, slo_report, to_csv
from slo.budget.timeslices import timeslice_events

__all__ = [
    "REPORT_COLUMNS",
    "BudgetError",
    "BudgetStatus",
    "Exhaustion",
    "Period",
    "allowed_error_ratio",
    "budget_status",
    "burn_rate",
    "burndown",
    "calendar_period",
    "calendar_periods",
    "check_events",
    "events_from_counts",
    "events_from_error_ratio",
    "events_from_rates",
    "exhaustion_from_burn",
    "exhaustion_from_trend",
    "in_period",
    "period_summary",
    "rolling_budget",
    "rolling_period",
    "series_from_samples",
    "slo_report",
    "timeslice_events",
    "to_csv",
]
