"""An SLO's recording rules: the SLI group (error ratios per window, event rates, the period
ratio) and the meta group (objective, budget, burn rates, info), in Sloth's names and order.

The period error ratio is where sloscope parts from Sloth on purpose. Sloth averages the
recorded 5m ratios over the period, so a quiet night's 5m ratio weighs as much as a busy
day's. When the SLI has event counts, sloscope records the 5m error and total event rates
as series of their own and divides their sums over the period; each 5m rate is sampled once
per evaluation, so the quotient is ``increase(bad[30d]) / increase(total[30d])`` without a
30-day ``rate()`` over raw counters. SLIs without events (a ready-made ratio, a probe gauge)
keep Sloth's mean of ratios; timeslice budgeting counts the share of bad slices.
"""

from __future__ import annotations

from decimal import Decimal

from slo.compile import naming
from slo.compile.errors import CompileError
from slo.compile.windows import DAY_MS, SLI_WINDOWS_MS, format_duration, format_number
from slo.rules.model import RecordingRule, RuleGroup, RulePosition
from slo.spec.model import SLO, SLIQueries

__all__ = ["meta_recordings", "rule_position", "sli_recordings", "SPEC_NAMES"]

RATE_WINDOW_MS = SLI_WINDOWS_MS[0]  # 5m: the finest window, the one period sums are built of

#: ``sloth_spec`` of the info series, by the format the SLO was read from.
SPEC_NAMES = {"sloth": "prometheus/v1", "openslo": "openslo/v1", "native": "sloscope/v1"}
MODE = "sloscope"


def rule_position(slo: SLO) -> RulePosition:
    """Generated rules point back at the SLO they were compiled from."""
    return RulePosition(slo.source.file, slo.source.line, slo.source.column)


def _window_labels(slo: SLO, window_ms: int) -> dict[str, str]:
    return {**naming.slo_labels(slo), "sloth_window": format_duration(window_ms)}


def sli_recordings(slo: SLO, queries: SLIQueries) -> RuleGroup:
    """``sloth-slo-sli-recordings-<id>``: every rule the period ratio and the alerts read."""
    position = rule_position(slo)

    def record(name: str, expr: str, window_ms: int) -> RecordingRule:
        return RecordingRule(name, expr, _window_labels(slo, window_ms), position)

    windows = list(SLI_WINDOWS_MS)
    slice_ms = slo.timeslice_window_ms if slo.budgeting == "timeslices" else None
    if slice_ms is not None and slice_ms not in windows:
        windows.append(slice_ms)
    rules = [
        record(naming.error_ratio_name(w), naming.fill_window(queries.error_ratio, w), w)
        for w in windows
    ]
    if _has_events(queries):
        assert queries.error_events is not None and queries.total_events is not None
        errors = naming.fill_window(queries.error_events, RATE_WINDOW_MS)
        total = naming.fill_window(queries.total_events, RATE_WINDOW_MS)
        # A service without a single failed request often has no error series at all; count
        # that as zero errors, or the period ratio would vanish exactly when all is well.
        zero_filled = f"({errors})\nor\n0 * ({total})"
        rules.append(record(naming.error_events_name(RATE_WINDOW_MS), zero_filled, RATE_WINDOW_MS))
        traffic_windows = SLI_WINDOWS_MS if slo.min_traffic is not None else (RATE_WINDOW_MS,)
        for w in traffic_windows:
            rules.append(
                record(naming.total_events_name(w), naming.fill_window(queries.total_events, w), w)
            )
    period_ms = slo.window.duration_ms
    rules.append(record(naming.error_ratio_name(period_ms), _period_ratio(slo, queries), period_ms))
    return RuleGroup(
        name=f"sloth-slo-sli-recordings-{slo.id}",
        file=slo.source.file,
        rules=tuple(rules),
        position=position,
    )


def _has_events(queries: SLIQueries) -> bool:
    return queries.error_events is not None and queries.total_events is not None


def _period_ratio(slo: SLO, queries: SLIQueries) -> str:
    period = format_duration(slo.window.duration_ms)
    selector = naming.slo_selector(slo)
    if slo.budgeting == "timeslices":
        return _timeslice_ratio(slo, period, selector)
    if _has_events(queries):
        errors = naming.error_events_name(RATE_WINDOW_MS)
        total = naming.total_events_name(RATE_WINDOW_MS)
        return (
            f"sum_over_time({errors}{selector}[{period}])\n"
            "/\n"
            f"sum_over_time({total}{selector}[{period}])"
        )
    ratio = naming.error_ratio_name(RATE_WINDOW_MS)
    return (
        f"sum_over_time({ratio}{selector}[{period}])\n"
        "/ ignoring (sloth_window)\n"
        f"count_over_time({ratio}{selector}[{period}])"
    )


def _timeslice_ratio(slo: SLO, period: str, selector: str) -> str:
    """The share of bad slices: a slice is bad when its error ratio exceeds 1 - target."""
    target, slice_ms = slo.timeslice_target, slo.timeslice_window_ms
    if target is None or slice_ms is None or not 0 < target <= 1:
        raise CompileError(
            slo.source,
            "timeslices budgeting needs a timeslice target in (0, 1] and a timeslice window",
        )
    if not 0 < slice_ms < slo.window.duration_ms:
        raise CompileError(
            slo.source,
            f"the timeslice window ({format_duration(max(slice_ms, 0))}) must be longer than "
            "zero and shorter than the SLO window",
        )
    bad_above = 1 - Decimal(repr(float(target)))
    ratio = naming.error_ratio_name(slice_ms)
    step = format_duration(slice_ms)
    # A slice without traffic has a NaN ratio; NaN > bool x is 0, so it counts as good.
    return (
        f"avg_over_time(({ratio}{selector} > bool {format_number(float(bad_above))})"
        f"[{period}:{step}])"
    )


def meta_recordings(slo: SLO) -> RuleGroup:
    """``sloth-slo-meta-recordings-<id>``: objective, budget, burn rates, budget left, info."""
    position = rule_position(slo)
    labels = naming.slo_labels(slo)
    selector = naming.slo_selector(slo)
    budget = f"{naming.ERROR_BUDGET}{selector}"
    join = "/ on(sloth_id, sloth_slo, sloth_service) group_left"
    current = naming.error_ratio_name(RATE_WINDOW_MS)
    period = naming.error_ratio_name(slo.window.duration_ms)
    days = format_number(slo.window.duration_ms / DAY_MS)
    info_labels = {
        **labels,
        "sloth_mode": MODE,
        "sloth_objective": naming.objective_percent(slo),
        "sloth_spec": SPEC_NAMES.get(slo.spec_format, slo.spec_format),
    }
    rules = (
        (naming.OBJECTIVE, f"vector({format_number(slo.objective)})", labels),
        (naming.ERROR_BUDGET, f"vector({format_number(naming.error_budget(slo))})", labels),
        (naming.TIME_PERIOD_DAYS, f"vector({days})", labels),
        (naming.CURRENT_BURN_RATE, f"{current}{selector}\n{join}\n{budget}", labels),
        (naming.PERIOD_BURN_RATE, f"{period}{selector}\n{join}\n{budget}", labels),
        (naming.PERIOD_BUDGET_REMAINING, f"1 - {naming.PERIOD_BURN_RATE}{selector}", labels),
        (naming.INFO, "vector(1)", info_labels),
    )
    return RuleGroup(
        name=f"sloth-slo-meta-recordings-{slo.id}",
        file=slo.source.file,
        rules=tuple(RecordingRule(name, expr, dict(lbls), position) for name, expr, lbls in rules),
        position=position,
    )
