"""Email receiver: Alertmanager's default subject and HTML body, plus a plain-text part,
handed to the SMTP ``smarthost`` (STARTTLS when ``require_tls``, login when
``auth_username`` is set)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from slo.notify.config import DEFAULT_EMAIL_SUBJECT, EmailConfig
from slo.notify.model import Notification
from slo.notify.receivers.http_request import alerts_to_send
from slo.notify.receivers.payloads import TemplateData, template_data
from slo.notify.receivers.text_templates import email_text, render
from slo.notify.receivers.transport import DeliveryError, SmtpSettings, Transport

__all__ = ["email_message", "recipients", "send_email", "smtp_settings"]


def recipients(config: EmailConfig, data: TemplateData) -> list[str]:
    """Addresses in ``to`` (comma separated, display names allowed)."""
    found = [addr for _, addr in getaddresses([render(config.to, data)]) if addr]
    if not found:
        raise DeliveryError(f"no recipient address in to: {config.to!r}", retryable=False)
    return found


def email_message(config: EmailConfig, data: TemplateData, sent_at_ms: int) -> EmailMessage:
    """Headers (configured ones rendered; Subject, To, From added when absent), then a
    ``multipart/alternative`` body: plain text first, HTML last (mail clients show the last
    part they understand)."""
    headers = {name.title(): value for name, value in config.headers.items()}
    headers.setdefault("Subject", DEFAULT_EMAIL_SUBJECT)
    headers.setdefault("To", config.to)
    headers.setdefault("From", config.from_addr)
    message = EmailMessage()
    for name, value in headers.items():
        message[name] = render(value, data).strip()
    if "Date" not in message:
        message["Date"] = format_datetime(datetime.fromtimestamp(sent_at_ms / 1000, UTC))
    if "Message-Id" not in message:
        message["Message-Id"] = make_msgid(domain=config.hello or None)
    message.set_content(render(config.text, data) if config.text else email_text(data))
    if config.html:
        message.add_alternative(render(config.html, data), subtype="html")
    return message


def smtp_settings(config: EmailConfig) -> SmtpSettings:
    try:
        host, port = config.host, config.port
    except ValueError:
        raise DeliveryError(
            f"smarthost {config.smarthost!r} is not host:port", retryable=False
        ) from None
    return SmtpSettings(
        host=host,
        port=port,
        hello=config.hello,
        username=config.auth_username,
        password=config.auth_password,
        require_tls=config.require_tls,
    )


def send_email(
    config: EmailConfig,
    notification: Notification,
    *,
    external_url: str,
    transport: Transport,
    timeout_s: float,
) -> bool:
    """Send the mail; False when there was nothing to send. Raises ``DeliveryError``."""
    alerts = alerts_to_send(notification, config.send_resolved)
    if not alerts:
        return False
    data = template_data(notification, external_url, alerts)
    message = email_message(config, data, notification.created_at_ms)
    transport.send_mail(
        smtp_settings(config), message, recipients(config, data), timeout_s=timeout_s
    )
    return True
