"""An SLO's error budget over its current period: the burndown, the status at its end and the
trend forecast, computed by :mod:`slo.budget` from events fetched with PromQL.

Events come from the recorded 5m event rates (``slo:sli_error_events:rate5m``,
``slo:sli_total_events:rate5m``), averaged over each step: one series each, cheap even over
30 days. Without recordings (a fresh server) the SLI's own queries are evaluated with the
step as their range, ``rate(x[step])``, which counts each step's events exactly. Ratio-only
SLIs weigh each step by its seconds (docs/budgets.md, "Ratio-only SLIs").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from slo.budget import (
    BudgetError,
    Period,
    budget_status,
    burndown,
    calendar_period,
    events_from_error_ratio,
    events_from_rates,
    exhaustion_from_trend,
    rolling_period,
    series_from_samples,
    timeslice_events,
)
from slo.compile import naming
from slo.compile.windows import DAY_MS, MINUTE_MS, format_duration
from slo.spec.model import SLO
from slo.spec.sli_queries import sli_queries
from web.queries import Sources
from web.queries.promql import QueryError, range_query

__all__ = ["Burndown", "budget_burndown", "burndown_step_ms", "slo_period"]

_TARGET_POINTS = 300
_NICE_STEPS_MS = tuple(m * MINUTE_MS for m in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880))
_STEPS_PER_QUERY = 10_000  # under the engine's 11,000 points per series
_TREND_LOOKBACK_MS = DAY_MS


@dataclass
class Burndown:
    """The budget from the period's start to ``end_ms``, one point per ``step_ms``.

    ``remaining_ratio`` runs from 1 (untouched) down, below 0 once overspent; ``remaining``
    and ``consumed`` are in ``unit`` (events, seconds or slices). ``status`` is
    :class:`slo.budget.BudgetStatus` as a dict (None for undefined figures); ``trend`` the
    time to exhaustion from a line fitted to the last day, or None.
    """

    period: str
    start_ms: int
    end_ms: int
    step_ms: int
    unit: str
    data: str  # "recorded", "computed" or "none"
    times_ms: list[int] = field(default_factory=list)
    remaining_ratio: list[float | None] = field(default_factory=list)
    sli: list[float | None] = field(default_factory=list)
    consumed: list[float | None] = field(default_factory=list)
    status: dict[str, float | None] | None = None
    trend: dict[str, int] | None = None
    error: str = ""


def slo_period(slo: SLO, end_ms: int) -> Period:
    """The SLO period containing ``end_ms``: its calendar period, or the rolling window."""
    window = slo.window
    if window.kind == "calendar" and window.calendar_unit is not None:
        return calendar_period(window.calendar_unit, window.time_zone, end_ms)
    return rolling_period(window.duration_ms, end_ms)


def burndown_step_ms(span_ms: int) -> int:
    """A readable step giving at most about 300 points over ``span_ms`` (5m at least)."""
    wanted = span_ms / _TARGET_POINTS
    return next((s for s in _NICE_STEPS_MS if s >= wanted), _NICE_STEPS_MS[-1])


def budget_burndown(sources: Sources, slo: SLO, end_ms: int) -> Burndown:
    """The burndown of the period containing ``end_ms``, up to ``end_ms``."""
    period = slo_period(slo, end_ms)
    until = min(end_ms, period.end_ms)
    timeslices = slo.budgeting == "timeslices" and slo.timeslice_window_ms
    step = int(slo.timeslice_window_ms) if timeslices else burndown_step_ms(until - period.start_ms)
    events, unit, data = _events(sources, slo, period.start_ms, until, step)
    label = period.label if slo.window.kind == "calendar" else f"last {period.label}"
    out = Burndown(label, period.start_ms, until, step, unit, data)
    if events is None:
        return out
    try:
        if timeslices:
            target = float(slo.timeslice_target or 0)
            events = timeslice_events(events, step, target, period.start_ms)
            out.unit = "slices"
        frame = burndown(events, slo.objective, period)
        status = budget_status(events, slo.objective, period)
        trend = exhaustion_from_trend(frame["remaining"], until, _TREND_LOOKBACK_MS)
    except BudgetError as exc:
        out.error = str(exc)
        return out
    out.times_ms = [int(t) for t in frame.index.as_unit("ms").asi8]
    out.remaining_ratio = _floats(frame["remaining_ratio"])
    out.sli = _floats(frame["sli"])
    out.consumed = _floats(frame["consumed"])
    out.status = {k: _finite(v) for k, v in asdict(status).items()}
    out.trend = None if trend is None else {"in_ms": trend.in_ms, "at_ms": trend.at_ms}
    return out


def _events(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, step_ms: int
) -> tuple[pd.DataFrame | None, str, str]:
    """(events frame, unit, data source) over ``(start, end]``; None when nothing is stored."""
    queries = sli_queries(slo.sli)
    selector = naming.slo_selector(slo)
    window = format_duration(step_ms)
    first = end_ms - max(0, (end_ms - start_ms - 1) // step_ms) * step_ms
    if queries.total_events is not None and queries.error_events is not None:
        rate5m = format_duration(5 * MINUTE_MS)
        recorded = (
            f"avg_over_time(slo:sli_error_events:rate{rate5m}{selector}[{window}])",
            f"avg_over_time(slo:sli_total_events:rate{rate5m}{selector}[{window}])",
        )
        computed = (
            naming.fill_window(queries.error_events, step_ms),
            naming.fill_window(queries.total_events, step_ms),
        )
        for data, (errors_expr, total_expr) in (("recorded", recorded), ("computed", computed)):
            total = _range_series(sources, total_expr, first, end_ms, step_ms)
            if total is not None:
                errors = _range_series(sources, errors_expr, first, end_ms, step_ms)
                return events_from_rates(errors, total, step_ms), "events", data
        return None, "events", "none"
    recorded_ratio = f"avg_over_time(slo:sli_error:ratio_rate5m{selector}[{window}])"
    computed_ratio = naming.fill_window(queries.error_ratio, step_ms)
    for data, expr in (("recorded", recorded_ratio), ("computed", computed_ratio)):
        ratio = _range_series(sources, expr, first, end_ms, step_ms)
        if ratio is not None:
            return events_from_error_ratio(ratio, step_ms), "seconds", data
    return None, "seconds", "none"


def _range_series(
    sources: Sources, expr: str, start_ms: int, end_ms: int, step_ms: int
) -> pd.Series | None:
    """The query's series summed into one, in chunks the engine accepts; None if empty."""
    parts = []
    first = start_ms
    while first <= end_ms:
        last = min(end_ms, first + step_ms * (_STEPS_PER_QUERY - 1))
        try:
            result = range_query(sources, expr, first, last, step_ms)
        except QueryError:
            return None
        parts += [series_from_samples(s.timestamps, s.values) for s in result.value]
        first = last + step_ms
    if not parts:
        return None
    combined = pd.concat(parts)
    return combined.groupby(level=0).sum(min_count=1).sort_index()


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _floats(column: pd.Series) -> list[float | None]:
    return [_finite(v) for v in column.to_numpy()]
