"""Beacon contents as rows of ``rum_events``, and the group commit that stores beacons.

:class:`GroupCommit` lets concurrent beacons share their commits: each request queues its
beacon and waits; whichever request finds no write under way writes every queued beacon with
one call of the write function (on the RUM receiver: one transaction of events, then one
durable append of all their samples) and then wakes the requests of that batch. So N
concurrent beacons pay for two commits, not 2N, and a request still returns only once its
beacon is durable, or raises if the batch holding it failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from collector.convert import web_vitals as wv

__all__ = [
    "GroupCommit",
    "GroupCommitError",
    "RumEventStore",
    "event_rows",
    "metadata",
    "rum_events",
]

metadata = sa.MetaData()
rum_events = sa.Table(
    "rum_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("app", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # page_view | web_vital | api_call | js_error
    sa.Column("page", sa.String(256), nullable=False),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),  # receive time, UTC epoch ms
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Index("ix_rum_events_app_kind_ts", "app", "kind", "ts_ms"),
    sa.Index("ix_rum_events_app_page_ts", "app", "page", "ts_ms"),
    sa.Index("ix_rum_events_ts", "ts_ms"),
)

# One stored beacon: app name, beacon, device class, receive time (epoch ms).
StoredBeacon = tuple[str, wv.Beacon, str, int]


def _fields(record: Any) -> dict[str, Any]:
    """``dataclasses.asdict`` of a flat record, without its recursive deep copy (the fields
    are scalars, or an attribution dict of scalars, copied here)."""
    out = dict(vars(record))
    if isinstance(out.get("attribution"), dict):
        out["attribution"] = dict(out["attribution"])
    return out


def event_rows(app: str, beacon: wv.Beacon, device_class: str, t_ms: int) -> list[dict]:
    """The ``rum_events`` rows of one beacon: its page view, vitals, API calls and errors."""
    items = [("page_view", {**_fields(beacon.page), "device_class": device_class})]
    items += [("web_vital", _fields(v)) for v in beacon.vitals]
    items += [("api_call", _fields(c)) for c in beacon.api_calls]
    items += [("js_error", _fields(e)) for e in beacon.errors]
    page = beacon.page.page
    return [dict(app=app, kind=k, page=page, ts_ms=t_ms, payload=p) for k, p in items]


class RumEventStore:
    """Beacon contents as rows of ``rum_events``: one per page view, vital, API call, error."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def create(self) -> None:
        metadata.create_all(self.engine)

    def insert(self, app: str, beacon: wv.Beacon, device_class: str, t_ms: int) -> int:
        """Write one beacon's events in one transaction; durable when it returns."""
        return self.insert_many([(app, beacon, device_class, t_ms)])

    def insert_many(self, beacons: Sequence[StoredBeacon]) -> int:
        """Write the events of many beacons in one transaction; durable when it returns."""
        return self.insert_rows([row for b in beacons for row in event_rows(*b)])

    def insert_rows(self, rows: list[dict]) -> int:
        """Write rows of :func:`event_rows` in one transaction; durable when it returns."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(rum_events), rows)
        return len(rows)

    def query(self, app: str, kind: str | None = None, since_ms: int = 0, limit: int = 100):
        """The newest events of an app (optionally one kind) since a time, newest first."""
        c = rum_events.c
        stmt = sa.select(rum_events).where(c.app == app, c.ts_ms >= since_ms)
        if kind is not None:
            stmt = stmt.where(c.kind == kind)
        stmt = stmt.order_by(c.ts_ms.desc(), c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]


T = TypeVar("T")


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
    """

    def __init__(self, write: Callable[[list[T]], Any], max_batch: int = 64) -> None:
        self._write = write
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T]] = []
        self._writing = False

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
        error: BaseException | None = None
        self._cond.release()
        try:
            self._write([t.item for t in batch])
        except BaseException as exc:  # waiters must fail too, whatever it was
            error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self._cond.acquire()
            for t in batch:
                t.done, t.error = True, error
            self._writing = False
            self._cond.notify_all()
