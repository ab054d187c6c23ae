"""The time-series store on SQLite or PostgreSQL (:class:`SqlStore`).

Write path: resolve series ids -> screen samples (ordering, duplicates, age) -> one
transaction that creates new series and inserts the batch as WAL rows -> commit (now durable)
-> samples join the in-memory head. Every ``wal_flush_samples`` samples the head is cut into
compressed chunk rows and the WAL is emptied, in one transaction.

Read path: resolve matchers through the postings index, copy the head's unwritten samples for
the selected series, then read and decode the chunk rows overlapping the range.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, bindparam, delete, func, insert, select

from collector.model import Labels
from collector.store import schema
from collector.store.chunk_cache import ChunkCache
from collector.store.chunk_reads import ChunkDirectory, read_chunks
from collector.store.chunks import decode
from collector.store.engine import (
    LazyConnection,
    WriterLock,
    create_store_engine,
    write_transaction,
)
from collector.store.head import Head
from collector.store.index import SeriesIndex, batched
from collector.store.interfaces import AppendResult, RejectReason, SeriesData, StoreError
from collector.store.matchers import Matcher
from collector.store.retention import RetentionResult, delete_expired
from collector.store.stats import StoreStats, gather_stats
from collector.store.wal import decode_batch, write_wal

__all__ = ["SqlStore", "StoreOptions"]


@dataclass(frozen=True)
class StoreOptions:
    """Tuning knobs; the defaults are the ``storage.*`` defaults of ``sloscope.yml``."""

    chunk_samples: int = 480
    head_max_span_ms: int = 2 * 3600 * 1000
    wal_flush_samples: int = 200_000
    chunk_cache_bytes: int = 256 * 1024 * 1024  # decoded chunks kept for repeated reads

    def __post_init__(self) -> None:
        if not 16 <= self.chunk_samples <= 8192:
            raise ValueError(f"chunk_samples must be within 16..8192, got {self.chunk_samples}")
        if self.head_max_span_ms <= 0 or self.wal_flush_samples < 1:
            raise ValueError("head_max_span_ms and wal_flush_samples must be positive")


class SqlStore:
    """An embedded time-series store behind SQLAlchemy Core.

    One process writes a store at a time (enforced with a lock); any number may read.

    >>> store = SqlStore("sqlite:///:memory:")
    >>> store.open()
    >>> store.append([(Labels.of({"__name__": "up", "job": "api"}), 1000, 1.0)]).appended
    1
    >>> [d.values.tolist() for d in store.select([Matcher.equal("job", "api")], 0, 2000)]
    [[1.0]]
    >>> store.close()
    """

    def __init__(self, url: str, options: StoreOptions | None = None) -> None:
        self.url = url
        self.options = options or StoreOptions()
        self._engine = None
        # Writers (append, flush, retention) take turns; the head lock is held only while the
        # head changes or a reader copies from it, so readers never wait for a commit.
        self._write_lock = threading.RLock()
        self._head_lock = threading.Lock()
        self._index = SeriesIndex()
        self._head = Head(
            self.options.chunk_samples, self.options.head_max_span_ms, self._stored_last_value
        )
        self._writer_lock: WriterLock | None = None
        self._chunk_cache = ChunkCache(self.options.chunk_cache_bytes)
        # Set while this process holds the writer lock: then no one else adds series or
        # chunks, and reads may answer from what the process knows instead of asking SQL.
        self._directory: ChunkDirectory | None = None
        self.rejected: Counter[RejectReason] = Counter()

    # -- life cycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Connect, create the schema if needed, take the writer lock and replay the WAL."""
        self._engine = create_store_engine(self.url)
        self._writer_lock = WriterLock(self._engine, self.url)
        try:
            self._writer_lock.acquire()
            schema.metadata.create_all(self._engine)
            with self._engine.begin() as conn:
                self._check_schema_version(conn)
                self._load_head(conn)
            self._directory = ChunkDirectory()
        except BaseException:
            self._writer_lock.release()
            self._engine.dispose()
            self._engine = None
            raise

    def _load_head(self, conn: Connection) -> None:
        c = schema.chunks.c
        last = conn.execute(select(c.series_id, func.max(c.max_time)).group_by(c.series_id))
        self._head.seed_last_timestamps((int(s), int(t)) for s, t in last)
        cut = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == "min_valid_time")
        ).scalar()
        if cut is not None:
            self._head.min_valid_time = int(cut)
        for row in conn.execute(select(schema.wal.c.data).order_by(schema.wal.c.id)):
            sids, ts, vals = decode_batch(row.data)
            accept, _, _ = self._head.screen(sids, ts, vals)
            self._head.commit(sids[accept], ts[accept], vals[accept])

    def _check_schema_version(self, conn: Connection) -> None:
        m = schema.meta
        found = conn.execute(select(m.c.value).where(m.c.key == "schema_version")).scalar()
        if found is None:
            conn.execute(insert(m).values(key="schema_version", value=str(schema.SCHEMA_VERSION)))
        elif int(found) != schema.SCHEMA_VERSION:
            raise StoreError(
                f"store schema version {found} is not {schema.SCHEMA_VERSION} (this release)"
            )

    def close(self) -> None:
        """Flush the head into chunks and release the database."""
        if self._engine is None:
            return
        with self._write_lock:
            self.flush()
            self._directory = None
            if self._writer_lock is not None:
                self._writer_lock.release()
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> SqlStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self):
        if self._engine is None:
            raise StoreError("the store is not open")
        return self._engine

    # -- writing ------------------------------------------------------------------------

    def append(
        self, samples: Sequence[tuple[Labels, int, float]], *, sync: bool = True
    ) -> AppendResult:
        """Append samples of any series; returns once they are durable.

        ``sync=False`` returns once they would survive a crash of the process but not yet
        one of the machine (the commit does not wait for the disk), for derived data such
        as rule results that is cheap to lose in a power cut and costly to fsync often.

        Samples of one series must come in time order. A sample older than its series'
        newest is rejected (``out_of_order``), one at the same time with another value too
        (``duplicate_sample_for_timestamp``); an exact repeat is ignored.
        """
        if not samples:
            return AppendResult(0, 0, {})
        labels, ts_column, vals_column = zip(*samples, strict=True)
        ts = np.array(ts_column, dtype=np.int64)
        vals = np.array(vals_column, dtype=np.float64)
        with self._write_lock:
            with write_transaction(self.engine, sync=sync) as conn:
                sids = np.array(self._index.ids_for(conn, labels), dtype=np.int64)
                accept, duplicates, rejected = self._head.screen(sids, ts, vals)
                write_wal(conn, sids[accept], ts[accept], vals[accept])
            self._index.committed()
            return self._committed(sids[accept], ts[accept], vals[accept], duplicates, rejected)

    def append_series(
        self, labels: Labels, timestamps: np.ndarray, values: np.ndarray
    ) -> AppendResult:
        """Append many samples of one series (bulk import); returns once they are durable."""
        ts = np.asarray(timestamps, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        if len(ts) != len(vals):
            raise ValueError("timestamps and values differ in length")
        with self._write_lock:
            with self.engine.begin() as conn:
                sid = self._index.get_or_create(conn, labels)
                accept, duplicates, rejected = self._head.screen_series(sid, ts, vals)
                sids = np.full(int(accept.sum()), sid, dtype=np.int64)
                write_wal(conn, sids, ts[accept], vals[accept])
            self._index.committed()
            return self._committed(sids, ts[accept], vals[accept], duplicates, rejected)

    def _committed(self, sids, ts, vals, duplicates, rejected) -> AppendResult:
        with self._head_lock:
            self._head.commit(sids, ts, vals)
        self.rejected.update(rejected)
        if self._head.unflushed >= self.options.wal_flush_samples:
            self.flush()
        return AppendResult(len(sids), duplicates, dict(rejected))

    def flush(self) -> int:
        """Cut the head's unwritten samples into chunk rows and empty the WAL.

        Returns the number of chunk rows written.
        """
        with self._write_lock:
            plans = self._head.plan_flush()
            c = schema.chunks.c
            replace = delete(schema.chunks).where(
                c.series_id == bindparam("sid"), c.max_time == bindparam("old")
            )
            with self.engine.begin() as conn:
                stale = [
                    {"sid": p.series_id, "old": p.replaces_max_time}
                    for p in plans
                    if p.replaces_max_time is not None
                ]
                if stale:
                    conn.execute(replace, stale)
                rows = [
                    {
                        "series_id": p.series_id,
                        "min_time": r.min_time,
                        "max_time": r.max_time,
                        "num_samples": r.num_samples,
                        "data": r.data,
                    }
                    for p in plans
                    for r in p.rows
                ]
                if rows:
                    conn.execute(schema.chunks.insert(), rows)
                conn.execute(delete(schema.wal))
            if self._directory is not None:
                self._directory.flushed(
                    (p.series_id, p.replaces_max_time, [(r.min_time, r.max_time) for r in p.rows])
                    for p in plans
                )
            with self._head_lock:
                self._head.flushed(plans)
            if self.engine.dialect.name == "sqlite":
                self._give_back_free_pages()
            return len(rows)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(select(1)).scalar()

    def _give_back_free_pages(self) -> None:
        with self.engine.connect() as conn:
            # executescript steps the pragma to the end; execute() would free a single page.
            conn.connection.driver_connection.executescript("PRAGMA incremental_vacuum;")

    def _stored_last_value(self, sid: int) -> bytes | None:
        c = schema.chunks.c
        with self.engine.connect() as conn:
            data = conn.execute(
                select(c.data).where(c.series_id == sid).order_by(c.max_time.desc()).limit(1)
            ).scalar()
        return None if data is None else decode(data)[1][-1:].tobytes()

    # -- reading ------------------------------------------------------------------------

    def select(self, matchers: Sequence[Matcher], start: int, end: int) -> list[SeriesData]:
        """Every series matching ``matchers`` with its samples in [start, end], by labels."""
        with LazyConnection(self.engine) as conn:
            if self._directory is not None:
                sids = self._index.select_ids_cached(conn, matchers)
            else:
                sids = self._index.select_ids(conn, matchers)
            labels = self._index.labels_of(conn, sids)
            with self._head_lock:
                tails = self._head.tails(sids)
            stored = read_chunks(conn, sids, start, end, self._chunk_cache, self._directory)
        out = []
        for sid in sids:
            parts = stored.get(sid, [])
            tail = tails.get(sid)
            if tail is not None:
                # Chunks written after the tail was copied hold these samples again.
                first = tail[0][0]
                parts = [
                    p if p[0][-1] < first else (p[0][p[0] < first], p[1][p[0] < first])
                    for p in parts
                ]
                parts.append(tail)
            if not parts:
                continue
            ts = np.concatenate([p[0] for p in parts])
            vals = np.concatenate([p[1] for p in parts])
            lo = int(np.searchsorted(ts, start, side="left"))  # samples are in time order
            hi = int(np.searchsorted(ts, end, side="right"))
            if lo < hi:
                out.append(SeriesData(labels[sid], ts[lo:hi], vals[lo:hi]))
        return sorted(out, key=lambda d: d.labels)

    def series(
        self, matchers: Sequence[Matcher], start: int | None = None, end: int | None = None
    ) -> list[Labels]:
        """Label sets of the matching series; with a time range, those with data in it.

        Like Prometheus (which answers from whole blocks), "data in the range" is judged by
        chunk: a series counts when one of its chunks overlaps [start, end], without decoding.
        """
        with self.engine.connect() as conn:
            sids = self._index.select_ids(conn, matchers)
            if start is not None or end is not None:
                lo = -(2**63) if start is None else start
                hi = 2**63 - 1 if end is None else end
                sids = self._with_data(conn, sids, lo, hi)
            return sorted(self._index.labels_of(conn, sids).values())

    def _with_data(self, conn: Connection, sids: list[int], start: int, end: int) -> list[int]:
        with self._head_lock:
            tails = self._head.tails(sids)
        keep = {
            sid for sid, (ts, _) in tails.items() if len(ts) and ts[0] <= end and ts[-1] >= start
        }
        c = schema.chunks.c
        query = (
            select(c.series_id)
            .distinct()
            .where(
                c.series_id.in_(bindparam("ids", expanding=True)),
                c.max_time >= start,
                c.min_time <= end,
            )
        )
        for batch in batched(sids):
            keep.update(int(i) for i in conn.execute(query, {"ids": batch}).scalars())
        return sorted(keep)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        if matchers:
            return sorted({name for labels in self.series(matchers) for name, _ in labels})
        lv = schema.label_values.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(lv.name).distinct().order_by(lv.name)).scalars())

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        if matchers:
            values = {labels.get(name) for labels in self.series(matchers)}
            return sorted(v for v in values if v)
        lv = schema.label_values.c
        with self.engine.connect() as conn:
            query = select(lv.value).where(lv.name == name).order_by(lv.value)
            return list(conn.execute(query).scalars())

    # -- maintenance --------------------------------------------------------------------

    def apply_retention(self, now_ms: int, retention_ms: int) -> RetentionResult:
        """Delete data older than ``now_ms - retention_ms``; later appends older than that
        cut are rejected as ``too_old`` so nothing re-enters an expired range."""
        if retention_ms <= 0:
            raise ValueError("retention must be positive")
        cut = now_ms - retention_ms
        with self._write_lock:
            with self._head_lock:
                self._head.close_idle(now_ms)
            with self.engine.begin() as conn:
                result = delete_expired(conn, cut, self._head.series_ids())
            with self._head_lock:
                self._head.min_valid_time = max(self._head.min_valid_time, cut)
                self._head.forget(result.series_deleted)
            self._index.forget(result.series_deleted)
            if self._directory is not None:
                self._directory.clear()
        return result

    def stats(self) -> StoreStats:
        """Series, samples and bytes on disk (see :func:`collector.store.stats.gather`)."""
        with self._head_lock:
            unflushed = self._head.unflushed
        with self.engine.connect() as conn:
            return gather_stats(conn, self.url, unflushed, dict(self.rejected))
