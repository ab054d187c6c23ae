"""Rate limits of the RUM receiver: token buckets per (app, client IP)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Token buckets keyed by (app, client IP), LRU-bounded: an evicted client comes back with
    a full bucket, a little leniency for memory that cannot grow."""

    def __init__(self, clock: Callable[[], float], max_buckets: int = 10_000) -> None:
        self._clock = clock
        self.max_buckets = max_buckets
        self._lock = threading.Lock()
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def take(self, key: tuple[str, str], rate: float, burst: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - last) * rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate if rate > 0 else math.inf
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_buckets:
                self._buckets.popitem(last=False)
            return wait
