"""Slack receiver: one incoming-webhook message with one attachment, rendered from the
config's text fields (Alertmanager's defaults: title ``[FIRING:1] ...`` linking back,
colour ``danger`` while firing and ``good`` once resolved)."""

from __future__ import annotations

import json

from slo.notify.config import SlackConfig
from slo.notify.model import Notification
from slo.notify.receivers.http_request import alerts_to_send, post_json
from slo.notify.receivers.payloads import TemplateData, template_data
from slo.notify.receivers.text_templates import render
from slo.notify.receivers.transport import DeliveryError, HttpResponse, Transport

__all__ = ["send_slack", "slack_message"]

_MAX_TITLE_RUNES = 1024  # Slack's limit for attachment titles; Alertmanager truncates too


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(config: SlackConfig, data: TemplateData) -> dict[str, object]:
    """Alertmanager's Slack request: empty optional fields left out as Go's ``omitempty``
    does, ``text``/``fallback``/``callback_id``/``footer`` always present."""
    attachment: dict[str, object] = {
        "title": _truncate(render(config.title, data), _MAX_TITLE_RUNES),
        "title_link": render(config.title_link, data),
        "pretext": render(config.pretext, data),
        "text": render(config.text, data),
        "fallback": render(config.fallback, data),
        "callback_id": "",
        "footer": render(config.footer, data),
        "color": render(config.color, data),
        "mrkdwn_in": ["fallback", "pretext", "text"],
    }
    for optional in ("title", "title_link", "pretext", "color"):
        if not attachment[optional]:
            del attachment[optional]
    request: dict[str, object] = {
        "channel": render(config.channel, data),
        "username": render(config.username, data),
        "icon_emoji": render(config.icon_emoji, data),
        "icon_url": render(config.icon_url, data),
        "link_names": config.link_names,
    }
    message = {key: value for key, value in request.items() if value}
    message["attachments"] = [attachment]
    return message


def _check_slack_answer(response: HttpResponse) -> None:
    """Incoming webhooks answer the text ``ok``; the Web API answers JSON ``{"ok": ...}``."""
    if response.content_type.startswith("application/json"):
        try:
            answer = json.loads(response.body)
        except ValueError:
            raise DeliveryError(
                f"could not parse Slack's answer {response.body[:200]!r}", retryable=True
            ) from None
        if not answer.get("ok"):
            raise DeliveryError(
                f"error response from Slack: {answer.get('error', '')}", retryable=False
            )
    elif response.body.strip() not in (b"ok", b""):
        text = response.body[:200].decode("utf-8", "replace")
        raise DeliveryError(f"received an error response from Slack: {text}", retryable=False)


def send_slack(
    config: SlackConfig,
    notification: Notification,
    *,
    external_url: str,
    transport: Transport,
    timeout_s: float,
) -> bool:
    """POST the message; False when there was nothing to send. Raises ``DeliveryError``."""
    alerts = alerts_to_send(notification, config.send_resolved)
    if not alerts:
        return False
    data = template_data(notification, external_url, alerts)
    message = slack_message(config, data)
    response = post_json(
        transport, config.api_url, message, config=config.http_config, timeout_s=timeout_s
    )
    _check_slack_answer(response)
    return True
