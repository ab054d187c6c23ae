"""An SLO's SLI over time: the share of good events in each step of the time range.

Steps of 5 minutes or less show the recorded 5m SLI as is. Longer steps add up the recorded
5m event rates over the step (``sum_over_time`` of bad over all), so a 30-day chart with
3-hour steps shows each 3 hours' SLI rather than a 5-minute sample every 3 hours; ratio-only
SLIs average their 5m ratios. Without recordings, the SLI's own query is evaluated with the
step (at least 5m) as its range.
"""

from __future__ import annotations

from slo.compile import naming
from slo.compile.windows import MINUTE_MS, format_duration
from slo.spec.model import SLO
from slo.spec.sli_queries import sli_queries
from web.queries import Sources
from web.queries.promql import QueryError, SeriesPoints, range_query, series_of

__all__ = ["sli_series"]

_RATE_WINDOW_MS = 5 * MINUTE_MS


def _recorded_expr(slo: SLO, step_ms: int) -> str:
    selector = naming.slo_selector(slo)
    if step_ms <= _RATE_WINDOW_MS:
        return f"1 - slo:sli_error:ratio_rate5m{selector}"
    window = format_duration(step_ms)
    queries = sli_queries(slo.sli)
    if queries.total_events is None:
        return f"1 - avg_over_time(slo:sli_error:ratio_rate5m{selector}[{window}])"
    return (
        f"1 - sum_over_time(slo:sli_error_events:rate5m{selector}[{window}])"
        f" / sum_over_time(slo:sli_total_events:rate5m{selector}[{window}])"
    )


def sli_series(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, step_ms: int
) -> tuple[SeriesPoints | None, str]:
    """The SLI (fraction of good events) per step, and where it came from."""
    window_ms = max(step_ms, _RATE_WINDOW_MS)
    computed = f"1 - ({naming.fill_window(sli_queries(slo.sli).error_ratio, window_ms)})"
    for data, expr in (("recorded", _recorded_expr(slo, step_ms)), ("computed", computed)):
        try:
            found = series_of(range_query(sources, expr, start_ms, end_ms, step_ms))
        except QueryError:
            continue
        if found:
            series = found[0]
            return SeriesPoints("SLI", {}, series.times_ms, series.values), data
    return None, "none"
