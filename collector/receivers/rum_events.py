"""Beacon contents as rows of ``rum_events``.

The RUM receiver stores concurrent beacons together through
:class:`~collector.receivers.group_commit.GroupCommit` (re-exported here): one transaction
of events, then one durable append of all their samples, for every beacon queued meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from collector.convert import web_vitals as wv
from collector.receivers.group_commit import GroupCommit, GroupCommitError

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


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # DBAPI positional placeholders
_INSERTS: dict[Any, tuple[str, Callable[[Any], Any]]] = {}


def _insert_sql(dialect) -> tuple[str, Callable[[Any], Any]]:
    """The insert of :func:`event_rows`' columns in the driver's own parameter style, and the
    payload's conversion to what the driver takes (built once per dialect)."""
    found = _INSERTS.get(dialect)
    if found is None:
        mark = _MARKS.get(dialect.paramstyle)
        if mark is None:
            raise NotImplementedError(f"paramstyle {dialect.paramstyle!r} is not supported")
        names = ("app", "kind", "page", "ts_ms", "payload")
        sql = f"INSERT INTO {rum_events.name} ({', '.join(names)}) VALUES ({', '.join([mark] * 5)})"
        payload = rum_events.c.payload.type.dialect_impl(dialect).bind_processor(dialect)
        found = _INSERTS[dialect] = (sql, payload or _same)
    return found


def _same(value: Any) -> Any:
    return value


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
        """Write rows of :func:`event_rows` in one transaction; durable when it returns.

        The rows go to the driver's executemany as plain tuples: SQLAlchemy's per-row
        parameter processing would cost more than the insert itself.
        """
        if rows:
            with self.engine.begin() as conn:
                sql, payload = _insert_sql(conn.dialect)
                params = [
                    (r["app"], r["kind"], r["page"], r["ts_ms"], payload(r["payload"]))
                    for r in rows
                ]
                conn.exec_driver_sql(sql, params)
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
