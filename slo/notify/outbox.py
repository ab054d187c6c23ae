"""The durable outbox: notifications are written to the database before they are sent and
retried with backoff until their receiver takes them.

A notification becomes one row per integration of its receiver. :meth:`Outbox.deliver_due`
claims each due row (moving its due time ahead, so a second worker skips it), sends it
outside any transaction, then records the outcome and one history row in a single
transaction. A crash between sending and recording sends that one message again once the
claim expires: at-least-once, as Alertmanager. Everything already recorded as delivered
stays delivered, across restarts and receiver outages.

Time and transport are arguments, so tests drive it step by step::

    outbox = Outbox(store.engine, {"team": receiver}, external_url="http://sloscope:9900")
    outbox.enqueue(notification)        # the NotificationSink
    results = outbox.deliver_due(now_ms)
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from slo.notify.config import ReceiverConfig
from slo.notify.delivery import (
    Backoff,
    DeliveryResult,
    DeliveryStatus,
    deliver,
    find_integration,
    integrations,
)
from slo.notify.model import Notification
from slo.notify.outbox_schema import (
    PENDING,
    AttemptRecord,
    PendingDelivery,
    attempts,
    decode_notification,
    delete_finished,
    encode_notification,
    group_hash,
    metadata,
    new_row,
    outbox,
    read_history,
    read_next_due_ms,
    read_pending,
)
from slo.notify.receivers.transport import DeliveryError, NetworkTransport, Transport

__all__ = ["AttemptRecord", "Outbox", "PendingDelivery"]

log = logging.getLogger(__name__)

_DAY_MS = 86_400_000


class Outbox:
    """Durable, retrying delivery of notifications (the real ``NotificationSink``).

    :param engine: the store's SQLAlchemy engine (``SqlStore.engine``); the tables are
        created there on first use.
    :param receivers: receiver configs by name.
    :param external_url: sloscope's own URL, for links in messages.
    :param transport: how messages leave (default: real HTTP and SMTP).
    :param timeout_s: per attempt, unless an integration sets its own.
    :param claim_ms: how long an attempt holds a row; a crash mid-send is retried after it.
    :param max_per_pass: rows :meth:`deliver_due` takes at most in one pass.
    """

    def __init__(
        self,
        engine: Engine,
        receivers: Mapping[str, ReceiverConfig],
        *,
        external_url: str,
        transport: Transport | None = None,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        claim_ms: int = 60_000,
        max_per_pass: int = 1_000,
        rng: random.Random | None = None,
    ) -> None:
        if timeout_s <= 0 or claim_ms <= 0 or max_per_pass < 1:
            raise ValueError("timeout_s, claim_ms and max_per_pass must be positive")
        self._engine = engine
        self._receivers = dict(receivers)
        self.external_url = external_url.rstrip("/")
        self._transport = transport or NetworkTransport()
        self._backoff = backoff or Backoff()
        self._timeout_s = timeout_s
        self._claim_ms = claim_ms
        self._max_per_pass = max_per_pass
        self._rng = rng or random.Random()
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._wake = threading.Event()
        # One database turn at a time from this object: an in-memory SQLite engine shares a
        # single connection between threads. Sends happen outside it.
        self._db_lock = threading.RLock()

    def create_tables(self) -> None:
        """Create the outbox tables if they are missing (also done on first use)."""
        with self._schema_lock:
            if not self._schema_ready:
                with self._db_lock:
                    metadata.create_all(self._engine)
                self._schema_ready = True

    # -- the sink -----------------------------------------------------------------------

    def enqueue(self, notification: Notification) -> None:
        """Record ``notification`` for delivery; durable when this returns.

        A pending entry for the same receiver, integration and group is superseded: the
        newer notification carries the group's whole current state, as Alertmanager
        only ever sends the latest.
        """
        self.create_tables()
        payload = encode_notification(notification)
        now = notification.created_at_ms
        receiver = self._receivers.get(notification.receiver)
        with self._db_lock, self._engine.begin() as conn:
            if receiver is None:
                self._record_unroutable(conn, notification, payload)
                return
            for name, _config in integrations(receiver):
                self._supersede(conn, notification, name)
                conn.execute(insert(outbox).values(new_row(notification, name, payload, now)))
        self._wake.set()

    __call__ = enqueue

    def _supersede(self, conn: Connection, notification: Notification, name: str) -> None:
        c = outbox.c
        older = conn.execute(
            select(c.id, c.attempts).where(
                c.receiver == notification.receiver,
                c.integration == name,
                c.group_hash == group_hash(notification.group_key),
                c.status == PENDING,
            )
        ).all()
        for row in older:
            conn.execute(
                update(outbox)
                .where(c.id == row.id)
                .values(
                    status=DeliveryStatus.SUPERSEDED.value,
                    finished_at_ms=notification.created_at_ms,
                )
            )
            conn.execute(
                insert(attempts).values(
                    outbox_id=row.id,
                    time_ms=notification.created_at_ms,
                    receiver=notification.receiver,
                    integration=name,
                    group_key=notification.group_key,
                    status=DeliveryStatus.SUPERSEDED.value,
                    attempt=row.attempts,
                    error="replaced by a newer notification for the same group",
                )
            )

    def _record_unroutable(self, conn: Connection, notification: Notification, payload: str):
        error = f"receiver {notification.receiver!r} is not configured"
        log.error("Dropping notification for group %s: %s", notification.group_key, error)
        row = new_row(notification, "", payload, notification.created_at_ms)
        row.update(
            status=DeliveryStatus.FAILED.value,
            last_error=error,
            finished_at_ms=notification.created_at_ms,
        )
        outbox_id = conn.execute(insert(outbox).values(row)).inserted_primary_key[0]
        conn.execute(
            insert(attempts).values(
                outbox_id=outbox_id,
                time_ms=notification.created_at_ms,
                receiver=notification.receiver,
                integration="",
                group_key=notification.group_key,
                status=DeliveryStatus.FAILED.value,
                attempt=0,
                error=error,
            )
        )

    # -- delivering ---------------------------------------------------------------------

    def deliver_due(self, now_ms: int) -> list[DeliveryResult]:
        """One pass: try every entry due at ``now_ms`` (oldest first), schedule retries."""
        self.create_tables()
        c = outbox.c
        with self._db_lock, self._engine.connect() as conn:
            due = conn.execute(
                select(c.id, c.receiver, c.integration, c.group_key, c.payload, c.attempts)
                .add_columns(c.next_attempt_ms)
                .where(c.status == PENDING, c.next_attempt_ms <= now_ms)
                .order_by(c.id)
                .limit(self._max_per_pass)
            ).all()
        results = []
        for row in due:
            if self._claim(row, now_ms):
                results.append(self._attempt(row, now_ms))
        return results

    def _claim(self, row: Row, now_ms: int) -> bool:
        c = outbox.c
        with self._db_lock, self._engine.begin() as conn:
            claimed = conn.execute(
                update(outbox)
                .where(
                    c.id == row.id,
                    c.status == PENDING,
                    c.next_attempt_ms == row.next_attempt_ms,
                    c.attempts == row.attempts,
                )
                .values(attempts=row.attempts + 1, next_attempt_ms=now_ms + self._claim_ms)
            )
            return claimed.rowcount == 1

    def _attempt(self, row: Row, now_ms: int) -> DeliveryResult:
        attempt = row.attempts + 1
        retry_after: float | None = None
        try:
            status, error = self._send(row), ""
        except DeliveryError as exc:
            status = DeliveryStatus.RETRYING if exc.retryable else DeliveryStatus.FAILED
            error, retry_after = str(exc), exc.retry_after_s
        except Exception as exc:  # a bug in a receiver must not stop the other deliveries
            log.exception("Delivering outbox entry %d failed unexpectedly", row.id)
            status, error = DeliveryStatus.RETRYING, f"internal error: {exc!r}"
        next_ms = None
        if status is DeliveryStatus.RETRYING:
            next_ms = now_ms + self._backoff.delay_ms(attempt, self._rng, retry_after)
            log.warning(
                "Notify for %s/%s failed (attempt %d): %s",
                row.receiver,
                row.integration,
                attempt,
                error,
            )
        result = DeliveryResult(
            row.id,
            row.receiver,
            row.integration,
            row.group_key,
            status,
            attempt,
            now_ms,
            error,
            next_ms,
        )
        self._record(result)
        return result

    def _send(self, row: Row) -> DeliveryStatus:
        config = find_integration(self._receivers.get(row.receiver), row.integration)
        if config is None:
            raise DeliveryError(
                f"receiver {row.receiver!r} has no integration {row.integration} any more",
                retryable=False,
            )
        try:
            notification = decode_notification(row.payload)
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"unreadable outbox payload: {exc}", retryable=False) from None
        return deliver(
            row.integration,
            config,
            notification,
            external_url=self.external_url,
            transport=self._transport,
            timeout_s=self._timeout_s,
        )

    def _record(self, result: DeliveryResult) -> None:
        c = outbox.c
        if result.status is DeliveryStatus.RETRYING:
            # Only while still pending: a row superseded during the attempt stays superseded.
            change = update(outbox).where(c.id == result.outbox_id, c.status == PENDING)
            change = change.values(next_attempt_ms=result.next_attempt_ms, last_error=result.error)
        else:
            change = update(outbox).where(c.id == result.outbox_id)
            change = change.values(
                status=result.status.value, last_error=result.error, finished_at_ms=result.time_ms
            )
        with self._db_lock, self._engine.begin() as conn:
            conn.execute(change)
            conn.execute(
                insert(attempts).values(
                    outbox_id=result.outbox_id,
                    time_ms=result.time_ms,
                    receiver=result.receiver,
                    integration=result.integration,
                    group_key=result.group_key,
                    status=result.status.value,
                    attempt=result.attempt,
                    error=result.error,
                )
            )

    # -- reading ------------------------------------------------------------------------

    def pending(self) -> list[PendingDelivery]:
        """Entries not delivered yet, oldest first."""
        self.create_tables()
        with self._db_lock, self._engine.connect() as conn:
            return read_pending(conn)

    def history(self, limit: int = 100) -> list[AttemptRecord]:
        """The latest ``limit`` delivery attempts, newest first."""
        self.create_tables()
        with self._db_lock, self._engine.connect() as conn:
            return read_history(conn, limit)

    def next_due_ms(self) -> int | None:
        """When the earliest pending entry is due, or None when nothing is pending."""
        self.create_tables()
        with self._db_lock, self._engine.connect() as conn:
            return read_next_due_ms(conn)

    def prune(self, before_ms: int) -> int:
        """Forget finished entries and history older than ``before_ms``; returns rows removed."""
        self.create_tables()
        with self._db_lock, self._engine.begin() as conn:
            return delete_finished(conn, before_ms)

    # -- the loop -----------------------------------------------------------------------

    def wake(self) -> None:
        """Make :meth:`run` look at the outbox now (enqueue does this itself)."""
        self._wake.set()

    def run(
        self,
        stop_event: threading.Event,
        clock: Callable[[], int],
        *,
        max_wait_s: float = 1.0,
        keep_history_ms: int = 7 * _DAY_MS,
    ) -> None:
        """Deliver until ``stop_event`` is set: a pass whenever something is enqueued or
        falls due, at least every ``max_wait_s``. ``clock`` returns epoch milliseconds."""
        last_prune = None
        while not stop_event.is_set():
            self._wake.clear()
            now = clock()
            try:
                self.deliver_due(now)
                if last_prune is None or now - last_prune >= 3_600_000:
                    self.prune(now - keep_history_ms)
                    last_prune = now
                due = self.next_due_ms()
            except SQLAlchemyError:  # the database may come back; keep what is stored
                log.exception("Notification outbox pass failed; retrying")
                due = None
            wait_s = max_wait_s if due is None else (due - clock()) / 1000
            self._wake.wait(min(max_wait_s, max(0.0, wait_s)))
