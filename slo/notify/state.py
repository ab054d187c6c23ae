"""What the notifier persists: silences and the notification log.

Both live in tables prefixed ``notify_`` on the same database as the store (SQLite or
PostgreSQL through SQLAlchemy Core), so that a restart neither re-sends what was sent within
``repeat_interval`` nor forgets a silence. Alerts themselves are not persisted: as with
Alertmanager, the rule manager re-sends firing alerts on every evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.engine import Connection, Engine

from slo.notify.matchers import Matcher, MatchType
from slo.notify.nflog import LogEntry
from slo.notify.silences import Silence

__all__ = ["NotifyState"]

_metadata = MetaData()

silences_table = Table(
    "notify_silences",
    _metadata,
    Column("id", String(64), primary_key=True),
    # JSON list of [operator, name, value]
    Column("matchers", Text, nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("comment", Text, nullable=False),
)

log_table = Table(
    "notify_log",
    _metadata,
    Column("group_key", Text, primary_key=True),
    Column("receiver", String(255), primary_key=True),
    # JSON lists of alert fingerprints
    Column("firing", Text, nullable=False),
    Column("resolved", Text, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
)


class NotifyState:
    """Silences and notification log on *engine*; tables are created on first use."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._created = False

    def _begin(self):  # noqa: ANN202 - a context manager from SQLAlchemy
        if not self._created:
            _metadata.create_all(self._engine, checkfirst=True)
            self._created = True
        return self._engine.begin()

    # --- silences -------------------------------------------------------------------------

    def load_silences(self) -> list[Silence]:
        with self._begin() as conn:
            rows = conn.execute(select(silences_table)).mappings().all()
        return [_silence_from_row(row) for row in rows]

    def save_silence(self, silence: Silence) -> None:
        values = {
            "matchers": json.dumps([[m.type.value, m.name, m.value] for m in silence.matchers]),
            "starts_at_ms": silence.starts_at_ms,
            "ends_at_ms": silence.ends_at_ms,
            "updated_at_ms": silence.updated_at_ms,
            "created_by": silence.created_by,
            "comment": silence.comment,
        }
        with self._begin() as conn:
            _upsert(conn, silences_table, {"id": silence.id}, values)

    def delete_silences(self, ids: Iterable[str]) -> None:
        with self._begin() as conn:
            conn.execute(delete(silences_table).where(silences_table.c.id.in_(list(ids))))

    # --- notification log -----------------------------------------------------------------

    def load_log(self) -> list[LogEntry]:
        with self._begin() as conn:
            rows = conn.execute(select(log_table)).mappings().all()
        return [
            LogEntry(
                group_key=row["group_key"],
                receiver=row["receiver"],
                firing=frozenset(json.loads(row["firing"])),
                resolved=frozenset(json.loads(row["resolved"])),
                timestamp_ms=row["timestamp_ms"],
                expires_at_ms=row["expires_at_ms"],
            )
            for row in rows
        ]

    def save_log_entry(self, entry: LogEntry) -> None:
        values = {
            "firing": json.dumps(sorted(entry.firing)),
            "resolved": json.dumps(sorted(entry.resolved)),
            "timestamp_ms": entry.timestamp_ms,
            "expires_at_ms": entry.expires_at_ms,
        }
        key = {"group_key": entry.group_key, "receiver": entry.receiver}
        with self._begin() as conn:
            _upsert(conn, log_table, key, values)

    def delete_log_entries(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._begin() as conn:
            for group_key, receiver in keys:
                conn.execute(
                    delete(log_table).where(
                        log_table.c.group_key == group_key, log_table.c.receiver == receiver
                    )
                )


def _upsert(conn: Connection, table: Table, key: dict[str, str], values: dict[str, object]) -> None:
    """Update the row with *key*, or insert it (portable across SQLite and PostgreSQL). Log
    rows have one writer, the notifier; silences are inserted under fresh UUIDs, so two
    processes never race to insert the same key."""
    condition = [table.c[name] == value for name, value in key.items()]
    result = conn.execute(update(table).where(*condition).values(**values))
    if result.rowcount == 0:
        conn.execute(table.insert().values(**key, **values))


def _silence_from_row(row) -> Silence:  # noqa: ANN001 - a SQLAlchemy RowMapping
    matchers = tuple(
        Matcher(MatchType(op), name, value) for op, name, value in json.loads(row["matchers"])
    )
    return Silence(
        id=row["id"],
        matchers=matchers,
        starts_at_ms=row["starts_at_ms"],
        ends_at_ms=row["ends_at_ms"],
        created_by=row["created_by"],
        comment=row["comment"],
        updated_at_ms=row["updated_at_ms"],
    )
