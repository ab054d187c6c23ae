"""Group commit: concurrent requests share their durable writes.

Each request queues its item and waits; whichever request finds no write under way writes
every queued item with one call of the write function and then wakes the requests of that
batch. So N concurrent requests pay for one round of commits, not N, and a request still
returns only once its item is durable, or raises if the batch holding it failed. Nothing is
acknowledged before the commit that holds it: batching only ever waits, it never skips.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["GroupCommit", "GroupCommitError", "Outcomes"]

T = TypeVar("T")
#: Per item of a batch, in order: None (stored) or the exception that failed it.
Outcomes = list[BaseException | None]


class GroupCommitError(RuntimeError):
    """The batch holding this caller's item failed (the cause is the writer's error)."""


class _Ticket(Generic[T]):
    __slots__ = ("item", "done", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Writes items in batches, one batch at a time, in the order they were submitted.

    ``write(items)`` must make the whole batch durable or raise; it is never called twice at
    once, so it may keep order-dependent state (cumulative series) without a lock of its own.
    It may instead return a list with, per item, None or the exception that failed that item
    alone (one bad request must not fail the requests batched with it): each submitter then
    gets its own outcome.
    """

    def __init__(self, write: Callable[[list[T]], Outcomes | None], max_batch: int = 64) -> None:
        self._write = write
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T]] = []
        self._writing = False

    @property
    def queued(self) -> int:
        """Items waiting for a batch (not counting the batch being written)."""
        with self._cond:
            return len(self._queue)

    def submit(self, item: T) -> None:
        """Queue ``item`` and return once a batch holding it is written; raise if it failed."""
        ticket = _Ticket(item)
        with self._cond:
            self._queue.append(ticket)
            while not ticket.done:
                if self._writing:
                    self._cond.wait()
                else:
                    self._lead()
        if ticket.error is not None:
            raise GroupCommitError("storing the batch failed") from ticket.error

    def _lead(self) -> None:
        """Write the oldest queued items (called, and returning, with the lock held)."""
        self._writing = True
        batch = self._queue[: self.max_batch]
        del self._queue[: self.max_batch]
        outcomes: Outcomes = [None] * len(batch)
        self._cond.release()
        try:
            outcomes = self._write([t.item for t in batch]) or outcomes
        except BaseException as exc:  # waiters must fail too, whatever it was
            outcomes = [exc] * len(batch)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._cond.acquire()
            for t, error in zip(batch, outcomes, strict=True):
                t.done, t.error = True, error
            self._writing = False
            self._cond.notify_all()
