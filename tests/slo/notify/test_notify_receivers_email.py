"""Email receiver against a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS + login."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from notify_loopback import free_port

from collector.model import Labels
from slo.notify.config import EmailConfig
from slo.notify.model import Notification, NotifyAlert
from slo.notify.receivers.email import send_email
from slo.notify.receivers.transport import DeliveryError, NetworkTransport

NOW = 1_700_000_000_000
EXTERNAL = "http://sloscope.example:9900"


@dataclass
class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.arrived.set()
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"alerts" and auth_data.password == b"hunter2"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway certificate for 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def _notification(*alerts: NotifyAlert) -> Notification:
    return Notification(
        receiver="oncall",
        group_key='{}:{alertname="LatencySLOBurn"}',
        group_labels=Labels.of({"alertname": "LatencySLOBurn"}),
        alerts=alerts,
        status="firing" if any(not a.resolved(NOW) for a in alerts) else "resolved",
        created_at_ms=NOW,
    )


def _alert(route: str, resolved: bool = False) -> NotifyAlert:
    return NotifyAlert(
        labels=Labels.of({"alertname": "LatencySLOBurn", "route": route, "service": "shop"}),
        annotations={"summary": f"{route} is slow <p99>"},
        starts_at_ms=NOW - 600_000,
        ends_at_ms=NOW - 5_000 if resolved else 0,
        generator_url=f"{EXTERNAL}/graph?g0.expr=x",
    )


def _config(port: int, **overrides) -> EmailConfig:
    base = {
        "to": "Oncall <oncall@example.com>, sre@example.com",
        "from_addr": "sloscope@example.com",
        "smarthost": f"127.0.0.1:{port}",
        "require_tls": False,
        "send_resolved": True,
    }
    return EmailConfig(**{**base, **overrides})


def _send(config: EmailConfig, notification: Notification, transport=None) -> bool:
    return send_email(
        config,
        notification,
        external_url=EXTERNAL,
        transport=transport or NetworkTransport(),
        timeout_s=10,
    )


def test_email_subject_body_and_recipients(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    assert _send(_config(port), _notification(_alert("/cart"), _alert("/pay", resolved=True)))
    assert mailbox.arrived.wait(30)
    mail_from, rcpt_tos, raw = mailbox.messages[0]
    assert mail_from == "sloscope@example.com"
    assert rcpt_tos == ["oncall@example.com", "sre@example.com"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "[FIRING:1] LatencySLOBurn (shop)"
    assert message["To"] == "Oncall <oncall@example.com>, sre@example.com"
    assert message["From"] == "sloscope@example.com"
    assert message["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000"
    assert message.get_content_type() == "multipart/alternative"
    # SMTP carries CRLF line ends; compare the text as written.
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert text.startswith(
        "[FIRING:1] LatencySLOBurn (shop)\n\n"
        "View in sloscope: http://sloscope.example:9900/#/alerts?receiver=oncall\n\n"
        "[1] Firing\nLabels:\n - alertname = LatencySLOBurn\n - route = /cart\n"
    )
    assert "[1] Resolved\nLabels:\n - alertname = LatencySLOBurn\n - route = /pay\n" in text
    assert "2 alerts for alertname=LatencySLOBurn" in html
    assert "<strong>[1] Firing</strong>" in html and "<strong>[1] Resolved</strong>" in html
    assert "summary = /cart is slow &lt;p99&gt;<br />" in html  # escaped, as Go's html/template
    assert 'href="http://sloscope.example:9900/#/alerts?receiver=oncall"' in html


def test_email_configured_headers_are_rendered(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    config = _config(port, headers={"subject": "SLO {{ .Status }}: {{ .CommonLabels.service }}"})
    assert _send(config, _notification(_alert("/cart", resolved=True)))
    assert mailbox.arrived.wait(30)
    message = email.message_from_bytes(mailbox.messages[0][2], policy=email.policy.default)
    assert message["Subject"] == "SLO resolved: shop"


def test_email_resolved_only_not_sent_without_send_resolved(
    plain_smtp: tuple[Mailbox, int],
) -> None:
    mailbox, port = plain_smtp
    config = _config(port, send_resolved=False)
    assert _send(config, _notification(_alert("/cart", resolved=True))) is False
    assert mailbox.messages == []


def test_require_tls_refuses_a_server_without_starttls(plain_smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = plain_smtp
    with pytest.raises(DeliveryError, match="STARTTLS"):
        _send(_config(port, require_tls=True), _notification(_alert("/cart")))
    assert mailbox.messages == []


def test_starttls_and_login(tls_pair: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_tls, client_tls = tls_pair
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        good = _config(port, require_tls=True, auth_username="alerts", auth_password="hunter2")
        assert _send(good, _notification(_alert("/cart")), NetworkTransport(client_tls))
        bad = _config(port, require_tls=True, auth_username="alerts", auth_password="wrong")
        with pytest.raises(DeliveryError, match="535") as caught:
            _send(bad, _notification(_alert("/cart")), NetworkTransport(client_tls))
    finally:
        controller.stop()
    assert caught.value.retryable is False
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0][1] == ["oncall@example.com", "sre@example.com"]


def test_unreachable_smtp_server_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        _send(_config(free_port()), _notification(_alert("/cart")))
    assert caught.value.retryable
