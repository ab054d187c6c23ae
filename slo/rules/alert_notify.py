"""Alerts as the notifier takes them (Prometheus' ``SendAlerts``).

>>> from collector.model import Labels
>>> from slo.rules.alerting import Alert, AlertState
>>> alert = Alert(Labels.of({"alertname": "Down"}), {}, AlertState.FIRING, 1.0, 0,
...               fired_at_ms=60_000, valid_until_ms=300_000, expr="up == 0")
>>> sent = notify_alert(alert, "http://sloscope:9900")
>>> sent.starts_at_ms, sent.ends_at_ms, sent.generator_url
(60000, 300000, 'http://sloscope:9900/graph?g0.expr=up+%3D%3D+0&g0.tab=1')
"""

from __future__ import annotations

from urllib.parse import quote_plus

from slo.notify.model import NotifyAlert
from slo.rules.alerting import Alert

__all__ = ["generator_url", "notify_alert"]


def generator_url(external_url: str, expr: str) -> str:
    """The link back to the expression (Prometheus' ``TableLinkForExpression``)."""
    return f"{external_url.rstrip('/')}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


def notify_alert(alert: Alert, external_url: str) -> NotifyAlert:
    """``startsAt`` is when the alert fired; ``endsAt`` when it resolved, else the
    ``valid_until`` the rule manager set when it sent it."""
    ends_at = alert.resolved_at_ms if alert.resolved_at_ms is not None else alert.valid_until_ms
    starts_at = alert.fired_at_ms if alert.fired_at_ms is not None else alert.active_at_ms
    return NotifyAlert(
        labels=alert.labels,
        annotations=dict(alert.annotations),
        starts_at_ms=starts_at,
        ends_at_ms=ends_at or 0,
        generator_url=generator_url(external_url, alert.expr),
    )
