"""Reading chunk rows for a time range, through the decoded-chunk cache.

A reader that is not the store's writer asks the database which chunk rows overlap the range
(one query per 500 series) and decodes those the cache lacks. The writer knows every chunk row
it wrote: :class:`ChunkDirectory` keeps each series' row keys in memory, so a repeated read
(a rule evaluated every minute, a dashboard refreshing) finds its chunks without asking the
database at all, and fetches the data of only the rows the cache lacks.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, bindparam, select

from collector.store import schema
from collector.store.chunk_cache import ChunkCache
from collector.store.chunks import decode
from collector.store.index import batched

__all__ = ["ChunkDirectory", "read_chunks"]

Samples = tuple[np.ndarray, np.ndarray]
#: Reads of this many rows of one series are cached concatenated (see :func:`_assemble`).
ASSEMBLE_FROM = 16


class ChunkDirectory:
    """Every chunk row of the series read so far: ``max_time -> min_time`` per series id.

    Only for the process that writes the store: it is told of every row it adds
    (:meth:`flushed`) and every deletion (:meth:`clear`). Series are loaded from the
    database on first use, under the lock the flush's update also takes, so a load either
    sees a flush's commit or is corrected by its update.
    """

    def __init__(self) -> None:
        self._rows: dict[int, dict[int, int]] = {}
        self._sorted: dict[int, tuple[list[int], list[int]]] = {}  # per series, built on use
        self._lock = threading.Lock()

    def overlapping(
        self, conn: Connection, sids: Sequence[int], start: int, end: int
    ) -> dict[int, list[int]]:
        """The ``max_time`` keys of each series' rows overlapping [start, end], ascending."""
        with self._lock:
            unknown = [sid for sid in sids if sid not in self._rows]
            if unknown:
                self._load(conn, unknown)
            return {sid: self._keys(sid, start, end) for sid in sids}

    def _keys(self, sid: int, start: int, end: int) -> list[int]:
        ordered = self._sorted.get(sid)
        if ordered is None:  # rows (sorted by max_time) and their min_times
            rows = sorted(self._rows[sid].items())
            ordered = self._sorted[sid] = ([hi for hi, _ in rows], [lo for _, lo in rows])
        highs, lows = ordered
        # Rows do not overlap, so min_time is ascending too.
        return highs[bisect.bisect_left(highs, start) : bisect.bisect_right(lows, end)]

    def _load(self, conn: Connection, sids: list[int]) -> None:
        c = schema.chunks.c
        query = select(c.series_id, c.max_time, c.min_time).where(
            c.series_id.in_(bindparam("ids", expanding=True))
        )
        for sid in sids:
            self._rows[sid] = {}
        for batch in batched(sids):
            for row in conn.execute(query, {"ids": batch}):
                self._rows[int(row.series_id)][int(row.max_time)] = int(row.min_time)

    def flushed(self, changes: Iterable[tuple[int, int | None, list[tuple[int, int]]]]) -> None:
        """Rows a committed flush wrote: (series id, replaced max_time, [(min, max)...])."""
        with self._lock:
            for sid, replaced, rows in changes:
                known = self._rows.get(sid)
                if known is None:
                    continue  # loaded from the database when first read
                self._sorted.pop(sid, None)
                if replaced is not None:
                    known.pop(replaced, None)
                for lo, hi in rows:
                    known[hi] = lo

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._sorted.clear()


def read_chunks(
    conn: Connection,
    sids: list[int],
    start: int,
    end: int,
    cache: ChunkCache,
    directory: ChunkDirectory | None,
) -> dict[int, list[Samples]]:
    """Decoded samples of the chunk rows of ``sids`` overlapping [start, end], per series in
    time order (whole chunks: the caller trims them to the range)."""
    if directory is None:
        return _read_by_query(conn, sids, start, end, cache)
    keys = directory.overlapping(conn, sids, start, end)
    found: dict[int, list[Samples]] = {}
    gathered: dict[int, list[Samples | None]] = {}  # row by row
    missing: list[tuple[int, int]] = []
    for sid, max_times in keys.items():
        if not max_times:
            continue
        if len(max_times) >= ASSEMBLE_FROM:
            assembled = cache.get((sid, max_times[0], max_times[-1]))
            if assembled is not None:
                found[sid] = [assembled]
                continue
        parts = gathered[sid] = [cache.get((sid, max_time)) for max_time in max_times]
        missing.extend((sid, hi) for hi, part in zip(max_times, parts, strict=True) if part is None)
    # Rows read to be assembled are cached only assembled: both copies would not fit as well.
    assembled_sids = {sid for sid, parts in gathered.items() if len(parts) >= ASSEMBLE_FROM}
    fetched = _fetch(conn, missing, cache, assembled_sids) if missing else {}
    if len(fetched) < len(missing):
        # A flush replaced a row between the directory lookup and the fetch.
        return _read_by_query(conn, sids, start, end, cache)
    for sid, parts in gathered.items():
        rows = [
            fetched[(sid, hi)] if part is None else part
            for hi, part in zip(keys[sid], parts, strict=True)
        ]
        if sid in assembled_sids:
            found[sid] = [_assemble(cache, sid, keys[sid], rows)]
        else:
            found[sid] = rows
    return {sid: found[sid] for sid in sids if sid in found}  # in the order asked


def _assemble(cache: ChunkCache, sid: int, max_times: list[int], parts: list[Samples]) -> Samples:
    """Many rows read together (a 30-day range) are kept concatenated, under the key of
    their first and last row: the next read of the same rows is one cache lookup."""
    ts = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    cache.put((sid, max_times[0], max_times[-1]), (ts, vals))
    return ts, vals


def _fetch(
    conn: Connection, keys: list[tuple[int, int]], cache: ChunkCache, uncached: set[int]
) -> dict[tuple[int, int], Samples]:
    """Decode and cache the rows ``keys`` name: per series, one indexed range scan between
    its first and last missing row (a row-value ``IN`` would scan the whole table)."""
    c = schema.chunks.c
    query = select(c.max_time, c.data).where(
        c.series_id == bindparam("sid"),
        c.max_time >= bindparam("lo"),
        c.max_time <= bindparam("hi"),
    )
    by_series: dict[int, set[int]] = {}
    for sid, max_time in keys:
        by_series.setdefault(sid, set()).add(max_time)
    out = {}
    for sid, wanted in by_series.items():
        for row in conn.execute(query, {"sid": sid, "lo": min(wanted), "hi": max(wanted)}):
            if int(row.max_time) in wanted:
                key = (sid, int(row.max_time))
                out[key] = decode(row.data)
                if sid not in uncached:
                    cache.put(key, out[key])
    return out


def _read_by_query(
    conn: Connection, sids: list[int], start: int, end: int, cache: ChunkCache
) -> dict[int, list[Samples]]:
    c = schema.chunks.c
    query = (
        select(c.series_id, c.max_time, c.data)
        .where(
            c.series_id.in_(bindparam("ids", expanding=True)),
            c.max_time >= start,
            c.min_time <= end,
        )
        .order_by(c.series_id, c.max_time)
    )
    found: dict[int, list[Samples]] = {}
    for batch in batched(sids):
        for row in conn.execute(query, {"ids": batch}):
            key = (int(row.series_id), int(row.max_time))
            samples = cache.get(key)
            if samples is None:
                samples = decode(row.data)
                cache.put(key, samples)
            found.setdefault(key[0], []).append(samples)
    return found
