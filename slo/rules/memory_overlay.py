"""A store view that takes writes in memory over a read-only store (for replays).

:class:`MemoryOverlay` reads through to a base :class:`Querier` and keeps what is appended to
it in memory, so a backtest's recording rules can feed later rules without touching the
store. Series whose metric name is *shadowed* (the names the replayed rules record, and
``ALERTS``) are hidden in the base: the replay sees only what the rules under test produce,
not what an older version of them stored.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

import numpy as np

from collector.model import Labels, is_stale_nan
from collector.store.interfaces import AppendResult, Querier, RejectReason, SeriesData
from collector.store.matchers import Matcher

__all__ = ["MemoryOverlay"]


class _MemorySeries:
    __slots__ = ("timestamps", "values")

    def __init__(self) -> None:
        self.timestamps: list[int] = []
        self.values: list[float] = []


class MemoryOverlay:
    """A :class:`Querier` and :class:`~collector.store.interfaces.Appender` in one."""

    def __init__(self, base: Querier, shadowed_names: Iterable[str] = ()) -> None:
        self.base = base
        self.shadowed = frozenset(shadowed_names)
        self._series: dict[Labels, _MemorySeries] = {}

    # -- writing -------------------------------------------------------------------------

    def append(self, samples: Sequence[tuple[Labels, int, float]]) -> AppendResult:
        """Keep samples in memory; out-of-order ones are rejected as the store would."""
        appended = duplicates = 0
        rejected: dict[RejectReason, int] = {}
        for labels, ts, value in samples:
            series = self._series.setdefault(labels, _MemorySeries())
            if series.timestamps and ts <= series.timestamps[-1]:
                if ts == series.timestamps[-1] and _same(value, series.values[-1]):
                    duplicates += 1
                    continue
                reason = (
                    RejectReason.DUPLICATE_TIMESTAMP
                    if ts == series.timestamps[-1]
                    else RejectReason.OUT_OF_ORDER
                )
                rejected[reason] = rejected.get(reason, 0) + 1
                continue
            series.timestamps.append(int(ts))
            series.values.append(float(value))
            appended += 1
        return AppendResult(appended, duplicates, rejected)

    def append_series(
        self, labels: Labels, timestamps: np.ndarray, values: np.ndarray
    ) -> AppendResult:
        pairs = zip(timestamps, values, strict=True)
        return self.append([(labels, int(t), float(v)) for t, v in pairs])

    # -- reading -------------------------------------------------------------------------

    def select(self, matchers: Sequence[Matcher], start: int, end: int) -> list[SeriesData]:
        found = {
            data.labels: data
            for data in self.base.select(matchers, start, end)
            if data.labels.metric_name not in self.shadowed
        }
        for labels, series in self._series.items():
            if not _matches(labels, matchers):
                continue
            lo = bisect.bisect_left(series.timestamps, start)
            hi = bisect.bisect_right(series.timestamps, end)
            if lo < hi:
                found[labels] = SeriesData(
                    labels,
                    np.array(series.timestamps[lo:hi], dtype=np.int64),
                    np.array(series.values[lo:hi], dtype=np.float64),
                )
        return sorted(found.values(), key=lambda d: d.labels)

    def series(
        self, matchers: Sequence[Matcher], start: int | None = None, end: int | None = None
    ) -> list[Labels]:
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        return [data.labels for data in self.select(matchers, lo, hi)]

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        names = set(self.base.label_names(matchers))
        for labels in self._series:
            if _matches(labels, matchers):
                names.update(name for name, _ in labels)
        return sorted(names)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        values = set(self.base.label_values(name, matchers))
        for labels in self._series:
            if _matches(labels, matchers) and labels.get(name):
                values.add(labels.get(name))
        return sorted(values)


def _matches(labels: Labels, matchers: Sequence[Matcher]) -> bool:
    return all(m.matches(labels.get(m.name)) for m in matchers)


def _same(a: float, b: float) -> bool:
    if is_stale_nan(a) or is_stale_nan(b):
        return is_stale_nan(a) and is_stale_nan(b)
    return a == b or (a != a and b != b)
