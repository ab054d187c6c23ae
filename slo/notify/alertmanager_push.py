"""Pushing alerts to Alertmanager the way Prometheus' notifier does.

The rule manager hands over every active alert again each ``resend_delay`` with
``endsAt = now + 4 * max(interval, resend_delay)`` (:func:`valid_until_ms`); if sloscope stops
re-sending, Alertmanager resolves the alert by itself once ``endsAt`` passes. The sender
queues alerts (bounded: the oldest are dropped and counted when it is full), cuts them into
batches of ``max_batch`` and POSTs each batch as JSON to ``/api/v2/alerts`` of every
configured Alertmanager, retrying network errors and 5xx answers a few times.

>>> sender = AlertmanagerSender(["http://127.0.0.1:9093"], timeout_s=10)
>>> sender.urls
('http://127.0.0.1:9093/api/v2/alerts',)
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus

from slo.notify.model import NotifyAlert
from slo.notify.receivers.payloads import rfc3339
from slo.notify.receivers.transport import (
    DeliveryError,
    NetworkTransport,
    Transport,
    check_http_status,
)

__all__ = [
    "AlertmanagerSender",
    "FlushReport",
    "alert_to_json",
    "generator_url",
    "valid_until_ms",
]

log = logging.getLogger(__name__)

_API_PATH = "/api/v2/alerts"
DEFAULT_QUEUE_CAPACITY = 10_000  # Prometheus' --alertmanager.notification-queue-capacity


def valid_until_ms(now_ms: int, interval_ms: int, resend_delay_ms: int) -> int:
    """``endsAt`` for a firing alert sent at ``now_ms``: four resend periods ahead, so a few
    lost sends do not resolve it, yet it resolves soon after sloscope stops sending."""
    return now_ms + 4 * max(interval_ms, resend_delay_ms)


def generator_url(external_url: str, expr: str) -> str:
    """Link back to the expression, as Prometheus builds it (``/graph?g0.expr=...``)."""
    return f"{external_url.rstrip('/')}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


def alert_to_json(alert: NotifyAlert) -> dict[str, object]:
    """One ``PostableAlert``; unset times are left out and Alertmanager fills them in."""
    body: dict[str, object] = {
        "labels": dict(alert.labels),
        "annotations": dict(sorted(alert.annotations.items())),
    }
    if alert.starts_at_ms:
        body["startsAt"] = rfc3339(alert.starts_at_ms)
    if alert.ends_at_ms:
        body["endsAt"] = rfc3339(alert.ends_at_ms)
    body["generatorURL"] = alert.generator_url
    return body


def _api_url(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith(_API_PATH) else base + _API_PATH


@dataclass(frozen=True)
class FlushReport:
    """What one :meth:`AlertmanagerSender.flush` did."""

    batches: int
    sent: int  # alerts that reached at least one Alertmanager
    failed: int  # alerts no Alertmanager accepted (dropped, as Prometheus does)


class AlertmanagerSender:
    """Prometheus' notifier: bounded queue, batches, every Alertmanager gets every batch.

    Alertmanagers are posted to one after another (Prometheus posts concurrently); with
    the usual one to three of them, a dead one costs ``timeout_s`` per retry, no more.

    :param urls: Alertmanager base URLs (``http://host:9093``) or full ``/api/v2/alerts`` URLs.
    :param timeout_s: per POST.
    :param max_batch: alerts per POST (Prometheus: 64).
    :param queue_capacity: alerts waiting at most; beyond it the oldest are dropped.
    :param max_retries: extra attempts per Alertmanager after a network error or 5xx.
    :param retry_backoff_s: first wait between attempts, doubled each time; cut short by
        :meth:`stop`.

    Counters: ``sent_total``, ``dropped_total[reason]`` (``queue_full``, ``send_failed``),
    ``errors_total[url]``.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout_s: float,
        max_batch: int = 64,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        max_retries: int = 2,
        retry_backoff_s: float = 0.5,
        transport: Transport | None = None,
    ) -> None:
        if timeout_s <= 0 or max_batch < 1 or queue_capacity < 1 or max_retries < 0:
            raise ValueError(
                "timeout_s must be positive, max_batch and queue_capacity at least 1, "
                "max_retries not negative"
            )
        self.urls = tuple(_api_url(u) for u in urls)
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self.queue_capacity = queue_capacity
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self._transport = transport or NetworkTransport()
        self._queue: deque[NotifyAlert] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent_total = 0
        self.dropped_total: Counter[str] = Counter()
        self.errors_total: Counter[str] = Counter()

    # -- producer side ------------------------------------------------------------------

    def send(self, alerts: Iterable[NotifyAlert]) -> None:
        """Queue ``alerts`` for the next flush; never blocks. When the queue would overflow
        the oldest alerts go first: newer state of the same alert supersedes them."""
        incoming = list(alerts)
        if not incoming:
            return
        with self._lock:
            self._queue.extend(incoming)
            overflow = len(self._queue) - self.queue_capacity
            for _ in range(max(0, overflow)):
                self._queue.popleft()
            if overflow > 0:
                self.dropped_total["queue_full"] += overflow
        if overflow > 0:
            log.warning("Alert notification queue full, dropped %d oldest alerts", overflow)
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- consumer side ------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send everything queued now, batch by batch; returns what happened."""
        batches = sent = failed = 0
        with self._flush_lock:
            while batch := self._next_batch():
                batches += 1
                if self._send_batch(batch):
                    sent += len(batch)
                else:
                    failed += len(batch)
            with self._lock:
                self.sent_total += sent
                if failed:
                    self.dropped_total["send_failed"] += failed
        return FlushReport(batches, sent, failed)

    def _next_batch(self) -> list[NotifyAlert]:
        with self._lock:
            count = min(self.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _send_batch(self, batch: list[NotifyAlert]) -> bool:
        """POST to every Alertmanager; the batch counts as sent if any accepted it."""
        if not self.urls:
            return False
        body = json.dumps([alert_to_json(a) for a in batch], separators=(",", ":")).encode()
        accepted = False
        for url in self.urls:
            try:
                self._post_with_retries(url, body)
                accepted = True
            except DeliveryError as exc:
                self.errors_total[url] += 1
                log.error("Error sending %d alerts to %s: %s", len(batch), url, exc)
        return accepted

    def _post_with_retries(self, url: str, body: bytes) -> None:
        delay = self.retry_backoff_s
        for attempt in range(self.max_retries + 1):
            try:
                response = self._transport.post(url, body, headers={}, timeout_s=self.timeout_s)
                check_http_status(response)
                return
            except DeliveryError as exc:
                if not exc.retryable or attempt == self.max_retries or self._stop.is_set():
                    raise
            if delay > 0 and self._stop.wait(delay):
                raise DeliveryError(f"POST {url}: sender stopped", retryable=True)
            delay *= 2

    # -- background loop ----------------------------------------------------------------

    def run(self) -> None:
        """Flush whenever alerts arrive until :meth:`stop`; whatever is queued then is
        flushed once more."""
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self.flush()
        self.flush()

    def start(self) -> None:
        """Run :meth:`run` on a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="alertmanager-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the thread after a final flush (waits at most ``timeout_s``)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
