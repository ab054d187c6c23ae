"""Webhook receiver: Alertmanager's version-4 JSON message, POSTed to ``url``.

>>> from collector.model import Labels
>>> alert = NotifyAlert(Labels.of({"alertname": "A"}), starts_at_ms=1000)
>>> n = Notification("team", '{}:{alertname="A"}', alert.labels, (alert,), "firing", 2000)
>>> list(webhook_message(n, n.alerts, max_alerts=0, external_url="http://x"))
... # doctest: +NORMALIZE_WHITESPACE
['receiver', 'status', 'alerts', 'groupLabels', 'commonLabels', 'commonAnnotations',
 'externalURL', 'version', 'groupKey', 'truncatedAlerts']
"""

from __future__ import annotations

from collections.abc import Sequence

from slo.notify.config import WebhookConfig
from slo.notify.model import Notification, NotifyAlert
from slo.notify.receivers.http_request import alerts_to_send, post_json
from slo.notify.receivers.payloads import template_data
from slo.notify.receivers.transport import Transport

__all__ = ["send_webhook", "webhook_message"]


def webhook_message(
    notification: Notification,
    alerts: Sequence[NotifyAlert],
    *,
    max_alerts: int,
    external_url: str,
) -> dict[str, object]:
    """The message as Go encodes it: ``template.Data``'s fields, then ``version``,
    ``groupKey`` and ``truncatedAlerts`` (alerts beyond ``max_alerts`` are left out and
    counted there, on top of any the dispatcher already truncated)."""
    kept = list(alerts)
    truncated = notification.truncated_alerts
    if max_alerts and len(kept) > max_alerts:
        truncated += len(kept) - max_alerts
        kept = kept[:max_alerts]
    message = template_data(notification, external_url, kept).to_json()
    message.update(version="4", groupKey=notification.group_key, truncatedAlerts=truncated)
    return message


def send_webhook(
    config: WebhookConfig,
    notification: Notification,
    *,
    external_url: str,
    transport: Transport,
    timeout_s: float,
) -> bool:
    """POST the message; False when there was nothing to send (only resolved alerts and
    ``send_resolved: false``). Raises ``DeliveryError`` on failure."""
    alerts = alerts_to_send(notification, config.send_resolved)
    if not alerts:
        return False
    message = webhook_message(
        notification, alerts, max_alerts=config.max_alerts, external_url=external_url
    )
    timeout = config.timeout_ms / 1000 if config.timeout_ms > 0 else timeout_s
    post_json(transport, config.url, message, config=config.http_config, timeout_s=timeout)
    return True
