"""Turning DELTA temporality points into the cumulative values Prometheus expects.

A delta point says "this much happened between ``start_time_unix_nano`` and
``time_unix_nano``". Prometheus counters and histograms are running totals, so the receiver
keeps one running total per series and adds each delta to it.

Reset handling, by the point's window against the last window seen for the series:

* ``time <= last time``: a retry or a reordered point; it is rejected rather than counted
  twice (reason ``delta_out_of_order``).
* ``start < last time`` (windows overlap): the producer restarted or another producer
  writes the same series; the total restarts from this delta, which PromQL's ``rate()``
  sees as an ordinary counter reset.
* otherwise (contiguous windows, or a gap after lost points) the delta is added. A lost
  point is not recovered: the total is lower than the truth by what it carried.

The state is bounded (``max_series``); beyond it the least recently updated series is
forgotten and its next delta starts a new total, again an ordinary counter reset. The
state lives in memory: after a collector restart every delta series resets once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

__all__ = ["DeltaAccumulator"]


class DeltaAccumulator:
    """Thread-safe running totals for delta series, one receiver-wide instance.

    >>> acc = DeltaAccumulator()
    >>> acc.add("k", 0, 10, [2.0]), acc.add("k", 10, 20, [3.0]), acc.add("k", 10, 20, [3.0])
    ([2.0], [5.0], None)
    """

    def __init__(self, max_series: int = 100_000) -> None:
        if max_series < 1:
            raise ValueError(f"max_series must be positive, got {max_series}")
        self.max_series = max_series
        self.evicted = 0  # series forgotten because the state was full
        self._lock = threading.Lock()
        self._state: OrderedDict[Hashable, tuple[int, list[float]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._state)

    def add(
        self, key: Hashable, start_ns: int, time_ns: int, deltas: Sequence[float]
    ) -> list[float] | None:
        """Add one delta point to the series ``key``; the new totals, or None when the
        point is not newer than the last one (see the module docstring)."""
        with self._lock:
            previous = self._state.get(key)
            if previous is not None:
                last_ns, totals = previous
                if time_ns <= last_ns:
                    return None
                if start_ns >= last_ns or start_ns == 0:
                    if len(totals) == len(deltas):
                        deltas = [a + b for a, b in zip(totals, deltas, strict=True)]
                self._state.move_to_end(key)
            result = list(deltas)
            self._state[key] = (time_ns, result)
            while len(self._state) > self.max_series:
                self._state.popitem(last=False)
                self.evicted += 1
            return list(result)
