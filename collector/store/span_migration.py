"""Creating the span tables, and upgrading a database whose spans use an older layout.

The layout version lives in ``trace_store_meta`` (key ``span_schema_version``). A database
without it is either new, or holds layout 1 (``spans`` + ``span_attributes``, every resource
attribute indexed once per span). Layout 1 is migrated in one transaction: its spans are read
in key order, written again through the ordinary write path, and its tables dropped, so a
crash during the upgrade leaves layout 1 as it was. A database with a newer layout than this
release knows is refused with a :class:`~collector.store.interfaces.StoreError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import JSON, Connection, Engine, LargeBinary, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from collector.store.interfaces import StoreError
from collector.store.span_model import SpanRecord, record_from_row
from collector.store.span_schema import SPAN_SCHEMA_VERSION, span_meta, span_metadata

__all__ = ["VERSION_KEY", "ensure_span_schema", "span_schema_version"]

log = logging.getLogger(__name__)

VERSION_KEY = "span_schema_version"
_V1_TABLES = ("span_attributes", "spans")  # dropped in this order
_V1_MARKERS = {"trace_id", "span_id", "resource_attributes", "duration_ns"}
_V1_COLUMNS = (
    "trace_id, span_id, parent_span_id, service, name, kind, start_time_unix_nano,"
    " duration_ns, status_code, status_message, http_route, http_method, http_status_code,"
    " scope_name, attributes, events, links, resource_attributes"
)
_PAGE = 5_000

#: ``insert(conn, records)``: the write path, storing records in the caller's transaction.
Insert = Callable[[Connection, Sequence[SpanRecord]], object]


def span_schema_version(conn: Connection) -> int | None:
    """The span layout version recorded in the database, or None if none is."""
    if not inspect(conn).has_table(span_meta.name):
        return None
    found = conn.execute(select(span_meta.c.value).where(span_meta.c.key == VERSION_KEY))
    value = found.scalar()
    return None if value is None else int(value)


def ensure_span_schema(engine: Engine, insert: Insert) -> None:
    """Create the span tables (current layout) if missing, migrating layout 1 if present.

    :raise StoreError: if the database holds a span layout newer than this release's.
    """
    with engine.begin() as conn:
        _transactional_ddl(conn)
        version = span_schema_version(conn)
        if version is not None and version > SPAN_SCHEMA_VERSION:
            raise StoreError(
                f"the span tables have layout version {version}, newer than this release's"
                f" {SPAN_SCHEMA_VERSION}: run a sloscope release that knows it"
            )
        if version == SPAN_SCHEMA_VERSION:
            span_metadata.create_all(conn)  # tables dropped by hand come back empty
            return
        span_metadata.create_all(conn)
        if _holds_v1(conn):
            try:
                _migrate_v1(conn, insert)
            except (ValueError, TypeError, KeyError, SQLAlchemyError) as exc:  # unreadable rows
                raise StoreError(
                    f"upgrading the span tables to layout {SPAN_SCHEMA_VERSION} failed, the"
                    f" layout-1 tables are unchanged: {exc}"
                ) from exc
        conn.execute(span_meta.insert().values(key=VERSION_KEY, value=str(SPAN_SCHEMA_VERSION)))


def _transactional_ddl(conn: Connection) -> None:
    """Open the transaction now on SQLite: Python's sqlite3 opens one only before DML, so
    ``CREATE TABLE`` would commit on its own and a failed upgrade could not be rolled back.
    ``IMMEDIATE`` also takes the write lock, so two processes do not upgrade at once."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _holds_v1(conn: Connection) -> bool:
    """Whether ``spans`` is a layout-1 span table (a table of that name that is not ours is
    left alone)."""
    inspector = inspect(conn)
    if not inspector.has_table("spans"):
        return False
    columns = {c["name"] for c in inspector.get_columns("spans")}
    return _V1_MARKERS <= columns


def _migrate_v1(conn: Connection, insert: Insert) -> None:
    """Copy every layout-1 span into the current tables, then drop the layout-1 tables."""
    page = text(
        f"SELECT {_V1_COLUMNS} FROM spans WHERE (trace_id, span_id) > (:t, :s)"
        " ORDER BY trace_id, span_id LIMIT :n"
    ).columns(
        trace_id=LargeBinary,
        span_id=LargeBinary,
        parent_span_id=LargeBinary,
        attributes=JSON,
        events=JSON,
        links=JSON,
        resource_attributes=JSON,
    )
    copied, last = 0, (b"", b"")  # the empty key sorts before every stored one
    while True:
        rows = conn.execute(page, {"t": last[0], "s": last[1], "n": _PAGE}).all()
        if not rows:
            break
        insert(conn, [record_from_row(row, row.resource_attributes) for row in rows])
        copied += len(rows)
        last = (bytes(rows[-1].trace_id), bytes(rows[-1].span_id))
    for table in _V1_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    log.info("span tables upgraded to layout %d: %d spans copied", SPAN_SCHEMA_VERSION, copied)
