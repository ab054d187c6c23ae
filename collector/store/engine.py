"""SQLAlchemy engines for the store, tuned per database, and the single-writer lock."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from collector.store.interfaces import StoreError

__all__ = [
    "LazyConnection",
    "WriterLock",
    "create_store_engine",
    "sqlite_path",
    "write_transaction",
]

# A plain integer both databases accept as an advisory-lock key ("sloscope" in ASCII).
_PG_LOCK_KEY = 0x736C6F73636F7065


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL journaling and fully synchronous commits.

    WAL mode lets readers run while a writer commits; incremental auto-vacuum lets the store
    return the pages of emptied WAL rows to the file system after a flush.
    ``synchronous=FULL`` makes every commit reach the disk before it returns: an acknowledged
    append survives a crash of the process and of the machine.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        else:
            # One shared connection, or every pooled connection would see its own empty db.
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via engine
            cursor = dbapi_conn.cursor()
            # Takes effect when the file is created: flushes hand emptied WAL pages back.
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA journal_size_limit=67108864")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreError(f"unsupported storage URL {url!r}: use sqlite:///PATH or postgresql://...")


@contextmanager
def write_transaction(engine: Engine, *, sync: bool = True) -> Iterator[Connection]:
    """``engine.begin()``; with ``sync=False`` the commit does not wait for the disk.

    Such a commit survives a crash of the process but may be lost in one of the machine:
    SQLite (WAL mode) commits with ``synchronous=NORMAL``, restored to ``FULL`` right after;
    PostgreSQL with ``synchronous_commit`` off for the transaction. Either way the database
    stays consistent; only the newest transactions can be missing after a power cut.
    """
    if sync:
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn
            return
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA synchronous=NORMAL")  # outside a transaction: sqlite requires it
        try:
            with conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA synchronous=FULL")


class LazyConnection:
    """A connection taken from the pool only when a statement is executed: reads answered
    from the writer's in-memory index and chunk cache then cost no pool checkout."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def execute(self, *args, **kwargs):
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn.execute(*args, **kwargs)

    def __enter__(self) -> LazyConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class WriterLock:
    """Makes sure one process at a time writes a store (the head lives in that process).

    SQLite: an exclusive ``flock`` on ``<db>.lock``. PostgreSQL: a session advisory lock held
    on a dedicated connection. Both are released by the OS or the server if the process dies.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = url
        self._file: IO[bytes] | None = None
        self._conn = None

    def acquire(self) -> None:
        path = sqlite_path(self._url)
        if self._engine.dialect.name == "sqlite":
            if path is None:
                return  # in-memory database: private to this process anyway
            handle = open(f"{path}.lock", "ab")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise StoreError(
                    f"{path} is already opened for writing by another process"
                ) from None
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            self._file = handle
            return
        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            conn.close()
            raise StoreError("the store database is already opened for writing by another process")
        self._conn = conn

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            self._conn.close()  # ends the session, which releases the advisory lock
            self._conn = None
