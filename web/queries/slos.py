"""SLOs at a glance: objective, SLI and budget over the SLO period, burn rates, alert state.

Everything comes from the Sloth-named recording rules (docs/slo-rules.md) with **one**
instant query for all SLOs: every ``slo:sli_error:ratio_rate<window>`` series at once, keyed
by ``sloth_id`` and ``sloth_window``. Burn rates and the budget follow from those ratios
exactly as the meta recordings define them (``ratio / (1 - objective)``; budget remaining
``1 - period ratio / (1 - objective)``), so the page agrees with
``slo:current_burn_rate:ratio`` and ``slo:period_error_budget_remaining:ratio``.

An SLO with no recorded series yet (a fresh server, or rules evaluated elsewhere) is
computed from its SLI queries directly, a few instant queries for that SLO alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from collector.promql.result import Vector
from slo.compile import naming
from slo.compile.windows import DAY_MS, HOUR_MS, MINUTE_MS, burn_rate_tiers, format_duration
from slo.spec.model import (
    SLO,
    BoolGaugeSLI,
    EventsSLI,
    LatencySLI,
    RatioSLI,
    SpanSLI,
    WebVitalSLI,
)
from slo.spec.sli_queries import sli_queries
from web.queries import Sources
from web.queries.promql import QueryError, instant_query
from web.queries.slo_alerts import SloAlert, alert_state

__all__ = [
    "OVERVIEW_WINDOWS_MS",
    "SloSummary",
    "error_budget",
    "find_slo",
    "sli_kind",
    "slo_summaries",
    "window_label",
]

#: The burn-rate windows the overview shows: each tier's long window plus the 5m one.
OVERVIEW_WINDOWS_MS = (5 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS, 3 * DAY_MS)
_RECORDED = 'max by (sloth_id, sloth_window) ({__name__=~"slo:sli_error:ratio_rate.+"})'


@dataclass(frozen=True)
class SloSummary:
    """One SLO's row on the overview. Ratios are fractions; None means no data or no
    traffic (0/0), never 100 %. ``data`` says where the figures came from: ``recorded``,
    ``computed`` (from the SLI queries, no recordings yet) or ``none``."""

    id: str
    service: str
    name: str
    description: str
    labels: dict[str, str]
    objective: float
    window: str
    period_ms: int
    sli_kind: str
    source: str
    sli: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]
    #: "firing", "pending", "ok", "no data", or "off" when both tiers are disabled
    alert_state: str
    alert_severity: str
    data: str
    alerts: list[SloAlert] = field(default_factory=list)
    #: per overview window, the factor of the alert tier that window belongs to
    burn_thresholds: dict[str, float] = field(default_factory=dict)


def error_budget(slo: SLO) -> float:
    """1 - objective, exact in decimal first (0.999 gives 0.001, not 0.0010000000000000009)."""
    return float(naming.error_budget(slo))


def find_slo(sources: Sources, slo_id: str) -> SLO | None:
    """The configured SLO with this ``sloth_id``."""
    return next((s for s in sources.slos if s.id == slo_id), None)


def window_label(slo: SLO) -> str:
    """``30d rolling`` or ``calendar month (Europe/Berlin)``."""
    if slo.window.kind == "calendar":
        return f"calendar {slo.window.calendar_unit} ({slo.window.time_zone})"
    return f"{format_duration(slo.window.duration_ms)} rolling"


def sli_kind(slo: SLO) -> str:
    """The SLI's kind in a word or two, for tables."""
    sli = slo.sli
    if isinstance(sli, LatencySLI):
        return f"latency ≤ {sli.threshold_seconds:g} s"
    if isinstance(sli, WebVitalSLI):
        return f"web vital {sli.metric.upper()}"
    if isinstance(sli, SpanSLI):
        return "span latency" if sli.latency_threshold_seconds is not None else "span errors"
    kinds = {EventsSLI: "events", RatioSLI: "error ratio", BoolGaugeSLI: "probe"}
    return kinds.get(type(sli), "other")


