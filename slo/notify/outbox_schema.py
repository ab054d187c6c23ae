"""The outbox's tables (on the store's own database) and how a notification is kept in them.

- ``notify_outbox``: one row per notification and integration (``webhook[0]``...), written
  before anything is sent. ``status`` is ``pending`` until it ends as ``delivered``,
  ``failed``, ``skipped`` or ``superseded``; ``next_attempt_ms`` is when a pending row is due
  (pushed ahead while an attempt holds it, so a second worker leaves it alone).
- ``notify_outbox_attempts``: the delivery history, one row per attempt (and per row that was
  superseded or could not be routed), for the dashboard's "notification history".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
)

from collector.model import Labels
from slo.notify.delivery import DeliveryStatus
from slo.notify.model import Notification, NotifyAlert

__all__ = [
    "PENDING",
    "AttemptRecord",
    "PendingDelivery",
    "attempts",
    "decode_notification",
    "delete_finished",
    "encode_notification",
    "group_hash",
    "metadata",
    "new_row",
    "outbox",
    "read_history",
    "read_next_due_ms",
    "read_pending",
]

#: ``notify_outbox.status`` of rows still to be delivered; the final ones are
#: :class:`~slo.notify.delivery.DeliveryStatus` values.
PENDING = "pending"

metadata = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_ID = BigInteger().with_variant(Integer, "sqlite")

outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("receiver", String(255), nullable=False),
    Column("integration", String(64), nullable=False),
    Column("group_key", Text, nullable=False),
    # Group keys can be long; a fixed-size hash keeps the supersede lookup indexable.
    Column("group_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("finished_at_ms", BigInteger, nullable=True),
    Index("notify_outbox_due", "status", "next_attempt_ms"),
    Index("notify_outbox_group", "receiver", "integration", "group_hash", "status"),
    Index("notify_outbox_finished", "finished_at_ms"),
)

attempts = Table(
    "notify_outbox_attempts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("receiver", String(255), nullable=False),
    Column("integration", String(64), nullable=False),
    Column("group_key", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Index("notify_outbox_attempts_time", "time_ms"),
)


def group_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def encode_notification(notification: Notification) -> str:
    """JSON for the ``payload`` column; :func:`decode_notification` reverses it exactly."""
    return json.dumps(
        {
            "receiver": notification.receiver,
            "group_key": notification.group_key,
            "group_labels": dict(notification.group_labels),
            "status": notification.status,
            "created_at_ms": notification.created_at_ms,
            "truncated_alerts": notification.truncated_alerts,
            "alerts": [
                {
                    "labels": dict(a.labels),
                    "annotations": dict(a.annotations),
                    "starts_at_ms": a.starts_at_ms,
                    "ends_at_ms": a.ends_at_ms,
                    "generator_url": a.generator_url,
                }
                for a in notification.alerts
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_notification(payload: str) -> Notification:
    """Raises ``ValueError`` (or ``KeyError``/``TypeError``) for a payload it did not write."""
    data = json.loads(payload)
    alerts = tuple(
        NotifyAlert(
            labels=Labels.of(a["labels"]),
            annotations=dict(a["annotations"]),
            starts_at_ms=int(a["starts_at_ms"]),
            ends_at_ms=int(a["ends_at_ms"]),
            generator_url=str(a["generator_url"]),
        )
        for a in data["alerts"]
    )
    return Notification(
        receiver=str(data["receiver"]),
        group_key=str(data["group_key"]),
        group_labels=Labels.of(data["group_labels"]),
        alerts=alerts,
        status=str(data["status"]),
        created_at_ms=int(data["created_at_ms"]),
        truncated_alerts=int(data["truncated_alerts"]),
    )


def new_row(notification: Notification, integration: str, payload: str, now: int) -> dict:
    """Values of a fresh pending ``notify_outbox`` row, due at ``now``."""
    return {
        "receiver": notification.receiver,
        "integration": integration,
        "group_key": notification.group_key,
        "group_hash": group_hash(notification.group_key),
        "status": PENDING,
        "payload": payload,
        "created_at_ms": notification.created_at_ms,
        "attempts": 0,
        "next_attempt_ms": now,
        "last_error": "",
        "finished_at_ms": None,
    }


@dataclass(frozen=True)
class PendingDelivery:
    """An outbox row still to be delivered."""

    outbox_id: int
    receiver: str
    integration: str
    group_key: str
    created_at_ms: int
    attempts: int
    next_attempt_ms: int
    last_error: str


@dataclass(frozen=True)
class AttemptRecord:
    """One line of the notification history."""

    outbox_id: int
    time_ms: int
    receiver: str
    integration: str
    group_key: str
    status: DeliveryStatus
    attempt: int
    error: str


def read_pending(conn: Connection) -> list[PendingDelivery]:
    c = outbox.c
    rows = conn.execute(
        select(c.id, c.receiver, c.integration, c.group_key, c.created_at_ms)
        .add_columns(c.attempts, c.next_attempt_ms, c.last_error)
        .where(c.status == PENDING)
        .order_by(c.id)
    ).all()
    return [PendingDelivery(*row) for row in rows]


def read_history(conn: Connection, limit: int) -> list[AttemptRecord]:
    a = attempts.c
    rows = conn.execute(
        select(a.outbox_id, a.time_ms, a.receiver, a.integration, a.group_key)
        .add_columns(a.status, a.attempt, a.error)
        .order_by(a.id.desc())
        .limit(limit)
    ).all()
    return [
        AttemptRecord(r[0], r[1], r[2], r[3], r[4], DeliveryStatus(r[5]), r[6], r[7]) for r in rows
    ]


def read_next_due_ms(conn: Connection) -> int | None:
    c = outbox.c
    query = select(c.next_attempt_ms).where(c.status == PENDING)
    return conn.execute(query.order_by(c.next_attempt_ms).limit(1)).scalar()


def delete_finished(conn: Connection, before_ms: int) -> int:
    """Finished rows and history older than ``before_ms``; pending rows always stay."""
    c = outbox.c
    removed = conn.execute(
        delete(outbox).where(c.status != PENDING, c.finished_at_ms < before_ms)
    ).rowcount
    return removed + conn.execute(delete(attempts).where(attempts.c.time_ms < before_ms)).rowcount
