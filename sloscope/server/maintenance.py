"""The store's housekeeping loop: retention and periodic flushes.

The loop owns the clock; one step (:func:`maintain`) takes the time as an argument, so tests
call it directly with any time they like.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["MaintenanceLoop", "maintain"]

log = logging.getLogger("sloscope.maintenance")


def maintain(store, now_ms: int, retention_ms: int, span_store=None, exemplar_store=None) -> None:
    """One housekeeping step: write the head out as chunks, then apply retention to samples
    and, when given, to spans and exemplars."""
    store.flush()
    if exemplar_store is not None:
        exemplars_deleted = exemplar_store.delete_before(now_ms - retention_ms)
        if exemplars_deleted:
            log.info("retention: deleted %d exemplars", exemplars_deleted)
    if span_store is not None:
        spans_deleted = span_store.delete_before((now_ms - retention_ms) * 1_000_000)
        if spans_deleted:
            log.info("retention: deleted %d spans", spans_deleted)
    result = store.apply_retention(now_ms, retention_ms)
    if result.chunks_deleted or result.series_deleted:
        log.info(
            "retention: deleted %d chunks and %d series older than %d",
            result.chunks_deleted,
            len(result.series_deleted),
            result.cut,
        )


class MaintenanceLoop:
    """Runs :func:`maintain` every ``interval_s`` seconds in a daemon thread."""

    def __init__(
        self,
        store,
        retention_ms: int,
        interval_s: float = 60.0,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        span_store=None,
        exemplar_store=None,
    ) -> None:
        self._store = store
        self._exemplar_store = exemplar_store
        self._span_store = span_store
        self._retention_ms = retention_ms
        self._interval_s = interval_s
        self._clock_ms = clock_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sloscope-maintenance", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                maintain(
                    self._store,
                    self._clock_ms(),
                    self._retention_ms,
                    self._span_store,
                    self._exemplar_store,
                )
            except Exception:  # keep the loop alive; the next round retries
                log.exception("store maintenance failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
