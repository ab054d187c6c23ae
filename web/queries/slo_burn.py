"""An SLO's burn rates over time and its multi-window multi-burn-rate alert tiers, in plain
language, with the windows where it burned.

The tiers come from :func:`slo.compile.windows.burn_rate_tiers`, the same ones its alerts were
compiled with: a tier alerts when the burn rate over both its long and its short window is
above its factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from collector.promql.result import Matrix, Vector
from slo.compile import naming
from slo.compile.windows import HOUR_MS, SLI_WINDOWS_MS, BurnRateTier, burn_rate_tiers
from slo.compile.windows import format_duration as prom_duration
from slo.spec.model import SLO
from slo.spec.sli_queries import sli_queries
from web.queries import Sources
from web.queries.promql import QueryError, SeriesPoints, instant_query, range_query, series_of
from web.queries.slos import computed_ratios, error_budget

__all__ = [
    "BURNING_ABOVE",
    "Episode",
    "TierRow",
    "burn_series",
    "burning_episodes",
    "human_duration",
    "tier_rows",
    "window_burn_rates",
]

#: A burn rate above 1 spends the budget faster than the period allows: "burning".
BURNING_ABOVE = 1.0
_ALL_WINDOWS = "|".join(prom_duration(w) for w in SLI_WINDOWS_MS)


def _recorded_selector(slo: SLO) -> str:
    inner = naming.slo_selector(slo)[1:-1]
    return f'{{__name__=~"slo:sli_error:ratio_rate({_ALL_WINDOWS})", {inner}}}'


def window_burn_rates(sources: Sources, slo: SLO, time_ms: int) -> dict[str, float | None]:
    """The burn rate over each alert window (``5m`` ... ``3d``) at ``time_ms``."""
    budget = error_budget(slo)
    ratios: dict[str, float | None] = {}
    try:
        result = instant_query(sources, _recorded_selector(slo), time_ms)
    except QueryError:
        result = None
    if result is not None and isinstance(result.value, Vector):
        for sample in result.value:
            ok = math.isfinite(sample.value)
            ratios[sample.labels.get("sloth_window")] = sample.value if ok else None
    if not ratios:
        ratios = computed_ratios(sources, slo, SLI_WINDOWS_MS, time_ms)
    return {
        prom_duration(w): None if (r := ratios.get(prom_duration(w))) is None else r / budget
        for w in SLI_WINDOWS_MS
    }


def burn_series(
    sources: Sources, slo: SLO, start_ms: int, end_ms: int, step_ms: int
) -> tuple[dict[str, SeriesPoints], str]:
    """The burn rate over each alert window as series keyed ``5m`` ... ``3d``, and where they
    came from (``recorded``, ``computed`` or ``none``)."""
    budget = error_budget(slo)
    found: dict[str, SeriesPoints] = {}
    try:
        result = range_query(
            sources, f"{_recorded_selector(slo)} / {budget!r}", start_ms, end_ms, step_ms
        )
        for series in series_of(result):
            window = series.labels.get("sloth_window", "")
            found[window] = _named(series, window)
    except QueryError:
        pass
    if found:
        return _ordered(found), "recorded"
    template = sli_queries(slo.sli).error_ratio
    for window_ms in SLI_WINDOWS_MS:
        window = prom_duration(window_ms)
        expr = f"({naming.fill_window(template, window_ms)}) / {budget!r}"
        try:
            result = range_query(sources, expr, start_ms, end_ms, step_ms)
        except QueryError:
            continue
        if isinstance(result.value, Matrix) and result.value:
            found[window] = _named(series_of(result)[0], window)
    return _ordered(found), "computed" if found else "none"


def _named(series: SeriesPoints, window: str) -> SeriesPoints:
    return SeriesPoints(f"{window} window", {"window": window}, series.times_ms, series.values)


def _ordered(found: dict[str, SeriesPoints]) -> dict[str, SeriesPoints]:
    order = [prom_duration(w) for w in SLI_WINDOWS_MS]
    return {w: found[w] for w in order if w in found}


@dataclass(frozen=True)
class TierRow:
    """One alert tier with its current burn rates; ``burning`` when both windows are above
    the factor (the tier's alert condition holds, before any ``for``)."""

    severity: str
    long_window: str
    short_window: str
    factor: float
    budget_share: float
    long_burn: float | None
    short_burn: float | None
    burning: bool
    enabled: bool
    exhausts_in_ms: int
    explanation: str


def tier_rows(slo: SLO, burn_rates: dict[str, float | None]) -> list[TierRow]:
    """The SLO's four tiers, page tiers first, each explained in a sentence."""
    rows = []
    for tier in burn_rate_tiers(slo.window.duration_ms):
        long_w, short_w = prom_duration(tier.long_ms), prom_duration(tier.short_ms)
        long_burn, short_burn = burn_rates.get(long_w), burn_rates.get(short_w)
        factor = float(tier.factor)
        enabled = getattr(slo.alerting, tier.severity).enabled
        rows.append(
            TierRow(
                severity=tier.severity,
                long_window=long_w,
                short_window=short_w,
                factor=factor,
                budget_share=float(tier.budget_share),
                long_burn=long_burn,
                short_burn=short_burn,
                burning=_above(long_burn, factor) and _above(short_burn, factor),
                enabled=enabled,
                exhausts_in_ms=int(slo.window.duration_ms / factor),
                explanation=_explain(slo, tier, enabled),
            )
        )
    return rows


def _above(value: float | None, threshold: float) -> bool:
    return value is not None and value > threshold


def _explain(slo: SLO, tier: BurnRateTier, enabled: bool) -> str:
    period = prom_duration(slo.window.duration_ms)
    budget_pct = f"{error_budget(slo) * 100:.4g}%"
    factor = float(tier.factor)
    action = "Pages" if tier.severity == "page" else "Opens a ticket"
    sentence = (
        f"{action} when {float(tier.budget_share) * 100:g}% of the {period} error budget is "
        f"burned within {human_duration(tier.long_ms)}: the error ratio over the last "
        f"{human_duration(tier.long_ms)} and over the last {human_duration(tier.short_ms)} "
        f"are both above {factor:.4g} × the {budget_pct} budget "
        f"({factor * error_budget(slo) * 100:.4g}% of requests failing). At that pace the "
        f"whole budget lasts {human_duration(int(slo.window.duration_ms / factor))}."
    )
    return sentence if enabled else sentence + " This tier is disabled in the spec."


def human_duration(ms: float) -> str:
    """``2d 2h``, ``6h``, ``5 minutes``: the two largest units, for sentences."""
    ms = int(round(ms))
    if ms < HOUR_MS:
        minutes = max(1, round(ms / 60_000))
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    parts = []
    for unit, size in (("d", 24 * HOUR_MS), ("h", HOUR_MS), ("m", 60_000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    text = " ".join(parts[:2])
    return {"1h": "1 hour", "1d": "1 day"}.get(text, text)


@dataclass(frozen=True)
class Episode:
    """A stretch where the burn rate stayed above :data:`BURNING_ABOVE`."""

    start_ms: int
    end_ms: int
    peak: float


def burning_episodes(series: SeriesPoints, above: float = BURNING_ABOVE) -> list[Episode]:
    """Runs of consecutive points above ``above`` (a gap ends a run), oldest first."""
    out: list[Episode] = []
    run: list[tuple[int, float]] = []
    for t, v in zip(series.times_ms, series.values, strict=True):
        if v is not None and v > above:
            run.append((t, v))
            continue
        if run:
            out.append(Episode(run[0][0], run[-1][0], max(v for _, v in run)))
            run = []
    if run:
        out.append(Episode(run[0][0], run[-1][0], max(v for _, v in run)))
    return out
