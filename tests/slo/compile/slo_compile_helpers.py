"""SLOs the compiler tests build on, written directly in the model (no spec files)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slo.spec.model import SLO, Alerting, AlertTier, EventsSLI, RatioSLI, SourcePosition, Window

DAY_MS = 86_400_000
ERRORS = (
    'sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))'
)
TOTAL = 'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))'


def sloth_like_alerting(name: str = "myServiceAlert", **tiers: AlertTier) -> Alerting:
    """The alerting block of Sloth's own integration test (``in-base.yaml``)."""
    return Alerting(
        name=name,
        labels={"alert01k1": "alert01v1"},
        annotations={"alert02k1": "alert02k2"},
        page=tiers.get("page", AlertTier(labels={"alert03k1": "alert03v1"})),
        ticket=tiers.get("ticket", AlertTier(labels={"alert04k1": "alert04v1"})),
    )


def events_slo(
    *,
    service: str = "svc01",
    name: str = "slo1",
    objective: float = 0.999,
    days: int = 30,
    errors: str = ERRORS,
    total: str = TOTAL,
    labels: Mapping[str, str] | None = None,
    alerting: Alerting | None = None,
    **fields: Any,
) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=objective,
        window=Window("rolling", days * DAY_MS),
        sli=EventsSLI(error_query=errors, total_query=total),
        alerting=alerting or sloth_like_alerting(),
        source=SourcePosition("slos.yml", 4, 5),
        labels=labels if labels is not None else {"global01k1": "global01v1"},
        **fields,
    )


def ratio_slo(
    *,
    service: str = "svc01",
    name: str = "slo02",
    objective: float = 0.95,
    days: int = 30,
    ratio: str = f"({ERRORS})\n/\n({TOTAL})",
    labels: Mapping[str, str] | None = None,
    alerting: Alerting | None = None,
    **fields: Any,
) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=objective,
        window=Window("rolling", days * DAY_MS),
        sli=RatioSLI(error_ratio_query=ratio),
        alerting=alerting or sloth_like_alerting(),
        source=SourcePosition("slos.yml", 30, 5),
        labels=labels if labels is not None else {"global03k1": "global03v1"},
        **fields,
    )
