"""Never hurt the host: SDK hooks run inside :func:`capture_internal_exceptions`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["InternalErrors", "capture_internal_exceptions"]

log = logging.getLogger("sloscope")


class InternalErrors:
    """Counts internal errors per place and logs each place once (no log storms)."""

    def __init__(self, raise_errors: bool) -> None:
        self.raise_errors = raise_errors
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def record(self, where: str, exc: BaseException) -> None:
        with self._lock:
            self.counts[where] = self.counts.get(where, 0) + 1
            first = where not in self._seen
            self._seen.add(where)
        if first:
            log.warning("sloscope: internal error in %s (logged once): %r", where, exc)


@contextmanager
def capture_internal_exceptions(errors: InternalErrors | None, where: str) -> Iterator[None]:
    """Swallow, log once and count an exception from SDK code; re-raise in tests."""
    try:
        yield
    except Exception as exc:
        if errors is None:
            return
        errors.record(where, exc)
        if errors.raise_errors:
            raise
