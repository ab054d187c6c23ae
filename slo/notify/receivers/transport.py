"""How notifications leave the process: HTTP POST (urllib) and SMTP (smtplib).

Receivers render a message and hand it to a :class:`Transport`; the outbox takes the
transport as an argument, so tests can point everything at loopback servers, and the
retry decision (which failures are worth another attempt) lives with the receivers.
"""

from __future__ import annotations

import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

__all__ = [
    "DeliveryError",
    "HttpResponse",
    "NetworkTransport",
    "SmtpSettings",
    "Transport",
    "check_http_status",
]

_USER_AGENT = "sloscope-notifier/0.1"
_MAX_ERROR_BODY = 512


class DeliveryError(Exception):
    """A notification did not reach its receiver.

    ``retryable`` says whether trying again can help (network errors, 5xx, 429) or not (a
    4xx the receiver will keep answering); ``retry_after_s`` carries the receiver's own
    ``Retry-After`` hint when it gave one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str = ""
    retry_after_s: float | None = None


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand a mail over: ``host:port``, optional login, STARTTLS."""

    host: str
    port: int
    hello: str = "localhost"
    username: str = ""
    password: str = ""
    require_tls: bool = True
    tls_insecure_skip_verify: bool = False


class Transport(Protocol):
    """The two ways out; :class:`NetworkTransport` is the real one."""

    def post(
        self, url: str, body: bytes, *, headers: Mapping[str, str], timeout_s: float
    ) -> HttpResponse:
        """POST ``body``; any HTTP status is returned, network failures raise
        :class:`DeliveryError`."""
        ...

    def send_mail(
        self,
        settings: SmtpSettings,
        message: EmailMessage,
        recipients: Sequence[str],
        *,
        timeout_s: float,
    ) -> None:
        """Hand ``message`` to the SMTP server for ``recipients``; raise
        :class:`DeliveryError` when it is not accepted."""
        ...


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from either form the header may take."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def check_http_status(response: HttpResponse, *, retry_codes: Sequence[int] = ()) -> None:
    """Alertmanager's ``Retrier.Check``: 2xx is success, 5xx (and ``retry_codes``) worth
    retrying, anything else a permanent failure. The error names the status and the start
    of the body, as Alertmanager's log line does."""
    if response.status // 100 == 2:
        return
    retryable = response.status // 100 == 5 or response.status in retry_codes
    message = f"unexpected status code {response.status}"
    details = response.body[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    if details:
        message += f": {details}"
    raise DeliveryError(message, retryable=retryable, retry_after_s=response.retry_after_s)


class NetworkTransport:
    """Real HTTP (``urllib.request``) and SMTP (``smtplib``).

    :param ssl_context: trust settings for HTTPS and SMTP TLS (default: the system's CAs).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context

    def post(
        self, url: str, body: bytes, *, headers: Mapping[str, str], timeout_s: float
    ) -> HttpResponse:
        all_headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        all_headers.update(headers)
        request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(
                request, timeout=timeout_s, context=self._ssl_context
            ) as response:
                return HttpResponse(
                    response.status,
                    response.read(),
                    response.headers.get("Content-Type", ""),
                    _retry_after(response.headers.get("Retry-After")),
                )
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpResponse(
                    exc.code,
                    exc.read(),
                    exc.headers.get("Content-Type", ""),
                    _retry_after(exc.headers.get("Retry-After")),
                )
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"POST {_redact(url)}: {reason}", retryable=True) from None
        except ValueError as exc:  # not a URL urllib can open: retrying will not change it
            raise DeliveryError(f"POST {_redact(url)}: {exc}", retryable=False) from None

    def send_mail(
        self,
        settings: SmtpSettings,
        message: EmailMessage,
        recipients: Sequence[str],
        *,
        timeout_s: float,
    ) -> None:
        where = f"{settings.host}:{settings.port}"
        try:
            with _connect(settings, timeout_s, self._ssl_context) as client:
                client.send_message(message, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where}: recipients refused: {exc}", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            # 4xx replies are transient by SMTP's own definition, 5xx permanent.
            text = exc.smtp_error.decode("utf-8", "replace") if exc.smtp_error else ""
            raise DeliveryError(
                f"{where}: {exc.smtp_code} {text}".rstrip(), retryable=exc.smtp_code < 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {exc}", retryable=True) from None


def _connect(
    settings: SmtpSettings, timeout_s: float, context: ssl.SSLContext | None
) -> smtplib.SMTP:
    # Port 465 speaks TLS from the first byte (as Alertmanager decides it too).
    context = context or ssl.create_default_context()
    if settings.tls_insecure_skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, settings.hello, timeout=timeout_s, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, settings.hello, timeout=timeout_s)
    try:
        client.ehlo()
        if settings.port != 465 and settings.require_tls:
            if not client.has_extn("starttls"):
                raise DeliveryError(
                    f"{settings.host}:{settings.port}: require_tls is true (default), but the "
                    "SMTP server does not advertise the STARTTLS extension",
                    retryable=True,
                )
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password)
    except BaseException:
        client.close()
        raise
    return client


def _redact(url: str) -> str:
    """Webhook and Slack URLs carry secrets in the path; keep scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/<redacted>" if parts.path.strip("/") else url
