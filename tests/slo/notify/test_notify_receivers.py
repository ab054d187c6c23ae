"""Webhook and Slack receivers against loopback HTTP servers; payload shapes asserted exactly."""

from __future__ import annotations

import json

import pytest
from notify_loopback import RecordingServer, free_port

from collector.model import Labels
from slo.notify.config import BasicAuth, HTTPConfig, SlackConfig, WebhookConfig
from slo.notify.model import Notification, NotifyAlert
from slo.notify.receivers.payloads import (
    alertmanager_fingerprint,
    rfc3339,
    subject,
    template_data,
    text_alert_list,
)
from slo.notify.receivers.slack import send_slack
from slo.notify.receivers.text_templates import render
from slo.notify.receivers.transport import DeliveryError, NetworkTransport
from slo.notify.receivers.webhook import send_webhook, webhook_message

NOW = 1_700_000_000_000
EXTERNAL = "http://sloscope.example:9900"
GROUP_KEY = '{}/{severity="page"}:{alertname="CheckoutErrorBudgetBurn"}'


def _alert(instance: str, *, resolved: bool = False, **annotations: str) -> NotifyAlert:
    return NotifyAlert(
        labels=Labels.of(
            {
                "alertname": "CheckoutErrorBudgetBurn",
                "severity": "page",
                "slo": "checkout-availability",
                "instance": instance,
            }
        ),
        annotations=annotations or {"summary": "checkout burns its error budget"},
        starts_at_ms=NOW - 300_000,
        ends_at_ms=NOW - 1_000 if resolved else NOW + 240_000,
        generator_url=f"{EXTERNAL}/graph?g0.expr=up&g0.tab=1",
    )


def _notification(*alerts: NotifyAlert, receiver: str = "team-checkout") -> Notification:
    firing = any(not a.resolved(NOW) for a in alerts)
    return Notification(
        receiver=receiver,
        group_key=GROUP_KEY,
        group_labels=Labels.of({"alertname": "CheckoutErrorBudgetBurn"}),
        alerts=alerts,
        status="firing" if firing else "resolved",
        created_at_ms=NOW,
    )


def _send_webhook(config: WebhookConfig, notification: Notification) -> bool:
    return send_webhook(
        config, notification, external_url=EXTERNAL, transport=NetworkTransport(), timeout_s=5
    )


def test_webhook_receives_alertmanager_v4_payload_exactly() -> None:
    notification = _notification(_alert("a:1"), _alert("b:1", resolved=True))
    with RecordingServer() as hook:
        assert _send_webhook(WebhookConfig(url=f"{hook.url}/alerts"), notification)
        received = hook.wait_for(1)
    assert received[0].path == "/alerts"
    assert received[0].headers["Content-Type"] == "application/json"
    common = {"alertname": "CheckoutErrorBudgetBurn", "severity": "page"}
    common["slo"] = "checkout-availability"
    expected = {
        "receiver": "team-checkout",
        "status": "firing",
        "alerts": [
            {
                "status": status,
                "labels": {**common, "instance": i},
                "annotations": {"summary": "checkout burns its error budget"},
                "startsAt": "2023-11-14T22:08:20Z",
                "endsAt": ends_at,
                "generatorURL": "http://sloscope.example:9900/graph?g0.expr=up&g0.tab=1",
                "fingerprint": alertmanager_fingerprint(Labels.of({**common, "instance": i})),
            }
            for status, i, ends_at in (
                ("firing", "a:1", "0001-01-01T00:00:00Z"),
                ("resolved", "b:1", "2023-11-14T22:13:19Z"),
            )
        ],
        "groupLabels": {"alertname": "CheckoutErrorBudgetBurn"},
        "commonLabels": common,
        "commonAnnotations": {"summary": "checkout burns its error budget"},
        "externalURL": "http://sloscope.example:9900",
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
    }
    body = received[0].json()
    assert body == expected
    # Field order as Go's encoder writes it, for consumers that compare text.
    assert list(body) == list(expected)
    assert list(body["alerts"][0]) == list(expected["alerts"][0])


def test_webhook_max_alerts_truncates_and_counts() -> None:
    notification = _notification(*(_alert(f"i{n}") for n in range(5)))
    message = webhook_message(notification, notification.alerts, max_alerts=2, external_url="")
    assert [a["labels"]["instance"] for a in message["alerts"]] == ["i0", "i1"]
    assert message["truncatedAlerts"] == 3


def test_webhook_without_send_resolved_skips_resolved_only_groups() -> None:
    config = WebhookConfig(url=f"http://127.0.0.1:{free_port()}/", send_resolved=False)
    assert _send_webhook(config, _notification(_alert("a", resolved=True))) is False
    with RecordingServer() as hook:
        mixed = _notification(_alert("a"), _alert("b", resolved=True))
        assert _send_webhook(WebhookConfig(url=hook.url, send_resolved=False), mixed)
        sent = hook.wait_for(1)[0].json()
    assert [a["labels"]["instance"] for a in sent["alerts"]] == ["a"]


