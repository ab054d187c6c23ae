"""The in-memory head: samples not yet written as chunks, and each series' open chunk.

Pure bookkeeping, no I/O. The store asks the head to *screen* a batch (ordering, duplicates,
age), makes the accepted samples durable in the WAL, and only then *commits* them here.

The head is columnar so that a scrape-shaped batch (one sample for each of many series) costs a
few numpy operations rather than Python work per sample:

- the newest timestamp and value bits of every series live in arrays indexed by series id;
- committed batches are kept as they came; they are grouped by series only when a reader
  needs them (once per head change) or when a flush cuts them into chunks;
- the newest partial chunk of a series stays open: it is persisted, kept here, and re-encoded
  with the next flush's samples, so chunks end up full-sized however often the store flushes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from collector.store.chunks import encode
from collector.store.interfaces import RejectReason

__all__ = ["ChunkRow", "Head", "SeriesFlush"]

NO_TIME = -(2**63)


@dataclass(frozen=True)
class ChunkRow:
    min_time: int
    max_time: int
    num_samples: int
    data: bytes


@dataclass(frozen=True)
class SeriesFlush:
    """The rows to write for one series, the open-chunk row they replace (if any), and the
    samples that stay open afterwards (empty when the last row is a closed chunk)."""

    series_id: int
    replaces_max_time: int | None
    rows: list[ChunkRow]
    open_timestamps: np.ndarray
    open_values: np.ndarray


@dataclass(frozen=True)
class _OpenChunk:
    timestamps: np.ndarray
    values: np.ndarray

    @property
    def key(self) -> int:
        return int(self.timestamps[-1])


def _group_bounds(sorted_ids: np.ndarray) -> tuple[list[int], list[int]]:
    bounds = np.flatnonzero(np.diff(sorted_ids)) + 1
    starts = np.concatenate(([0], bounds)).astype(np.int64)
    ends = np.concatenate((bounds, [len(sorted_ids)])).astype(np.int64)
    return starts.tolist(), ends.tolist()


class Head:
    """Recent samples of every series, keyed by series id."""

    def __init__(
        self,
        chunk_samples: int,
        max_span_ms: int,
        last_value: Callable[[int], bytes | None] = lambda _sid: None,
    ) -> None:
        self._chunk_samples = chunk_samples
        self._max_span_ms = max_span_ms
        self._last_value = last_value  # a stored series' newest value bits, for duplicates
        self._last_ts = np.full(1024, NO_TIME, dtype=np.int64)
        self._last_bits = np.zeros(1024, dtype=np.uint64)
        self._bits_known = np.zeros(1024, dtype=bool)
        self._batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._grouped: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # Readers' view of the unflushed samples, per series, built from the batches
        # committed since the last read only: a reader after each small append (rules
        # reading what the rule before them wrote) costs that append, not the whole head.
        self._tails: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._tails_upto = 0  # batches already in ``_tails``
        self._open: dict[int, _OpenChunk] = {}
        self.min_valid_time = NO_TIME
        self.unflushed = 0

    def _reserve(self, max_sid: int) -> None:
        size = len(self._last_ts)
        if max_sid < size:
            return
        grow = max(max_sid + 1, 2 * size) - size
        self._last_ts = np.concatenate((self._last_ts, np.full(grow, NO_TIME, dtype=np.int64)))
        self._last_bits = np.concatenate((self._last_bits, np.zeros(grow, dtype=np.uint64)))
        self._bits_known = np.concatenate((self._bits_known, np.zeros(grow, dtype=bool)))

    def seed_last_timestamps(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Tell the head each series' newest stored timestamp (read from chunks at open)."""
        for sid, last_ts in pairs:
            self._reserve(sid)
            self._last_ts[sid] = last_ts

    def series_ids(self) -> set[int]:
        """Series with samples held here (unflushed or in an open chunk)."""
        live = set(self._open)
        for sids, _, _ in self._batches:
            live.update(np.unique(sids).tolist())
        return live

    # -- screening and committing -------------------------------------------------------

    def screen(
        self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, int, Counter[RejectReason]]:
        """Decide sample by sample, in order, which samples may be appended.

        Returns the mask of acceptable samples, the number of exact duplicates (same
        timestamp and value as the series' newest sample: ignored, as Prometheus does) and
        the rejections by reason. Nothing is changed.
        """
        if len(sids) == 0:
            return np.zeros(0, dtype=bool), 0, Counter()
        self._reserve(int(sids.max()))
        if len(np.unique(sids)) != len(sids):
            return self._screen_in_order(sids, ts, vals)
        bits = vals.astype(np.float64, copy=False).view(np.uint64)
        last = self._last_ts[sids]
        newer = ts > last
        accept = newer & (ts >= self.min_valid_time)
        rejected: Counter[RejectReason] = Counter()
        rejected[RejectReason.TOO_OLD] = int(np.count_nonzero(newer & ~accept))
        rejected[RejectReason.OUT_OF_ORDER] = int(np.count_nonzero(ts < last))
        duplicates = 0
        for i in np.flatnonzero(ts == last).tolist():
            if self._same_as_newest(int(sids[i]), bits[i]):
                duplicates += 1
            else:
                rejected[RejectReason.DUPLICATE_TIMESTAMP] += 1
        return accept, duplicates, +rejected

    def _same_as_newest(self, sid: int, bits: np.uint64) -> bool:
        if self._bits_known[sid]:
            return bool(self._last_bits[sid] == bits)
        stored = self._last_value(sid)
        return stored is not None and stored == bits.tobytes()

    def _screen_in_order(
        self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, int, Counter[RejectReason]]:
        accept = np.zeros(len(ts), dtype=bool)
        rejected: Counter[RejectReason] = Counter()
        duplicates = 0
        bits = vals.astype(np.float64, copy=False).view(np.uint64)
        newest: dict[int, int] = {}  # series id -> index of its newest accepted sample
        for i, (sid, t) in enumerate(zip(sids.tolist(), ts.tolist(), strict=True)):
            prev = newest.get(sid)
            last_ts = int(self._last_ts[sid]) if prev is None else int(ts[prev])
            if t > last_ts:
                if t < self.min_valid_time:
                    rejected[RejectReason.TOO_OLD] += 1
                else:
                    accept[i] = True
                    newest[sid] = i
            elif t < last_ts:
                rejected[RejectReason.OUT_OF_ORDER] += 1
            else:
                if prev is not None:
                    same = bool(bits[prev] == bits[i])
                else:
                    same = self._same_as_newest(sid, bits[i])
                if same:
                    duplicates += 1
                else:
                    rejected[RejectReason.DUPLICATE_TIMESTAMP] += 1
        return accept, duplicates, rejected

    def screen_series(
        self, sid: int, ts: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, int, Counter[RejectReason]]:
        """:meth:`screen` for many samples of one series; vectorised when they are ordered."""
        self._reserve(sid)
        if (
            len(ts)
            and ts[0] > self._last_ts[sid]
            and ts[0] >= self.min_valid_time
            and np.all(np.diff(ts) > 0)
        ):
            return np.ones(len(ts), dtype=bool), 0, Counter()
        return self.screen(np.full(len(ts), sid, dtype=np.int64), ts, vals)

    def commit(self, sids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        """Add screened, durable samples. Samples of one series must be in time order."""
        if len(sids) == 0:
            return
        sids = np.array(sids, dtype=np.int64)
        ts = np.array(ts, dtype=np.int64)
        vals = np.array(vals, dtype=np.float64)
        self._reserve(int(sids.max()))
        order = np.argsort(sids, kind="stable")
        ordered = sids[order]
        # Index of each series' newest sample in the batch: the last of its group.
        newest = order[np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))]
        self._last_ts[sids[newest]] = ts[newest]
        self._last_bits[sids[newest]] = vals[newest].view(np.uint64)
        self._bits_known[sids[newest]] = True
        self._batches.append((sids, ts, vals))
        self._grouped = None
        self.unflushed += len(sids)

    # -- reading --------------------------------------------------------------------------

    def _group(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unflushed samples ordered by series (time order kept within a series)."""
        if self._grouped is None:
            if not self._batches:
                empty = np.zeros(0, dtype=np.int64)
                self._grouped = (empty, empty, np.zeros(0, dtype=np.float64))
            else:
                sids = np.concatenate([b[0] for b in self._batches])
                order = np.argsort(sids, kind="stable")
                ts = np.concatenate([b[1] for b in self._batches])[order]
                vals = np.concatenate([b[2] for b in self._batches])[order]
                self._grouped = (sids[order], ts, vals)
        return self._grouped

    def tails(self, sids: Iterable[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Copies of the unflushed samples of ``sids`` (series without any are left out)."""
        self._index_new_batches()
        out = {}
        for sid in sids:
            parts = self._tails.get(sid)
            if not parts:
                continue
            if len(parts) > 1:  # compact, so the next reader concatenates nothing
                parts[:] = [
                    (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
                ]
            ts, vals = parts[0]
            out[sid] = (ts.copy(), vals.copy())
        return out

    def _index_new_batches(self) -> None:
        for sids, ts, vals in self._batches[self._tails_upto :]:
            order = np.argsort(sids, kind="stable")
            ordered = sids[order]
            starts, ends = _group_bounds(ordered)
            for start, end, sid in zip(starts, ends, ordered[starts].tolist(), strict=True):
                rows = order[start:end]
                self._tails.setdefault(sid, []).append((ts[rows], vals[rows]))
        self._tails_upto = len(self._batches)

    # -- flushing -------------------------------------------------------------------------

    def plan_flush(self) -> list[SeriesFlush]:
        """Encode every series' unwritten samples into chunk rows (the head changes only in
        :meth:`flushed`, once the rows are committed)."""
        grouped_sids, ts, vals = self._group()
        if not len(grouped_sids):
            return []
        plans = []
        starts, ends = _group_bounds(grouped_sids)
        for start, end in zip(starts, ends, strict=True):
            sid = int(grouped_sids[start])
            new_ts, new_vals = ts[start:end], vals[start:end]
            open_chunk = self._open.get(sid)
            if open_chunk is not None:
                new_ts = np.concatenate((open_chunk.timestamps, new_ts))
                new_vals = np.concatenate((open_chunk.values, new_vals))
            plans.append(self._plan_series(sid, open_chunk, new_ts, new_vals))
        return plans

    def _plan_series(
        self, sid: int, open_chunk: _OpenChunk | None, ts: np.ndarray, vals: np.ndarray
    ) -> SeriesFlush:
        rows = []
        start, n = 0, len(ts)
        while start < n:
            end = min(start + self._chunk_samples, n)
            span_end = int(np.searchsorted(ts, ts[start] + self._max_span_ms))
            end = max(start + 1, min(end, span_end))
            data = encode(ts[start:end], vals[start:end])
            rows.append(ChunkRow(int(ts[start]), int(ts[end - 1]), end - start, data))
            last_start, start = start, end
        last = rows[-1]
        still_open = (
            last.num_samples < self._chunk_samples
            and last.max_time - last.min_time < self._max_span_ms
        )
        keep = slice(last_start, n) if still_open else slice(n, n)
        replaces = None if open_chunk is None else open_chunk.key
        return SeriesFlush(sid, replaces, rows, ts[keep].copy(), vals[keep].copy())

    def flushed(self, plans: list[SeriesFlush]) -> None:
        """The planned rows are committed: keep only each series' still-open chunk."""
        for plan in plans:
            if len(plan.open_timestamps):
                self._open[plan.series_id] = _OpenChunk(plan.open_timestamps, plan.open_values)
            else:
                self._open.pop(plan.series_id, None)
        self._batches.clear()
        self._grouped = None
        self._tails.clear()
        self._tails_upto = 0
        self.unflushed = 0

    def close_idle(self, now_ms: int) -> None:
        """Stop keeping open chunks begun ``max_span`` ago (series that went quiet).

        The row stays as it is, a short closed chunk; a series' next samples start a new one.
        """
        expired = [
            sid
            for sid, chunk in self._open.items()
            if now_ms - int(chunk.timestamps[0]) >= self._max_span_ms
        ]
        for sid in expired:
            del self._open[sid]

    def forget(self, sids: Iterable[int]) -> None:
        """Drop series deleted by retention."""
        for sid in sids:
            self._open.pop(sid, None)
