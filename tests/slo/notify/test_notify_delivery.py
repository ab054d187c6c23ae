"""Delivery building blocks: integration naming, backoff, and the outbox's run loop."""

from __future__ import annotations

import random
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notify_loopback import RecordingServer

from collector.model import Labels
from collector.store.sql import SqlStore
from slo.notify.config import EmailConfig, ReceiverConfig, SlackConfig, WebhookConfig
from slo.notify.delivery import Backoff, DeliveryStatus, deliver, find_integration, integrations
from slo.notify.model import Notification, NotifyAlert
from slo.notify.outbox import Outbox
from slo.notify.receivers.transport import DeliveryError, NetworkTransport


def _notification(created_at_ms: int) -> Notification:
    alert = NotifyAlert(Labels.of({"alertname": "Loop"}), starts_at_ms=created_at_ms - 1000)
    return Notification(
        "team", '{}:{alertname="Loop"}', alert.labels, (alert,), "firing", created_at_ms
    )


def test_integrations_are_named_like_alertmanager_logs_them() -> None:
    receiver = ReceiverConfig(
        name="team",
        webhooks=(WebhookConfig(url="http://a"), WebhookConfig(url="http://b")),
        slacks=(SlackConfig(api_url="http://s"),),
        emails=(EmailConfig(to="x@y", from_addr="z@y", smarthost="h:25"),),
    )
    assert [name for name, _ in integrations(receiver)] == [
        "webhook[0]",
        "webhook[1]",
        "slack[0]",
        "email[0]",
    ]
    assert find_integration(receiver, "webhook[1]") == WebhookConfig(url="http://b")
    assert find_integration(receiver, "slack[3]") is None
    assert find_integration(None, "webhook[0]") is None


def test_deliver_rejects_an_unknown_integration_kind_permanently() -> None:
    with pytest.raises(DeliveryError) as caught:
        deliver(
            "pagerduty[0]",
            WebhookConfig(url="http://unused"),
            _notification(1000),
            external_url="",
            transport=NetworkTransport(),
            timeout_s=1,
        )
    assert caught.value.retryable is False


def test_deliver_reports_skipped_when_nothing_is_left_to_send() -> None:
    resolved = NotifyAlert(Labels.of({"alertname": "Done"}), {}, 1000, 2000)
    notification = Notification("team", "k", resolved.labels, (resolved,), "resolved", 5000)
    status = deliver(
        "slack[0]",
        SlackConfig(api_url="http://127.0.0.1:9/never-called"),
        notification,
        external_url="",
        transport=NetworkTransport(),
        timeout_s=1,
    )
    assert status is DeliveryStatus.SKIPPED


@given(
    attempt=st.integers(1, 200),
    initial=st.integers(1, 10_000),
    extra=st.integers(0, 1_000_000),
    jitter=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**32),
)
def test_backoff_stays_within_its_bounds(attempt, initial, extra, jitter, seed) -> None:
    backoff = Backoff(initial_ms=initial, maximum_ms=initial + extra, jitter=jitter)
    delay = backoff.delay_ms(attempt, random.Random(seed))
    ceiling = min(initial + extra, initial * 2 ** (attempt - 1))
    assert max(1, int(ceiling * (1 - jitter)) - 1) <= delay <= ceiling


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    backoff = Backoff(initial_ms=1000, maximum_ms=60_000, jitter=0.0)
    rng = random.Random(1)
    assert backoff.delay_ms(1, rng, retry_after_s=30) == 30_000
    assert backoff.delay_ms(1, rng, retry_after_s=3600) == 60_000
    assert backoff.delay_ms(10, rng, retry_after_s=1) == 60_000


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_ms": 0}, {"initial_ms": 10, "maximum_ms": 5}, {"jitter": 1.0}, {"multiplier": 0.5}],
)
def test_backoff_rejects_nonsense(kwargs) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_run_loop_delivers_what_is_enqueued_and_stops() -> None:
    store = SqlStore("sqlite:///:memory:")
    store.open()
    stop = threading.Event()
    with RecordingServer() as hook:
        receivers = {"team": ReceiverConfig("team", webhooks=(WebhookConfig(url=hook.url),))}
        outbox = Outbox(store.engine, receivers, external_url="http://sloscope:9900")
        # The loop is the one place that reads a clock; here it is the real one.
        worker = threading.Thread(
            target=outbox.run, args=(stop, lambda: int(time.time() * 1000)), daemon=True
        )
        worker.start()
        try:
            outbox.enqueue(_notification(int(time.time() * 1000)))
            received = hook.wait_for(1)
        finally:
            stop.set()
            outbox.wake()
            worker.join(30)
        assert not worker.is_alive()
    assert [r.json()["groupKey"] for r in received] == ['{}:{alertname="Loop"}']
    assert outbox.pending() == []
    assert outbox.history()[0].status is DeliveryStatus.DELIVERED
    store.close()