def slo_summaries(
    sources: Sources,
    slos: Sequence[SLO],
    time_ms: int,
    alerts: dict[str, list[SloAlert]],
) -> list[SloSummary]:
    """A summary of each SLO at ``time_ms``, in the order given."""
    recorded = _recorded_ratios(sources, time_ms) if slos else {}
    out = []
    for slo in slos:
        windows = [*OVERVIEW_WINDOWS_MS, slo.window.duration_ms]
        ratios = recorded.get(slo.id)
        data = "recorded"
        if ratios is None:
            ratios = computed_ratios(sources, slo, windows, time_ms)
            data = "computed" if any(v is not None for v in ratios.values()) else "none"
        out.append(_summary(slo, ratios, data, alerts.get(slo.id, [])))
    return out


def _summary(
    slo: SLO, ratios: dict[str, float | None], data: str, alerts: list[SloAlert]
) -> SloSummary:
    budget = error_budget(slo)
    period = ratios.get(format_duration(slo.window.duration_ms))
    burn = {
        format_duration(w): _div(ratios.get(format_duration(w)), budget)
        for w in OVERVIEW_WINDOWS_MS
    }
    state, severity = alert_state(alerts)
    if not (slo.alerting.page.enabled or slo.alerting.ticket.enabled) and not alerts:
        state = "off"
    elif state == "ok" and data == "none":
        state = "no data"
    return SloSummary(
        id=slo.id,
        service=slo.service,
        name=slo.name,
        description=slo.description,
        labels=dict(slo.labels),
        objective=slo.objective,
        window=window_label(slo),
        period_ms=slo.window.duration_ms,
        sli_kind=sli_kind(slo),
        source=str(slo.source),
        sli=None if period is None else 1 - period,
        budget_remaining=None if period is None else 1 - period / budget,
        burn_rates=burn,
        alert_state=state,
        alert_severity=severity,
        data=data,
        alerts=alerts,
        burn_thresholds=_thresholds(slo),
    )


def _thresholds(slo: SLO) -> dict[str, float]:
    """Each overview window's alert factor: of the tier it is the long (or else short)
    window of, the first such tier (page before ticket)."""
    out: dict[str, float] = {}
    tiers = burn_rate_tiers(slo.window.duration_ms)
    for window in OVERVIEW_WINDOWS_MS:
        tier = next((t for t in tiers if t.long_ms == window), None) or next(
            (t for t in tiers if t.short_ms == window), None
        )
        if tier is not None:
            out[format_duration(window)] = float(tier.factor)
    return out


def _div(value: float | None, by: float) -> float | None:
    return None if value is None else value / by


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _recorded_ratios(sources: Sources, time_ms: int) -> dict[str, dict[str, float | None]]:
    """``{sloth_id: {sloth_window: error ratio}}`` of every recorded ratio series."""
    try:
        result = instant_query(sources, _RECORDED, time_ms)
    except QueryError:
        return {}
    found: dict[str, dict[str, float | None]] = {}
    if isinstance(result.value, Vector):
        for sample in result.value:
            slo_id, window = sample.labels.get("sloth_id"), sample.labels.get("sloth_window")
            if slo_id and window:
                found.setdefault(slo_id, {})[window] = _finite(sample.value)
    return found


def computed_ratios(
    sources: Sources, slo: SLO, windows_ms: Iterable[int], time_ms: int
) -> dict[str, float | None]:
    """The SLO's error ratio over each window, straight from its SLI query (no recordings).

    A query returning several series (an SLI without ``sum``) counts its worst one.
    """
    template = sli_queries(slo.sli).error_ratio
    out: dict[str, float | None] = {}
    for window in windows_ms:
        key = format_duration(window)
        try:
            result = instant_query(sources, naming.fill_window(template, window), time_ms)
        except QueryError:
            out[key] = None
            continue
        values = (
            [v for s in result.value if (v := _finite(s.value)) is not None]
            if isinstance(result.value, Vector)
            else []
        )
        out[key] = max(values) if values else None
    return out
