"""What the HTTP receivers share: request headers from ``http_config``, which alerts to send,
and the POST with Alertmanager's retry rules."""

from __future__ import annotations

import base64
import json

from slo.notify.config import HTTPConfig
from slo.notify.model import Notification, NotifyAlert
from slo.notify.receivers.transport import HttpResponse, Transport, check_http_status

__all__ = ["RETRY_CODES", "alerts_to_send", "http_headers", "post_json"]

#: Beyond 5xx, "too many requests" is worth another attempt later: the outbox backs off
#: (and honours ``Retry-After``) where Alertmanager would give up for this group interval.
RETRY_CODES = (429,)


def http_headers(config: HTTPConfig) -> dict[str, str]:
    """Extra headers, then credentials (``basic_auth`` or ``authorization``)."""
    headers = dict(config.headers)
    if config.basic_auth is not None:
        pair = f"{config.basic_auth.username}:{config.basic_auth.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif config.authorization is not None:
        kind, credentials = config.authorization
        headers["Authorization"] = f"{kind or 'Bearer'} {credentials}"
    return headers


def alerts_to_send(notification: Notification, send_resolved: bool) -> tuple[NotifyAlert, ...]:
    """Alertmanager drops resolved alerts for integrations without ``send_resolved``;
    an empty result means there is nothing to send."""
    if send_resolved:
        return notification.alerts
    now = notification.created_at_ms
    return tuple(a for a in notification.alerts if not a.resolved(now))


def post_json(
    transport: Transport,
    url: str,
    payload: object,
    *,
    config: HTTPConfig,
    timeout_s: float,
) -> HttpResponse:
    """POST ``payload`` as JSON; raises ``DeliveryError`` unless the answer is 2xx."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = transport.post(url, body, headers=http_headers(config), timeout_s=timeout_s)
    check_http_status(response, retry_codes=RETRY_CODES)
    return response
