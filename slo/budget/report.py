"""Calendar-period budget reports: one row per SLO and calendar week, month or quarter, with
the objective, the SLI achieved, the budget, the time spent burning faster than 1x and the
worst local day; exportable as CSV with fixed columns.

Reports of several SLOs are ``pandas.concat`` of their frames; :func:`to_csv` puts the
columns in :data:`REPORT_COLUMNS` order whatever order they arrive in.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from slo.budget.burndown import budget_status
from slo.budget.errors import BudgetError, allowed_error_ratio
from slo.budget.frames import check_events, in_window
from slo.budget.periods import CalendarUnit, Period, calendar_periods, time_zone
from slo.budget.timeslices import timeslice_events
from slo.spec.model import SLO

__all__ = ["REPORT_COLUMNS", "period_summary", "report_frame", "slo_report", "to_csv"]

Unit = Literal["events", "seconds", "slices"]

REPORT_COLUMNS = (
    "slo_id",
    "service",
    "slo",
    "period",
    "period_start",
    "period_end",
    "complete",
    "budgeting",
    "unit",
    "objective",
    "sli",
    "total",
    "bad",
    "budget_total",
    "budget_consumed",
    "budget_remaining",
    "budget_remaining_ratio",
    "seconds_above_1x",
    "data_coverage",
    "worst_day",
    "worst_day_sli",
)
_FLOAT_FORMAT = "%.10g"


def slo_report(
    slo: SLO,
    events: pd.DataFrame,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    unit: Literal["events", "seconds"] = "events",
    calendar_unit: CalendarUnit | None = None,
) -> pd.DataFrame:
    """One row per calendar period of ``slo`` overlapping ``[start_ms, end_ms)``.

    ``events`` is an events frame sampled every ``step_ms`` (see :mod:`slo.budget.frames`);
    ``unit`` says what it counts: ``events``, or ``seconds`` when it was built from an error
    ratio alone. Periods are the SLO's calendar unit and time zone; a rolling SLO is reported
    by ``calendar_unit`` (default: month) in its window's time zone. A period still running at
    ``end_ms`` is reported up to ``end_ms`` with ``complete`` false. Timeslice SLOs are graded
    into slices aligned to each period's start and reported in ``slices``.
    """
    where = str(slo.source)
    allowed_error_ratio(slo.objective, where)
    chosen = calendar_unit or slo.window.calendar_unit or "month"
    zone = slo.window.time_zone
    _check_zone(zone, where)
    _check_step(step_ms)
    events = check_events(events)
    rows = []
    for period in calendar_periods(chosen, zone, start_ms, end_ms):
        rows.append(_slo_row(slo, events, period, end_ms, step_ms, unit, where))
    return report_frame(rows)


def period_summary(
    events: pd.DataFrame,
    objective: float,
    period: Period,
    until_ms: int,
    step_ms: int,
    zone: str = "UTC",
) -> dict[str, object]:
    """The figures of one period from rows in ``(period.start, min(period.end, until)]``.

    ``seconds_above_1x`` counts rows burning faster than 1x, each standing for ``step_ms``;
    ``data_coverage`` is the share of the elapsed period those rows cover (gaps lower it);
    ``worst_day`` is the local day (``zone``) with the lowest SLI, earliest on a tie.
    """
    _check_step(step_ms)
    rows = in_window(check_events(events), period.start_ms, min(period.end_ms, until_ms))
    summary = _figures(rows, objective, step_ms, zone)
    summary["data_coverage"] = _coverage(len(rows), step_ms, period, until_ms)
    return summary


def _figures(rows: pd.DataFrame, objective: float, step_ms: int, zone: str) -> dict[str, object]:
    allowed = allowed_error_ratio(objective)
    status = budget_status(rows, objective)
    burning = (rows["errors"] > allowed * rows["total"]) & (rows["total"] > 0)
    worst_day, worst_sli = _worst_day(rows, zone)
    return {
        "objective": objective,
        "sli": status.sli,
        "total": status.events,
        "bad": status.consumed,
        "budget_total": status.budget,
        "budget_consumed": status.consumed,
        "budget_remaining": status.remaining,
        "budget_remaining_ratio": status.remaining_ratio,
        "seconds_above_1x": int(burning.sum()) * step_ms / 1000.0,
        "data_coverage": math.nan,
        "worst_day": worst_day,
        "worst_day_sli": worst_sli,
    }


def report_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Report rows as a frame with exactly :data:`REPORT_COLUMNS`, in that order."""
    frame = pd.DataFrame.from_records(rows, columns=list(REPORT_COLUMNS))
    return frame.astype({"complete": bool}) if len(frame) else frame


