"""The durable outbox on the store's database (SQLite file and PostgreSQL): outages, restarts,
a crash mid-send, superseding, permanent failures and the delivery history."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notify_loopback import RecordingServer

from collector.model import Labels
from collector.store.sql import SqlStore
from slo.notify.config import ReceiverConfig, WebhookConfig
from slo.notify.delivery import Backoff, DeliveryStatus
from slo.notify.model import Notification, NotifyAlert
from slo.notify.outbox import Outbox
from slo.notify.outbox_schema import decode_notification, encode_notification
from slo.notify.receivers.transport import NetworkTransport

NOW = 1_700_000_000_000
BACKOFF = Backoff(initial_ms=1_000, maximum_ms=60_000, jitter=0.5)
LATER = NOW + 10 * 60_000  # past any backoff above


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sloscope.db'}"
    make_database: Callable[[], str] = request.getfixturevalue("pg_database")
    return make_database()


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = SqlStore(store_url)
    opened.open()
    yield opened
    opened.close()


@pytest.fixture
def hook() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    yield server
    server.stop()


def _receivers(*urls: str) -> dict[str, ReceiverConfig]:
    hooks = tuple(WebhookConfig(url=u) for u in urls)
    return {"team": ReceiverConfig(name="team", webhooks=hooks)}


def _outbox(store: SqlStore, receivers: Mapping[str, ReceiverConfig], **kwargs) -> Outbox:
    kwargs.setdefault("backoff", BACKOFF)
    kwargs.setdefault("rng", random.Random(7))
    return Outbox(store.engine, receivers, external_url="http://sloscope:9900", **kwargs)


def _notification(group: str, *, at: int = NOW, resolved: bool = False) -> Notification:
    alert = NotifyAlert(
        labels=Labels.of({"alertname": group, "slo": "checkout"}),
        annotations={"summary": group},
        starts_at_ms=NOW - 60_000,
        ends_at_ms=at - 1 if resolved else 0,
    )
    return Notification(
        receiver="team",
        group_key=f'{{}}:{{alertname="{group}"}}',
        group_labels=Labels.of({"alertname": group}),
        alerts=(alert,),
        status="resolved" if resolved else "firing",
        created_at_ms=at,
    )


def _group_keys(server: RecordingServer) -> list[str]:
    return [r.json()["groupKey"] for r in server.received]


def test_receiver_outage_then_everything_exactly_once(
    store: SqlStore, hook: RecordingServer
) -> None:
    outbox = _outbox(store, _receivers(hook.url))
    hook.stop()
    for group in ("A", "B", "C"):
        outbox.enqueue(_notification(group))
    first = outbox.deliver_due(NOW)
    assert [r.status for r in first] == [DeliveryStatus.RETRYING] * 3
    assert all(r.error.startswith("POST http://127.0.0.1:") for r in first)
    assert all(NOW + 500 <= r.next_attempt_ms <= NOW + 1_000 for r in first)
    assert outbox.deliver_due(NOW + 400) == []  # not due yet
    second = outbox.deliver_due(NOW + 1_000)
    assert [r.attempt for r in second] == [2, 2, 2]
    assert [p.attempts for p in outbox.pending()] == [2, 2, 2]

    hook.start()  # the receiver is back, on the same port
    third = outbox.deliver_due(LATER)
    assert [r.status for r in third] == [DeliveryStatus.DELIVERED] * 3
    assert outbox.deliver_due(LATER + 3_600_000) == []
    assert _group_keys(hook) == ['{}:{alertname="A"}', '{}:{alertname="B"}', '{}:{alertname="C"}']
    assert outbox.pending() == []
    history = outbox.history(limit=100)
    assert [h.status for h in history[:3]] == [DeliveryStatus.DELIVERED] * 3
    assert [h.status for h in history[3:]] == [DeliveryStatus.RETRYING] * 6
    assert history[0].integration == "webhook[0]" and history[0].receiver == "team"


def test_restart_delivers_what_was_pending_and_nothing_delivered(
    store_url: str, hook: RecordingServer
) -> None:
    before = SqlStore(store_url)
    before.open()
    outbox = _outbox(before, _receivers(hook.url))
    outbox.enqueue(_notification("Delivered"))
    assert [r.status for r in outbox.deliver_due(NOW)] == [DeliveryStatus.DELIVERED]
    outbox.enqueue(_notification("Waiting", at=NOW + 1))
    before.close()  # the process stops before the second is sent

    after = SqlStore(store_url)
    after.open()
    try:
        restarted = _outbox(after, _receivers(hook.url))
        assert [p.group_key for p in restarted.pending()] == ['{}:{alertname="Waiting"}']
        assert [r.status for r in restarted.deliver_due(NOW + 2)] == [DeliveryStatus.DELIVERED]
        assert restarted.deliver_due(LATER) == []
    finally:
        after.close()
    assert _group_keys(hook) == ['{}:{alertname="Delivered"}', '{}:{alertname="Waiting"}']


class _Crash(BaseException):
    """The process dies: raised after the message went out, before it is recorded."""


class _CrashAfterSending(NetworkTransport):
    def post(self, url, body, *, headers, timeout_s):
        super().post(url, body, headers=headers, timeout_s=timeout_s)
        raise _Crash


def test_crash_mid_send_resends_once_after_the_claim_expires(
    store_url: str, hook: RecordingServer
) -> None:
    before = SqlStore(store_url)
    before.open()
    crashing = _outbox(before, _receivers(hook.url), transport=_CrashAfterSending())
    crashing.enqueue(_notification("InFlight"))
    with pytest.raises(_Crash):
        crashing.deliver_due(NOW)
    before.close()
    assert len(hook.wait_for(1)) == 1

    after = SqlStore(store_url)
    after.open()
    try:
        restarted = _outbox(after, _receivers(hook.url), claim_ms=30_000)
        assert restarted.deliver_due(NOW + 1_000) == []  # still held by the dead attempt
        again = restarted.deliver_due(NOW + 60_000)
        assert [(r.status, r.attempt) for r in again] == [(DeliveryStatus.DELIVERED, 2)]
        assert restarted.deliver_due(LATER) == []
    finally:
        after.close()
    assert _group_keys(hook) == ['{}:{alertname="InFlight"}'] * 2  # at-least-once: one repeat


def test_newer_notification_for_a_group_supersedes_the_pending_one(
    store: SqlStore, hook: RecordingServer
) -> None:
    outbox = _outbox(store, _receivers(hook.url))
    hook.stop()
    outbox.enqueue(_notification("Flappy"))
    outbox.enqueue(_notification("Other"))
    assert len(outbox.deliver_due(NOW)) == 2
    outbox.enqueue(_notification("Flappy", at=NOW + 5_000, resolved=True))
    assert [p.group_key for p in outbox.pending()] == [
        '{}:{alertname="Other"}',
        '{}:{alertname="Flappy"}',
    ]
    assert outbox.history(limit=1)[0].status is DeliveryStatus.SUPERSEDED
    hook.start()
    assert len(outbox.deliver_due(LATER)) == 2
    statuses = [(r.json()["groupKey"], r.json()["status"]) for r in hook.received]
    assert statuses == [
        ('{}:{alertname="Other"}', "firing"),
        ('{}:{alertname="Flappy"}', "resolved"),
    ]


def test_each_integration_of_a_receiver_retries_on_its_own(
    store: SqlStore, hook: RecordingServer
) -> None:
    down = RecordingServer(status=503, reply=b"maintenance").start()
    try:
        outbox = _outbox(store, _receivers(hook.url, down.url))
        outbox.enqueue(_notification("Split"))
        results = {r.integration: r.status for r in outbox.deliver_due(NOW)}
        assert results == {
            "webhook[0]": DeliveryStatus.DELIVERED,
            "webhook[1]": DeliveryStatus.RETRYING,
        }
        assert outbox.pending()[0].last_error == "unexpected status code 503: maintenance"
        down.status = 200
        assert [r.integration for r in outbox.deliver_due(LATER)] == ["webhook[1]"]
    finally:
        down.stop()
    assert len(hook.received) == 1 and len(down.received) == 1


def test_permanent_failures_are_not_retried(store: SqlStore) -> None:
    with RecordingServer(status=400, reply=b"bad payload") as rejecting:
        outbox = _outbox(store, _receivers(rejecting.url))
        outbox.enqueue(_notification("Rejected"))
        results = outbox.deliver_due(NOW)
    assert [(r.status, r.next_attempt_ms) for r in results] == [(DeliveryStatus.FAILED, None)]
    assert outbox.pending() == [] and outbox.deliver_due(LATER) == []
    assert outbox.history()[0].error == "unexpected status code 400: bad payload"


def test_unknown_receiver_and_removed_integration_fail_visibly(
    store: SqlStore, hook: RecordingServer
) -> None:
    outbox = _outbox(store, _receivers(hook.url))
    stray = _notification("Stray")
    outbox.enqueue(Notification(**{**stray.__dict__, "receiver": "nobody"}))
    assert outbox.pending() == []
    assert outbox.history()[0].status is DeliveryStatus.FAILED
    assert outbox.history()[0].error == "receiver 'nobody' is not configured"

    outbox.enqueue(_notification("Orphan"))
    reconfigured = _outbox(store, {"team": ReceiverConfig(name="team")})  # webhook removed
    results = reconfigured.deliver_due(NOW)
    assert [r.status for r in results] == [DeliveryStatus.FAILED]
    assert "no integration webhook[0]" in results[0].error
    assert hook.received == []


def test_retry_after_from_the_receiver_is_honoured(store: SqlStore) -> None:
    with RecordingServer(status=429, reply=b"slow down") as limited:
        limited.reply_headers["Retry-After"] = "45"
        outbox = _outbox(store, _receivers(limited.url))
        outbox.enqueue(_notification("Limited"))
        (result,) = outbox.deliver_due(NOW)
    assert result.status is DeliveryStatus.RETRYING
    assert result.next_attempt_ms == NOW + 45_000


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(store: SqlStore) -> None:
    outbox = _outbox(store, _receivers("http://127.0.0.1:9/unreachable"))
    outbox.enqueue(_notification("Down"))
    now, delays = NOW, []
    for _ in range(9):
        (result,) = outbox.deliver_due(now)
        delays.append(result.next_attempt_ms - now)
        now = result.next_attempt_ms
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(60_000, 1_000 * 2 ** (attempt - 1))
        assert ceiling // 2 <= delay <= ceiling
    assert len(set(delays)) > 3  # jittered, not a fixed ladder


def test_prune_forgets_old_finished_entries_but_keeps_pending(
    store: SqlStore, hook: RecordingServer
) -> None:
    outbox = _outbox(store, _receivers(hook.url))
    outbox.enqueue(_notification("Old"))
    outbox.deliver_due(NOW)
    hook.stop()
    outbox.enqueue(_notification("Stuck", at=NOW + 1))
    outbox.deliver_due(NOW + 1)
    removed = outbox.prune(NOW + 1)  # before the second attempt's history row
    assert removed == 2  # the delivered row and its one history row
    assert [p.group_key for p in outbox.pending()] == ['{}:{alertname="Stuck"}']
    assert [h.status for h in outbox.history()] == [DeliveryStatus.RETRYING]


labels_st = st.dictionaries(
    st.text("abcdefgh_", min_size=1, max_size=8), st.text(min_size=1, max_size=12), max_size=4
)


@given(
    labels=labels_st,
    annotations=st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=3),
    times=st.tuples(st.integers(0, 2**53), st.integers(0, 2**53)),
    truncated=st.integers(0, 1000),
)
def test_stored_payload_round_trips(labels, annotations, times, truncated) -> None:
    alert = NotifyAlert(Labels.of(labels), annotations, times[0], times[1], "http://g/")
    notification = Notification(
        "r", "{}:{}", Labels.of(labels), (alert, alert), "firing", times[0], truncated
    )
    assert decode_notification(encode_notification(notification)) == notification
