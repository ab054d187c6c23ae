"""The SLO detail page's data: summary, burndown and forecasts, SLI over time, the alert
tiers with their burn rates, firing alerts, and "why is it burning"."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from slo.budget import exhaustion_from_burn
from slo.compile.windows import MINUTE_MS
from slo.spec.model import SLO
from web.charts.slos import Row, burndown_chart, signals_chart, sli_chart, tier_chart
from web.queries import Sources
from web.queries.slo_alerts import slo_alerts
from web.queries.slo_budget import Burndown, budget_burndown
from web.queries.slo_burn import (
    BURNING_ABOVE,
    burn_series,
    burning_episodes,
    human_duration,
    tier_rows,
    window_burn_rates,
)
from web.queries.slo_exemplars import slo_exemplars
from web.queries.slo_signals import service_job, signal_panels, slow_statements
from web.queries.slo_sli import sli_series
from web.queries.slos import slo_summaries
from web.timerange import TimeRange, format_utc

__all__ = ["detail_model"]


def _slo_json(slo: SLO) -> dict[str, Any]:
    return {
        "id": slo.id,
        "service": slo.service,
        "name": slo.name,
        "description": slo.description,
        "objective": slo.objective,
        "labels": dict(slo.labels),
        "budgeting": slo.budgeting,
        "spec_format": slo.spec_format,
        "alert_name": slo.alerting.name,
        "job": service_job(slo),
    }


def _forecasts(summary, burn: dict[str, float | None], burndown: Burndown, now_ms: int, slo):
    remaining = summary.budget_remaining
    out = []
    for window, wording in (("1h", "the last hour's"), ("6h", "the last 6 hours'")):
        rate = burn.get(window)
        found = None
        if remaining is not None and rate is not None:
            found = exhaustion_from_burn(remaining, rate, slo.window.duration_ms, now_ms)
        basis = f"at {wording} burn rate" + (f" ({rate:.3g}×)" if rate is not None else "")
        out.append(_forecast(basis, found, remaining is None or rate is None))
    trend = burndown.trend
    out.append(
        {
            "basis": "from the burndown's trend over the last day",
            "in_ms": None if trend is None else trend["in_ms"],
            "at_ms": None if trend is None else trend["at_ms"],
            "text": _exhaustion_text(trend, not burndown.times_ms),
        }
    )
    return out


def _forecast(basis: str, found, no_data: bool) -> dict[str, Any]:
    value = None if found is None else {"in_ms": found.in_ms, "at_ms": found.at_ms}
    return {
        "basis": basis,
        "in_ms": None if value is None else value["in_ms"],
        "at_ms": None if value is None else value["at_ms"],
        "text": _exhaustion_text(value, no_data),
    }


def _exhaustion_text(found: dict[str, int] | None, no_data: bool) -> str:
    if no_data:
        return "no data to forecast from"
    if found is None:
        return "the budget does not run out at this pace"
    if found["in_ms"] <= 0:
        return "the budget is already spent"
    return f"budget exhausted in {human_duration(found['in_ms'])}"


def _episodes(series, time_range: TimeRange) -> list[dict[str, Any]]:
    pad = max(2 * time_range.step_ms, 15 * MINUTE_MS)
    out = []
    for e in burning_episodes(series) if series is not None else []:
        start, end = max(0, e.start_ms - pad), e.end_ms + pad
        zoom = {"range": "custom", "from": format_utc(start), "to": format_utc(end)}
        out.append({**asdict(e), "zoom": zoom})
    return out


def _signals_figure(burns, panels, exemplars, tr: TimeRange):
    rows = [Row("SLO burn rate", "burn", [s for w in ("5m", "1h") if (s := burns.get(w))])]
    rows = [r for r in rows if r.series]
    threshold = BURNING_ABOVE if rows else None
    rows += [Row(p.title, p.unit, p.series) for p in panels]
    if not rows and not exemplars:
        return None
    return signals_chart(rows, exemplars or [], tr.start_ms, tr.end_ms, threshold)


def _tier_figures(tiers: list[dict[str, Any]], burns, tr: TimeRange) -> list[Any]:
    out = []
    for tier in tiers:
        title = f"{tier['severity']}: {tier['long_window']} and {tier['short_window']} windows"
        long_s, short_s = burns.get(tier["long_window"]), burns.get(tier["short_window"])
        found = long_s is not None or short_s is not None
        chart = tier_chart(title, long_s, short_s, tier["factor"], tr.start_ms, tr.end_ms)
        out.append(chart if found else None)
    return out


def _burndown_figure(burndown: Burndown):
    if not burndown.times_ms:
        return None
    return burndown_chart(
        burndown.times_ms, burndown.remaining_ratio, burndown.start_ms, burndown.end_ms
    )


def detail_model(sources: Sources, slo: SLO, tr: TimeRange) -> dict[str, Any]:
    """Everything the detail page shows, JSON-able (figures included)."""
    start, end, step = tr.start_ms, tr.end_ms, tr.step_ms
    alerts = slo_alerts(sources, end)
    summary = slo_summaries(sources, [slo], end, alerts)[0]
    burn_now = window_burn_rates(sources, slo, end)
    burndown = budget_burndown(sources, slo, end)
    burns, burn_data = burn_series(sources, slo, start, end, step)
    sli, sli_data = sli_series(sources, slo, start, end, step)
    panels, missing = signal_panels(sources, slo, start, end, step)
    exemplars = slo_exemplars(sources, slo, start, end)
    model: dict[str, Any] = {
        "slo": _slo_json(slo),
        "summary": asdict(summary),
        "burn_rates": burn_now,
        "tiers": [asdict(t) for t in tier_rows(slo, burn_now)],
        "burndown": asdict(burndown),
        "forecasts": _forecasts(summary, burn_now, burndown, end, slo),
        "alerts": [asdict(a) for a in alerts.get(slo.id, [])],
        "sli": {"data": sli_data},
        "burn_data": burn_data,
        "episodes": _episodes(burns.get("1h") or burns.get("5m"), tr),
        "signals": {
            "panels": [{"key": p.key, "title": p.title, "unit": p.unit, "source": p.source}
                       for p in panels],
            "missing": missing,
        },
        "slow_statements": [asdict(s) for s in slow_statements(sources, slo, start, end)],
        "exemplars": None if exemplars is None else [asdict(e) for e in exemplars],
        "traces_stored": sources.has_traces,
    }  # fmt: skip
    model["figures"] = {
        "burndown": _burndown_figure(burndown),
        "sli": None if sli is None else sli_chart(sli, slo.objective, start, end),
        "tiers": _tier_figures(model["tiers"], burns, tr),
        "signals": _signals_figure(burns, panels, exemplars, tr),
    }
    return model
