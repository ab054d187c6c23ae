"""The decoded-chunk cache is bounded, evicts least recently used, and hands out frozen data."""

from __future__ import annotations

import numpy as np
import pytest

from collector.store.chunk_cache import ChunkCache


def chunk(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n, dtype=np.int64), np.ones(n)


def test_evicts_least_recently_used_beyond_the_byte_budget():
    cache = ChunkCache(max_bytes=3 * 160)  # three chunks of 10 samples (16 bytes each)
    for key in range(3):
        cache.put((1, key), chunk(10))
    assert cache.get((1, 0)) is not None  # now the most recently used
    cache.put((1, 3), chunk(10))
    assert cache.get((1, 1)) is None
    assert cache.get((1, 0)) is not None and cache.get((1, 3)) is not None
    assert cache.size_bytes == 3 * 160


def test_too_large_entries_are_not_kept():
    cache = ChunkCache(max_bytes=100)
    cache.put((1, 1), chunk(100))
    assert cache.get((1, 1)) is None and cache.size_bytes == 0


def test_cached_arrays_cannot_be_modified():
    cache = ChunkCache(max_bytes=10_000)
    cache.put((1, 1), chunk(5))
    ts, _ = cache.get((1, 1))
    with pytest.raises(ValueError):
        ts[0] = 7


def test_store_reads_the_same_samples_cold_and_warm(open_store):
    from collector.model import Labels
    from collector.store.matchers import Matcher

    store = open_store(chunk_samples=16)
    store.append_series(Labels.of({"__name__": "m"}), np.arange(100) * 1000, np.arange(100.0))
    store.flush()
    reads = [store.select([Matcher.equal("__name__", "m")], 10_500, 80_000) for _ in range(2)]
    for found in reads:
        assert found[0].timestamps.tolist() == list(range(11_000, 80_001, 1000))
