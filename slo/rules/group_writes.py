"""One group evaluation's results, visible to the group's later rules before they are stored.

Prometheus commits each rule's samples before the next rule runs, so a rule can read what
the rule before it recorded (an SLO's period ratio reads the 5m rates recorded just before
it). Committing to the store is a durable write (an fsync on SQLite), and one per rule is
most of an evaluation's cost. :class:`GroupWrites` keeps a group's samples in memory while
its rules run, lays them over the store for the rules' queries, and hands them over in one
batch at the end of the group, which the evaluator appends at once. While the group runs,
a selector read over several windows is read once from the store, over the widest.

Samples the store would refuse are not shown either: an older or same-time sample of a
series that already has one pending (the store keeps the first of two rules writing one
series), or one not newer than the stored newest sample of its series.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from collector.model import Labels
from collector.store.interfaces import Querier, SeriesData
from collector.store.matchers import Matcher

__all__ = ["GroupWrites"]

Sample = tuple[Labels, int, float]


class GroupWrites:
    """A :class:`Querier`: ``base`` plus the samples :meth:`add`-ed since :meth:`take`."""

    def __init__(self, base: Querier) -> None:
        self.base = base
        self._pending: dict[Labels, list[tuple[int, float]]] = {}
        self._batch: list[Sample] = []
        # The rules of a group read the same series over several windows (an SLO's error
        # ratio over 5m ... 3d): one read of the widest range, sliced for the others. The
        # widest range of each selector is learnt from the evaluations before.
        self._reads: dict[tuple[Matcher, ...], tuple[int, int, list[SeriesData]]] = {}
        self._spans: dict[tuple[Matcher, ...], int] = {}

    def add(self, samples: Sequence[Sample]) -> None:
        """Samples of one rule, in the order it would have appended them."""
        for labels, ts, value in samples:
            series = self._pending.setdefault(labels, [])
            if not series or ts > series[-1][0]:
                series.append((ts, value))
        self._batch.extend(samples)

    def take(self) -> list[Sample]:
        """Everything added since the last call, in order; the overlay is emptied."""
        batch, self._batch = self._batch, []
        self._pending = {}
        self._reads = {}
        return batch

    def _read(self, matchers: Sequence[Matcher], start: int, end: int) -> list[SeriesData]:
        key = tuple(matchers)
        cached = self._reads.get(key)
        if cached is not None and cached[0] <= start and end <= cached[1]:
            return _sliced(cached[2], start, end)
        span = max(self._spans.get(key, 0), end - start)
        self._spans[key] = span
        first = min(start, end - span)
        found = self.base.select(matchers, first, end)
        self._reads[key] = (first, end, found)
        return found if first == start else _sliced(found, start, end)

    def select(self, matchers: Sequence[Matcher], start: int, end: int) -> list[SeriesData]:
        found = self._read(matchers, start, end)
        extra = {
            labels: [(t, v) for t, v in self._pending[labels] if start <= t <= end]
            for labels in self._matching(matchers)
        }
        extra = {labels: samples for labels, samples in extra.items() if samples}
        if not extra:
            return found
        merged = []
        for data in found:
            samples = extra.pop(data.labels, None)
            if samples is not None:
                newest = data.timestamps[-1] if len(data.timestamps) else None
                samples = [(t, v) for t, v in samples if newest is None or t > newest]
                data = _with_samples(data, samples)
            merged.append(data)
        merged.extend(
            _with_samples(SeriesData(labels, _NO_TS, _NO_VALUES), samples)
            for labels, samples in extra.items()
        )
        return sorted(merged, key=lambda d: d.labels)

    def series(
        self, matchers: Sequence[Matcher], start: int | None = None, end: int | None = None
    ) -> list[Labels]:
        found = set(self.base.series(matchers, start, end))
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        found.update(
            labels
            for labels in self._matching(matchers)
            if any(lo <= t <= hi for t, _ in self._pending[labels])
        )
        return sorted(found)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        names = set(self.base.label_names(matchers))
        names.update(name for labels in self._matching(matchers) for name, _ in labels)
        return sorted(names)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        values = set(self.base.label_values(name, matchers))
        values.update(labels.get(name) or "" for labels in self._matching(matchers))
        return sorted(values - {""})

    def _matching(self, matchers: Sequence[Matcher]) -> list[Labels]:
        return [
            labels
            for labels in self._pending
            if all(m.matches(labels.get(m.name) or "") for m in matchers)
        ]


_NO_TS = np.zeros(0, dtype=np.int64)
_NO_VALUES = np.zeros(0, dtype=np.float64)


def _sliced(found: list[SeriesData], start: int, end: int) -> list[SeriesData]:
    out = []
    for data in found:
        lo = int(np.searchsorted(data.timestamps, start, side="left"))
        hi = int(np.searchsorted(data.timestamps, end, side="right"))
        if lo < hi:
            out.append(SeriesData(data.labels, data.timestamps[lo:hi], data.values[lo:hi]))
    return out


def _with_samples(data: SeriesData, samples: list[tuple[int, float]]) -> SeriesData:
    if not samples:
        return data
    ts = np.array([t for t, _ in samples], dtype=np.int64)
    values = np.array([v for _, v in samples], dtype=np.float64)
    return SeriesData(
        data.labels, np.concatenate((data.timestamps, ts)), np.concatenate((data.values, values))
    )
