"""A bounded LRU cache of decoded chunks, so dashboards re-reading the same range decode once.

Keys are (series id, chunk max_time). A chunk row never changes under its key: the open chunk
is re-written under a new max_time, so an entry can only become unreachable, never wrong.
Runs of consecutive rows read together are cached concatenated too, under (series id, first
max_time, last max_time), which is just as immutable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["ChunkCache"]


class ChunkCache:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[int, ...], value: tuple[np.ndarray, np.ndarray]) -> None:
        size = value[0].nbytes + value[1].nbytes
        if size > self._max_bytes:
            return
        # Readers get the arrays themselves: make sure nobody can change a cached chunk.
        value[0].flags.writeable = False
        value[1].flags.writeable = False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes + old[1].nbytes
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted[0].nbytes + evicted[1].nbytes

    @property
    def size_bytes(self) -> int:
        return self._bytes