def test_webhook_http_config_credentials_and_headers() -> None:
    http = HTTPConfig(basic_auth=BasicAuth("am", "s3cret"), headers={"X-Team": "checkout"})
    with RecordingServer() as hook:
        _send_webhook(WebhookConfig(url=hook.url, http_config=http), _notification(_alert("a")))
        headers = hook.wait_for(1)[0].headers
    assert headers["Authorization"] == "Basic YW06czNjcmV0"
    assert headers["X-Team"] == "checkout"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_webhook_errors_follow_alertmanager_retry_rules(status: int, retryable: bool) -> None:
    with RecordingServer(status=status, reply=b"no thanks") as hook:
        with pytest.raises(DeliveryError) as caught:
            _send_webhook(WebhookConfig(url=hook.url), _notification(_alert("a")))
    assert caught.value.retryable is retryable
    assert str(caught.value) == f"unexpected status code {status}: no thanks"


def test_webhook_unreachable_is_retryable_and_hides_the_url_path() -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/secret-token"
    with pytest.raises(DeliveryError) as caught:
        _send_webhook(WebhookConfig(url=url), _notification(_alert("a")))
    assert caught.value.retryable
    assert "secret-token" not in str(caught.value)


def test_slack_message_posted_like_alertmanager_defaults() -> None:
    notification = _notification(_alert("a:1"), _alert("b:1"))
    with RecordingServer(reply=b"ok") as slack:
        config = SlackConfig(api_url=f"{slack.url}/services/T0/B0/XYZ", channel="#checkout")
        assert send_slack(
            config, notification, external_url=EXTERNAL, transport=NetworkTransport(), timeout_s=5
        )
        received = slack.wait_for(1)[0]
    title = "[FIRING:2] CheckoutErrorBudgetBurn (page checkout-availability)"
    link = "http://sloscope.example:9900/#/alerts?receiver=team-checkout"
    assert received.path == "/services/T0/B0/XYZ"
    assert received.json() == {
        "channel": "#checkout",
        "username": "sloscope",
        "attachments": [
            {
                "title": title,
                "title_link": link,
                "text": "",
                "fallback": f"{title} | {link}",
                "callback_id": "",
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }
        ],
    }


def test_slack_resolved_is_green_and_custom_text_renders() -> None:
    config = SlackConfig(
        api_url="",
        send_resolved=True,
        title="{{ .Status | toUpper }}: {{ .CommonLabels.slo }}",
        text="{{ .CommonAnnotations.summary }} ({{ .GroupLabels.alertname }})",
    )
    notification = _notification(_alert("a", resolved=True))
    with RecordingServer(reply=b"ok") as slack:
        config = SlackConfig(**{**config.__dict__, "api_url": slack.url})
        send_slack(
            config, notification, external_url=EXTERNAL, transport=NetworkTransport(), timeout_s=5
        )
        attachment = slack.wait_for(1)[0].json()["attachments"][0]
    assert attachment["color"] == "good"
    assert attachment["title"] == "RESOLVED: checkout-availability"
    assert attachment["text"] == "checkout burns its error budget (CheckoutErrorBudgetBurn)"


def test_slack_api_error_answer_is_a_permanent_failure() -> None:
    with RecordingServer(
        reply=json.dumps({"ok": False, "error": "invalid_auth"}).encode(),
        content_type="application/json; charset=utf-8",
    ) as slack:
        with pytest.raises(DeliveryError, match="invalid_auth") as caught:
            send_slack(
                SlackConfig(api_url=slack.url),
                _notification(_alert("a")),
                external_url=EXTERNAL,
                transport=NetworkTransport(),
                timeout_s=5,
            )
    assert caught.value.retryable is False


def test_subject_matches_alertmanager_default_template() -> None:
    data = template_data(_notification(_alert("a"), _alert("b", resolved=True)), EXTERNAL)
    # alertname sorts first (Go's KV.SortedPairs), then the other common labels by name.
    assert subject(data) == "[FIRING:1] CheckoutErrorBudgetBurn (page checkout-availability)"
    resolved = template_data(_notification(_alert("a", resolved=True)), EXTERNAL)
    assert subject(resolved) == (
        "[RESOLVED] CheckoutErrorBudgetBurn (a page checkout-availability)"
    )


def test_text_alert_list_and_unsupported_actions_stay_visible() -> None:
    data = template_data(_notification(_alert("a", summary="s", runbook="r")), EXTERNAL)
    assert text_alert_list(data.alerts) == (
        "Labels:\n - alertname = CheckoutErrorBudgetBurn\n - instance = a\n - severity = page\n"
        " - slo = checkout-availability\nAnnotations:\n - runbook = r\n - summary = s\n"
        "Source: http://sloscope.example:9900/graph?g0.expr=up&g0.tab=1\n"
    )
    assert render("{{ range .Alerts }}x{{ end }} {{ .Status }}", data) == (
        "{{ range .Alerts }}x{{ end }} firing"
    )


def test_receiver_name_is_regexp_quoted_like_alertmanager() -> None:
    data = template_data(_notification(_alert("a"), receiver="ops.team+1"), EXTERNAL)
    assert data.receiver == "ops\\.team\\+1"


def test_rfc3339_matches_go_time_format() -> None:
    assert rfc3339(0) == "0001-01-01T00:00:00Z"
    assert rfc3339(1) == "1970-01-01T00:00:00.001Z"
    assert rfc3339(1_700_000_000_500) == "2023-11-14T22:13:20.5Z"
