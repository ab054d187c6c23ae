"""Retention deletes whole chunks older than the cut and never a sample inside the period."""

from __future__ import annotations

import numpy as np

from collector.model import Labels
from collector.store.interfaces import RejectReason
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore

OLD = Labels.of({"__name__": "old_metric", "job": "gone"})
LIVE = Labels.of({"__name__": "live_metric", "job": "api"})
MIN = 60_000
DAY = 24 * 60 * MIN


def timestamps(store, labels):
    found = store.select([Matcher.equal(k, v) for k, v in labels], -(2**62), 2**62)
    return found[0].timestamps.tolist() if found else []


def test_chunk_straddling_the_cut_is_kept_whole(open_store):
    store = open_store(chunk_samples=16)
    ts = np.arange(32) * MIN  # two chunks: [0, 15] and [16, 31] minutes
    store.append_series(LIVE, ts, np.ones(32))
    store.flush()
    result = store.apply_retention(now_ms=20 * MIN + DAY, retention_ms=DAY)
    assert result.chunks_deleted == 1
    assert timestamps(store, LIVE) == ts[16:].tolist()  # 16..19 min are before the cut: kept


def test_chunk_ending_exactly_at_the_cut_is_kept(open_store):
    store = open_store(chunk_samples=16)
    store.append_series(LIVE, np.arange(16) * MIN, np.ones(16))
    store.flush()
    cut = 15 * MIN
    assert store.apply_retention(now_ms=cut + DAY, retention_ms=DAY).chunks_deleted == 0
    assert store.apply_retention(now_ms=cut + 1 + DAY, retention_ms=DAY).chunks_deleted == 1


def test_expired_series_and_their_label_values_disappear(open_store):
    store = open_store()
    store.append_series(OLD, np.arange(10) * MIN, np.ones(10))
    store.append_series(LIVE, np.arange(10) * MIN + 5 * DAY, np.ones(10))
    store.flush()
    result = store.apply_retention(now_ms=6 * DAY, retention_ms=2 * DAY)
    assert len(result.series_deleted) == 1
    assert timestamps(store, OLD) == []
    assert store.label_values("job") == ["api"]
    assert store.series([Matcher.regex("__name__", ".+")]) == [LIVE]
    assert store.stats().series == 1


def test_series_with_samples_only_in_the_head_is_not_deleted(open_store):
    store = open_store()
    store.append([(LIVE, 10 * DAY, 1.0)])  # in the WAL and head, no chunk yet
    store.apply_retention(now_ms=10 * DAY, retention_ms=DAY)
    assert timestamps(store, LIVE) == [10 * DAY]


def test_appends_older_than_the_cut_are_rejected_even_after_reopen(store_url):
    with SqlStore(store_url) as store:
        store.append([(LIVE, 10 * DAY, 1.0)])
        store.apply_retention(now_ms=10 * DAY, retention_ms=DAY)
        result = store.append([(OLD, 8 * DAY, 1.0), (OLD, 9 * DAY + 1, 2.0)])
        assert result.rejected == {RejectReason.TOO_OLD: 1}
    with SqlStore(store_url) as store:
        fresh = Labels.of({"__name__": "fresh_metric"})
        assert store.append([(fresh, 9 * DAY - 1, 1.0)]).rejected == {RejectReason.TOO_OLD: 1}
        assert timestamps(store, OLD) == [9 * DAY + 1]
