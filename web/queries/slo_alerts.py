"""The burn-rate alerts of SLOs: from the rule manager when this server runs the rules role,
else from the ``ALERTS`` series the rules role (or a Prometheus) wrote into the store.

Compiled SLO alerts carry ``sloth_id`` and ``sloth_severity`` (docs/slo-rules.md), which is
how an alert is matched to its SLO.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from collector.promql.result import Vector
from slo.rules.alerting import ALERTS_METRIC, AlertState
from web.queries import Sources
from web.queries.promql import QueryError, instant_query

__all__ = ["SloAlert", "alert_state", "slo_alerts"]

_STATES = {"firing": AlertState.FIRING, "pending": AlertState.PENDING}


@dataclass(frozen=True)
class SloAlert:
    """One pending or firing alert of an SLO. ``active_at_ms`` is unknown (None) when read
    from the ``ALERTS`` series, which does not record it."""

    name: str
    state: str  # "firing" or "pending"
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    active_at_ms: int | None = None
    value: float | None = None


def slo_alerts(sources: Sources, time_ms: int) -> dict[str, list[SloAlert]]:
    """Pending and firing alerts by ``sloth_id``, firing first, then by name."""
    found: dict[str, list[SloAlert]] = defaultdict(list)
    for alert in (
        _manager_alerts(sources) if sources.has_rules else _stored_alerts(sources, time_ms)
    ):
        found[alert.labels["sloth_id"]].append(alert)
    for alerts in found.values():
        alerts.sort(key=lambda a: (a.state != "firing", a.severity != "page", a.name))
    return dict(found)


def alert_state(alerts: list[SloAlert]) -> tuple[str, str]:
    """(state, severity) of the most urgent alert: ``("firing", "page")``, or ``("ok", "")``."""
    if not alerts:
        return "ok", ""
    first = alerts[0]  # slo_alerts sorts the most urgent first
    return first.state, first.severity


def _manager_alerts(sources: Sources) -> list[SloAlert]:
    assert sources.rule_manager is not None
    out = []
    for alert in sources.rule_manager.alerts():
        labels = dict(alert.labels)
        if "sloth_id" not in labels or alert.state not in _STATES.values():
            continue
        out.append(
            SloAlert(
                name=labels.get("alertname", ""),
                state=str(alert.state),
                severity=_severity(labels),
                labels=labels,
                annotations=dict(alert.annotations),
                active_at_ms=alert.active_at_ms,
                value=alert.value,
            )
        )
    return out


def _stored_alerts(sources: Sources, time_ms: int) -> list[SloAlert]:
    try:
        result = instant_query(sources, f'{ALERTS_METRIC}{{sloth_id!=""}}', time_ms)
    except QueryError:
        return []
    if not isinstance(result.value, Vector):
        return []
    out = []
    for sample in result.value:
        labels = {k: v for k, v in sample.labels if k not in ("__name__", "alertstate")}
        state = sample.labels.get("alertstate")
        if state not in _STATES:
            continue
        name = labels.get("alertname", "")
        out.append(SloAlert(name=name, state=state, severity=_severity(labels), labels=labels))
    return out


def _severity(labels: dict[str, str]) -> str:
    return labels.get("sloth_severity") or labels.get("severity", "")