def to_csv(report: pd.DataFrame) -> str:
    """The report as CSV text: a header of :data:`REPORT_COLUMNS`, ``\\n`` line ends, ratios
    as fractions, numbers with up to 10 significant digits, ``true``/``false``, and empty
    cells for undefined values (an SLI with no traffic)."""
    missing = [name for name in REPORT_COLUMNS if name not in report.columns]
    if missing:
        raise BudgetError(f"not a budget report: column(s) {', '.join(missing)} missing")
    frame = report[list(REPORT_COLUMNS)].copy()
    frame["complete"] = ["true" if bool(flag) else "false" for flag in frame["complete"]]
    return frame.to_csv(index=False, lineterminator="\n", float_format=_FLOAT_FORMAT, na_rep="")


def _slo_row(
    slo: SLO,
    events: pd.DataFrame,
    period: Period,
    until_ms: int,
    step_ms: int,
    unit: Unit,
    where: str,
) -> dict[str, object]:
    zone = slo.window.time_zone
    if slo.budgeting == "timeslices":
        slice_ms, target = _timeslice_settings(slo, where)
        rows = in_window(events, period.start_ms, min(period.end_ms, until_ms))
        # Every slice of the period counts, even the one still filling up at ``until_ms``
        # or cut short by the period's end; coverage is about the data, not the slices.
        slices = timeslice_events(rows, slice_ms, target, origin_ms=period.start_ms)
        summary = _figures(slices, slo.objective, slice_ms, zone)
        summary["data_coverage"] = _coverage(len(rows), step_ms, period, until_ms)
        unit = "slices"
    else:
        summary = period_summary(events, slo.objective, period, until_ms, step_ms, zone)
    return {
        "slo_id": slo.id,
        "service": slo.service,
        "slo": slo.name,
        "period": period.label,
        "period_start": _local_iso(period.start_ms, zone),
        "period_end": _local_iso(period.end_ms, zone),
        "complete": period.end_ms <= until_ms,
        "budgeting": slo.budgeting,
        "unit": unit,
        **summary,
    }


def _timeslice_settings(slo: SLO, where: str) -> tuple[int, float]:
    if slo.timeslice_window_ms is None or slo.timeslice_target is None:
        raise BudgetError(
            f"{where}: timeslices budgeting needs both a timeslice target and a timeslice window"
        )
    return slo.timeslice_window_ms, slo.timeslice_target


def _worst_day(rows: pd.DataFrame, zone: str) -> tuple[str | None, float]:
    traffic = rows[rows["total"] > 0]
    if traffic.empty:
        return None, math.nan
    # A row stamped at local midnight closes the previous day's last interval.
    days = (traffic.index - pd.Timedelta(milliseconds=1)).tz_convert(time_zone(zone)).date
    sums = traffic.groupby(np.asarray(days)).sum()
    sli = 1.0 - sums["errors"] / sums["total"]
    worst = sli.idxmin()
    return worst.isoformat(), float(sli[worst])


def _coverage(row_count: int, step_ms: int, period: Period, until_ms: int) -> float:
    elapsed = min(period.end_ms, until_ms) - period.start_ms
    if elapsed <= 0:
        return math.nan
    return min(1.0, row_count * step_ms / elapsed)


def _local_iso(time_ms: int, zone: str) -> str:
    moment = pd.Timestamp(time_ms, unit="ms", tz="UTC").tz_convert(time_zone(zone))
    return moment.isoformat()


def _check_zone(zone: str, where: str) -> None:
    try:
        time_zone(zone)
    except BudgetError as exc:
        raise BudgetError(f"{where}: {exc}") from None


def _check_step(step_ms: int) -> None:
    if step_ms <= 0:
        raise BudgetError(f"step must be a positive number of milliseconds, got {step_ms!r}")
