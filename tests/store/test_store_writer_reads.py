"""The writer's fast read path: chunk directory, assembled runs, matcher memo, unsynced commits.

Every read must equal what was appended, whether the answer comes from the database, from
the writer's in-memory directory and caches, or from a reader that is not the writer; and
caches must follow new series, flushes that replace the open chunk, and retention.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.model import Labels
from collector.store.chunk_reads import ASSEMBLE_FROM
from collector.store.engine import write_transaction
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore, StoreOptions
from sloscope.server.rules_backtest_command import ReadOnlySqlStore

MINUTE = 60_000


def series(name: str, **labels: str) -> Labels:
    return Labels.of({"__name__": name, **labels})


def samples_of(store, matchers, start, end) -> dict[str, list[tuple[int, float]]]:
    return {
        str(d.labels): list(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
        for d in store.select(matchers, start, end)
    }


def expected(appended: dict[Labels, list[tuple[int, float]]], start: int, end: int):
    out = {}
    for labels, pairs in sorted(appended.items()):
        inside = [(t, v) for t, v in pairs if start <= t <= end]
        if inside:
            out[str(labels)] = inside
    return out


def test_long_reads_come_back_whole_after_flushes_replace_the_open_chunk(open_store):
    store = open_store(chunk_samples=16, wal_flush_samples=40, chunk_cache_bytes=64 * 1024)
    labels = series("rate", slo="a")
    appended: dict[Labels, list[tuple[int, float]]] = {labels: []}
    for minute in range(1, 700):
        store.append([(labels, minute * MINUTE, float(minute))])
        appended[labels].append((minute * MINUTE, float(minute)))
        if minute % 97 == 0:  # read often: the directory and cache must follow every flush
            for start in (0, (minute - 30) * MINUTE, (minute - 400) * MINUTE):
                got = samples_of(store, [Matcher.equal("slo", "a")], start, minute * MINUTE)
                assert got == expected(appended, start, minute * MINUTE)
    # Enough rows for an assembled run, read twice: the second read is from the cache.
    rows = 699 // 16
    assert rows >= ASSEMBLE_FROM
    for _ in range(2):
        got = samples_of(store, [Matcher.equal("slo", "a")], 0, 700 * MINUTE)
        assert got == expected(appended, 0, 700 * MINUTE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 40), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    window=st.tuples(st.integers(0, 1200), st.integers(0, 1200)),
)
def test_the_writer_reads_what_a_plain_reader_reads(tmp_path_factory, steps, window):
    url = f"sqlite:///{tmp_path_factory.mktemp('w')}/store.db"
    store = SqlStore(url, StoreOptions(chunk_samples=16, chunk_cache_bytes=32 * 1024))
    store.open()
    try:
        appended: dict[Labels, list[tuple[int, float]]] = {}
        clock = 0
        for name, count, flush in steps:
            labels = series("m", job=name)
            pairs = [(clock + i * 1000, float(clock + i)) for i in range(1, count + 1)]
            clock += count * 1000
            store.append_series(
                labels, np.array([t for t, _ in pairs]), np.array([v for _, v in pairs])
            )
            appended.setdefault(labels, []).extend(pairs)
            if flush:
                store.flush()
            start, end = sorted(w * 1000 for w in window)
            matchers = [Matcher.regex("job", "a|b|c")]
            assert samples_of(store, matchers, start, end) == expected(appended, start, end)
        store.flush()
        reader = ReadOnlySqlStore(url)
        reader.open()
        try:
            everything = [Matcher.equal("__name__", "m")]
            assert samples_of(reader, everything, 0, 10**9) == samples_of(
                store, everything, 0, 10**9
            )
        finally:
            reader.close()
    finally:
        store.close()


def test_remembered_matchers_see_series_created_later(open_store):
    store = open_store()
    store.append([(series("up", job="api", instance="1"), MINUTE, 1.0)])
    by_job = [Matcher.equal("job", "api")]
    assert list(samples_of(store, by_job, 0, 10 * MINUTE)) == ['up{instance="1", job="api"}']
    store.append([(series("up", job="web", instance="1"), 2 * MINUTE, 1.0)])  # not selected
    store.append([(series("up", job="api", instance="2"), 2 * MINUTE, 1.0)])
    assert list(samples_of(store, by_job, 0, 10 * MINUTE)) == [
        'up{instance="1", job="api"}',
        'up{instance="2", job="api"}',
    ]
    assert list(samples_of(store, [Matcher.regex("instance", "1")], 0, 10 * MINUTE)) == [
        'up{instance="1", job="api"}',
        'up{instance="1", job="web"}',
    ]


def test_retention_drops_what_the_writer_remembered(open_store):
    store = open_store(chunk_samples=16)
    old, new = series("m", age="old"), series("m", age="new")
    store.append_series(old, np.arange(1, 100) * MINUTE, np.ones(99))
    store.append_series(new, np.arange(1, 400) * MINUTE, np.ones(399))
    store.flush()
    everything = [Matcher.equal("__name__", "m")]
    assert set(samples_of(store, everything, 0, 400 * MINUTE)) == {'m{age="old"}', 'm{age="new"}'}
    result = store.apply_retention(400 * MINUTE, 200 * MINUTE)
    assert result.series_deleted
    got = samples_of(store, everything, 0, 400 * MINUTE)
    assert list(got) == ['m{age="new"}']
    assert got['m{age="new"}'][0][0] >= 200 * MINUTE - 16 * MINUTE  # whole chunks remain


def test_an_unsynced_commit_is_stored_and_later_commits_wait_for_the_disk_again(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    store = SqlStore(url)
    store.open()
    labels = series("job:up:sum", job="api")
    assert store.append([(labels, MINUTE, 1.0)], sync=False).appended == 1
    with write_transaction(store.engine, sync=False) as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL again
    store.close()
    reopened = SqlStore(url)
    reopened.open()
    try:
        assert samples_of(reopened, [Matcher.equal("job", "api")], 0, 2 * MINUTE) == {
            'job:up:sum{job="api"}': [(MINUTE, 1.0)]
        }
    finally:
        reopened.close()


@pytest.mark.postgres
def test_an_unsynced_commit_on_postgresql_is_stored(pg_database):
    store = SqlStore(pg_database())
    store.open()
    try:
        labels = series("job:up:sum", job="api")
        store.append([(labels, MINUTE, 1.0)], sync=False)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        assert samples_of(store, [Matcher.equal("job", "api")], 0, 2 * MINUTE) == {
            'job:up:sum{job="api"}': [(MINUTE, 1.0)]
        }
    finally:
        store.close()
