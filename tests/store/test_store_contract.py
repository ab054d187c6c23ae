"""The store's contract, run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from collector.model import STALE_NAN, STALE_NAN_BITS, Labels
from collector.store.interfaces import RejectReason, StoreError
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore, StoreOptions

UP = Labels.of({"__name__": "up", "job": "api"})
T0 = 1_700_000_000_000
STEP = 15_000


def values_of(store, labels=UP, start=0, end=2**62):
    found = store.select([Matcher.equal(k, v) for k, v in labels], start, end)
    assert [d.labels for d in found] in ([], [labels])
    if not found:
        return [], []
    return found[0].timestamps.tolist(), found[0].values.tolist()


def test_append_then_select_within_inclusive_range(open_store):
    store = open_store()
    for i in range(10):
        assert store.append([(UP, T0 + i * STEP, float(i))]).appended == 1
    ts, vals = values_of(store, start=T0 + 2 * STEP, end=T0 + 5 * STEP)
    assert ts == [T0 + i * STEP for i in range(2, 6)]
    assert vals == [2.0, 3.0, 4.0, 5.0]


def test_samples_survive_flushes_without_loss_or_duplicates(open_store):
    store = open_store(chunk_samples=16, wal_flush_samples=7)
    other = Labels.of({"__name__": "up", "job": "web"})
    for i in range(100):
        store.append([(UP, T0 + i * STEP, float(i)), (other, T0 + i * STEP, -float(i))])
    ts, vals = values_of(store)
    assert ts == [T0 + i * STEP for i in range(100)]
    assert vals == [float(i) for i in range(100)]
    store.flush()
    stats = store.stats()
    assert stats.samples == 200
    # 100 samples per series in chunks of at most 16: 6 full chunks and one of 4, per series.
    assert stats.chunks == 14


def test_chunks_are_cut_at_the_head_span(open_store):
    store = open_store(chunk_samples=480, head_max_span_ms=10 * STEP)
    ts = T0 + np.arange(35) * STEP
    store.append_series(UP, ts, np.arange(35.0))
    assert store.flush() == 4  # 10 + 10 + 10 + 5 samples
    assert values_of(store)[0] == ts.tolist()


def test_stale_marker_is_kept_bit_exact_in_head_and_in_chunks(open_store):
    store = open_store()
    store.append([(UP, T0, 1.0), (UP, T0 + STEP, STALE_NAN), (UP, T0 + 2 * STEP, float("nan"))])
    head = store.select([Matcher.equal("job", "api")], 0, 2**62)[0].values
    store.flush()
    stored = store.select([Matcher.equal("job", "api")], 0, 2**62)[0].values
    for got in (head, stored):
        bits = got.view(np.uint64).tolist()
        assert bits[1] == STALE_NAN_BITS
        assert bits[2] != STALE_NAN_BITS and np.isnan(got[2])


def test_out_of_order_and_duplicate_samples(open_store):
    store = open_store()
    store.append([(UP, T0 + STEP, 1.0)])
    result = store.append([(UP, T0, 0.5), (UP, T0 + STEP, 1.0), (UP, T0 + STEP, 2.0)])
    assert result.appended == 0
    assert result.duplicates == 1
    assert result.rejected == {
        RejectReason.OUT_OF_ORDER: 1,
        RejectReason.DUPLICATE_TIMESTAMP: 1,
    }
    assert store.rejected[RejectReason.OUT_OF_ORDER] == 1
    assert values_of(store) == ([T0 + STEP], [1.0])


def test_out_of_order_within_one_batch_is_judged_in_order(open_store):
    store = open_store()
    result = store.append([(UP, T0 + 2 * STEP, 2.0), (UP, T0, 0.0), (UP, T0 + 3 * STEP, 3.0)])
    assert (result.appended, result.rejected) == (2, {RejectReason.OUT_OF_ORDER: 1})
    assert values_of(store)[0] == [T0 + 2 * STEP, T0 + 3 * STEP]


def test_bulk_append_rejects_unordered_samples_individually(open_store):
    store = open_store()
    result = store.append_series(UP, np.array([3, 1, 4, 4, 5]) * STEP, np.ones(5))
    assert result.appended == 3
    assert result.duplicates == 1
    assert result.rejected == {RejectReason.OUT_OF_ORDER: 1}


def test_ordering_is_enforced_across_reopen(store_url):
    with SqlStore(store_url) as store:
        store.append([(UP, T0, 7.0), (UP, T0 + STEP, 8.0)])
    with SqlStore(store_url) as store:
        result = store.append([(UP, T0, 1.0), (UP, T0 + STEP, 8.0), (UP, T0 + STEP, 9.0)])
        assert result.rejected == {
            RejectReason.OUT_OF_ORDER: 1,
            RejectReason.DUPLICATE_TIMESTAMP: 1,
        }
        assert result.duplicates == 1
        assert values_of(store) == ([T0, T0 + STEP], [7.0, 8.0])


def test_unflushed_wal_is_replayed_on_open(store_url):
    store = SqlStore(store_url, StoreOptions(wal_flush_samples=10**6))
    store.open()
    store.append([(UP, T0, 1.0), (UP, T0 + STEP, STALE_NAN)])
    # Simulate a crash: drop the process' hold on the database without flushing.
    store._writer_lock.release()
    store._engine.dispose()
    with SqlStore(store_url) as reopened:
        ts, vals = values_of(reopened)
        assert ts == [T0, T0 + STEP]
        assert np.array(vals).view(np.uint64)[1] == STALE_NAN_BITS


def test_a_second_writer_is_refused(open_store, store_url):
    open_store()
    with pytest.raises(StoreError, match="already opened for writing"):
        SqlStore(store_url).open()


def test_label_names_and_values(open_store):
    store = open_store()
    store.append(
        [
            (UP, T0, 1.0),
            (Labels.of({"__name__": "up", "job": "web", "zone": "b"}), T0, 1.0),
            (Labels.of({"__name__": "build_info", "version": "1.2"}), T0, 1.0),
        ]
    )
    assert store.label_names() == ["__name__", "job", "version", "zone"]
    assert store.label_values("job") == ["api", "web"]
    assert store.label_values("__name__", [Matcher.equal("job", "web")]) == ["up"]
    assert store.label_names([Matcher.equal("job", "api")]) == ["__name__", "job"]


def test_series_with_time_range_only_lists_series_with_samples_there(open_store):
    store = open_store()
    web = Labels.of({"__name__": "up", "job": "web"})
    store.append([(UP, T0, 1.0), (web, T0 + 10 * STEP, 1.0)])
    up = [Matcher.equal("__name__", "up")]
    assert store.series(up) == [UP, web]
    assert store.series(up, T0, T0 + STEP) == [UP]


def test_readers_see_consistent_data_while_a_writer_flushes(open_store):
    store = open_store(chunk_samples=16, wal_flush_samples=5)
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        seen = 0
        while not done.is_set():
            ts, _ = values_of(store)
            if ts != sorted(set(ts)) or len(ts) < seen:
                problems.append(f"bad read: {len(ts)} samples after {seen}")
            seen = len(ts)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            store.append([(UP, T0 + i * STEP, float(i))])
    finally:
        done.set()
        reader.join()
    assert problems == []
    assert len(values_of(store)[0]) == 300
