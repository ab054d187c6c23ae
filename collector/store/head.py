"""The in-memory head: each series' open chunk and its samples not yet written as chunks.

Pure bookkeeping, no I/O. The store decides *whether* samples are acceptable here (ordering,
duplicates, age), makes them durable in the WAL, and only then commits them to the head. At a
flush, the head plans the chunk rows to write: full chunks are closed and leave memory, the
newest partial chunk stays open (persisted, and re-encoded with the next flush's samples) so
chunks end up full-sized however often the store flushes.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from collector.store.chunks import encode
from collector.store.interfaces import RejectReason

__all__ = ["ChunkRow", "Head", "SeriesFlush"]

_NO_TIME = -(2**63)


@dataclass(frozen=True)
class ChunkRow:
    min_time: int
    max_time: int
    num_samples: int
    data: bytes


@dataclass(frozen=True)
class SeriesFlush:
    """The rows to write for one series, and the open-chunk row they replace (if any)."""

    series_id: int
    replaces_max_time: int | None
    rows: list[ChunkRow]


class _SeriesHead:
    __slots__ = ("ts", "vals", "flushed", "open_key", "last_ts", "last_bits")

    def __init__(self, last_ts: int) -> None:
        self.ts = array("q")
        self.vals = array("d")
        self.flushed = 0  # leading samples of ts/vals already stored in the open chunk row
        self.open_key: int | None = None  # max_time of that row
        self.last_ts = last_ts
        self.last_bits: bytes | None = None


class Head:
    """Per-series buffers of recent samples, keyed by series id."""

    def __init__(
        self,
        chunk_samples: int,
        max_span_ms: int,
        last_value: Callable[[int], bytes | None] = lambda _sid: None,
    ) -> None:
        self._chunk_samples = chunk_samples
        self._max_span_ms = max_span_ms
        self._last_value = last_value  # bits of a series' newest stored value, for duplicates
        self._series: dict[int, _SeriesHead] = {}
        self.min_valid_time = _NO_TIME
        self.unflushed = 0

    def seed_last_timestamps(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Tell the head each series' newest stored timestamp (read from chunks at open)."""
        for sid, last_ts in pairs:
            self._series.setdefault(sid, _SeriesHead(last_ts)).last_ts = last_ts

    def series_ids(self) -> set[int]:
        return {sid for sid, h in self._series.items() if len(h.ts)}

    def screen(
        self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, int, Counter[RejectReason]]:
        """Decide sample by sample, in order, which samples may be appended.

        Returns the mask of acceptable samples, the number of exact duplicates (same
        timestamp and value as the series' newest sample: ignored, as Prometheus does) and
        the rejections by reason. Nothing is changed.
        """
        accept = np.zeros(len(ts), dtype=bool)
        rejected: Counter[RejectReason] = Counter()
        duplicates = 0
        raw = vals.astype(np.float64, copy=False).view(np.uint64)
        # Newest accepted sample per series within this batch: (timestamp, index in batch).
        newest: dict[int, tuple[int, int]] = {}
        series = self._series
        min_valid = self.min_valid_time
        for i, (sid, t) in enumerate(zip(sids.tolist(), ts.tolist(), strict=True)):
            prev = newest.get(sid)
            if prev is not None:
                last_ts = prev[0]
            else:
                h = series.get(sid)
                last_ts = _NO_TIME if h is None else (h.ts[-1] if len(h.ts) else h.last_ts)
            if t > last_ts:
                if t < min_valid:
                    rejected[RejectReason.TOO_OLD] += 1
                    continue
                accept[i] = True
                newest[sid] = (t, i)
                continue
            if t < last_ts:
                rejected[RejectReason.OUT_OF_ORDER] += 1
                continue
            last_bits = raw[prev[1]].tobytes() if prev is not None else self._newest(sid)[1]
            if last_bits is None:
                last_bits = self._last_value(sid)
            if last_bits == raw[i].tobytes():
                duplicates += 1
            else:
                rejected[RejectReason.DUPLICATE_TIMESTAMP] += 1
        return accept, duplicates, rejected

    def screen_series(
        self, sid: int, ts: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, int, Counter[RejectReason]]:
        """:meth:`screen` for many samples of one series; vectorised when they are ordered."""
        last_ts, _ = self._newest(sid)
        if len(ts) and ts[0] > last_ts and ts[0] >= self.min_valid_time and np.all(np.diff(ts) > 0):
            return np.ones(len(ts), dtype=bool), 0, Counter()
        return self.screen(np.full(len(ts), sid, dtype=np.int64), ts, vals)

    def _newest(self, sid: int) -> tuple[int, bytes | None]:
        h = self._series.get(sid)
        if h is None:
            return _NO_TIME, None
        if len(h.ts):
            return h.ts[-1], h.vals[-1:].tobytes()
        return h.last_ts, h.last_bits

    def commit(self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        """Add screened, durable samples. Samples of one series must be in time order."""
        vals = vals.astype(np.float64, copy=False)
        if len(sids) == 0:
            return
        if len(np.unique(sids)) == len(sids):
            # One sample per series (a scrape): plain appends beat slicing per series.
            for sid, t, v in zip(sids.tolist(), ts.tolist(), vals.tolist(), strict=True):
                h = self._series.get(sid)
                if h is None:
                    h = self._series[sid] = _SeriesHead(_NO_TIME)
                h.ts.append(t)
                h.vals.append(v)  # float objects carry the 64 bits unchanged, NaN payloads too
                h.last_ts = t
        else:
            self._commit_grouped(sids, ts, vals)
        self.unflushed += len(sids)

    def _commit_grouped(self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        order = np.argsort(sids, kind="stable")
        sids, ts, vals = sids[order], ts[order], vals[order]
        bounds = np.flatnonzero(np.diff(sids)) + 1
        starts = np.concatenate(([0], bounds)).tolist()
        ends = np.concatenate((bounds, [len(sids)])).tolist()
        for start, end in zip(starts, ends, strict=True):
            sid = int(sids[start])
            h = self._series.get(sid)
            if h is None:
                h = self._series[sid] = _SeriesHead(_NO_TIME)
            h.ts.frombytes(ts[start:end].tobytes())
            h.vals.frombytes(vals[start:end].tobytes())
            h.last_ts = h.ts[-1]

    def tail(self, sid: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Copies of the series' samples that no chunk row holds yet (None if there are none)."""
        h = self._series.get(sid)
        if h is None or len(h.ts) == h.flushed:
            return None
        ts = np.frombuffer(h.ts, dtype=np.int64)[h.flushed :].copy()
        vals = np.frombuffer(h.vals, dtype=np.float64)[h.flushed :].copy()
        return ts, vals

    def plan_flush(self) -> list[SeriesFlush]:
        """Encode every series' unwritten samples into chunk rows (state changes only in
        :meth:`flushed`, once the rows are committed)."""
        plans = []
        for sid, h in self._series.items():
            if len(h.ts) > h.flushed:
                plans.append(SeriesFlush(sid, h.open_key, self._encode(h)))
        return plans

    def _encode(self, h: _SeriesHead) -> list[ChunkRow]:
        ts = np.frombuffer(h.ts, dtype=np.int64)
        vals = np.frombuffer(h.vals, dtype=np.float64)
        rows = []
        start, n = 0, len(ts)
        while start < n:
            end = min(start + self._chunk_samples, n)
            end = max(start + 1, min(end, int(np.searchsorted(ts, ts[start] + self._max_span_ms))))
            t, v = ts[start:end], vals[start:end]
            rows.append(ChunkRow(int(t[0]), int(t[-1]), end - start, encode(t, v)))
            start = end
        return rows

    def flushed(self, plans: list[SeriesFlush]) -> None:
        """The planned rows are committed: keep only each series' still-open chunk."""
        for plan in plans:
            h = self._series[plan.series_id]
            last = plan.rows[-1]
            still_open = (
                last.num_samples < self._chunk_samples
                and last.max_time - last.min_time < self._max_span_ms
            )
            h.last_bits = h.vals[-1:].tobytes()
            keep = last.num_samples if still_open else 0
            del h.ts[: len(h.ts) - keep]
            del h.vals[: len(h.vals) - keep]
            h.flushed = keep
            h.open_key = last.max_time if still_open else None
        self.unflushed = 0

    def close_idle(self, now_ms: int) -> None:
        """Stop keeping open chunks that received nothing for ``max_span`` (series gone quiet)."""
        for h in self._series.values():
            if h.open_key is not None and len(h.ts) == h.flushed:
                if now_ms - h.ts[0] >= self._max_span_ms:
                    h.last_bits = h.vals[-1:].tobytes()
                    del h.ts[:], h.vals[:]
                    h.flushed, h.open_key = 0, None

    def forget(self, sids: Iterable[int]) -> None:
        """Drop series deleted by retention."""
        for sid in sids:
            self._series.pop(sid, None)
