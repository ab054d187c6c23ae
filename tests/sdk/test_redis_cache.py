"""MultiLevelCache and the redis-py integration, against real Redis servers.

The shared server (``redis_url``) holds keys under this test's ``redis_prefix``; the outage
test starts and stops a private ``redis-server`` of its own. Time is an injected clock, and
threads are coordinated with barriers and events, never sleeps.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import sloscope
from sloscope.cache import MultiLevelCache
from sloscope.integrations.redis import _Instruments, instrument_redis
from tests.sdk.conftest import finished_spans, sample

WAIT = 10  # seconds; only a bound on waiting for an event that should come at once


class Clock:
    """Injected wall clock: tests move time forward by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def requests(client, cache: str, level: str, result: str) -> float:
    labels = {"cache": cache, "level": level, "result": result}
    return sample(client, "cache_requests_total", labels) or 0.0


def errors(client, cache: str, level: str, reason: str) -> float:
    labels = {"cache": cache, "level": level, "reason": reason}
    return sample(client, "cache_errors_total", labels) or 0.0


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield conn
    conn.close()


@pytest.fixture
def make_cache(redis_conn, redis_prefix) -> Iterator[Callable[..., MultiLevelCache]]:
    """Caches on the shared server under this test's prefix, closed at teardown."""
    made: list[MultiLevelCache] = []

    def make(name: str = "users", **kwargs: Any) -> MultiLevelCache:
        kwargs.setdefault("redis", redis_conn)
        cache = MultiLevelCache(name, key_prefix=redis_prefix, **kwargs)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close(timeout=WAIT)


def test_hit_and_miss_counts_per_level_after_a_known_access_pattern(client, make_cache):
    clock, calls = Clock(), []

    def loader(key: str) -> dict[str, str]:
        calls.append(key)
        return {"id": key}

    cache = make_cache(clock=clock)
    assert cache.get_or_load("1", loader) == {"id": "1"}  # l1 miss, l2 miss, loader
    assert cache.get_or_load("1", loader) == {"id": "1"}  # l1 hit
    assert cache.get("2") is None  # l1 miss, l2 miss, never loads
    fresh_process = make_cache(clock=clock)  # same name and prefix, empty L1
    assert fresh_process.get_or_load("1", loader) == {"id": "1"}  # l1 miss, l2 hit

    assert calls == ["1"]
    counts = {
        (level, result): requests(client, "users", level, result)
        for level in ("l1", "l2", "loader")
        for result in ("hit", "miss")
    }
    assert counts == {
        ("l1", "hit"): 1,
        ("l1", "miss"): 3,
        ("l2", "hit"): 1,
        ("l2", "miss"): 2,
        ("loader", "hit"): 1,
        ("loader", "miss"): 0,
    }
    assert sample(client, "cache_load_duration_seconds_count", {"cache": "users"}) == 1
    assert sample(client, "cache_l1_entries", {"cache": "users"}) == 1


def test_loader_exceptions_reach_the_caller_and_are_counted(client, make_cache):
    cache = make_cache()

    def broken(key: str) -> None:
        raise LookupError(key)

    with pytest.raises(LookupError):
        cache.get_or_load("gone", broken)
    assert requests(client, "users", "loader", "miss") == 1
    assert errors(client, "users", "loader", "LookupError") == 1
    with pytest.raises(ValueError, match="needs a loader"):
        cache.get_or_load("gone")


def test_ttl_expiry_follows_the_injected_clock_in_both_levels(client, make_cache, redis_conn):
    clock = Clock()
    cache = make_cache(clock=clock, ttl=10)
    cache.set("k", "v")
    clock.advance(9.999)
    assert cache.get("k") == "v"
    assert make_cache(clock=clock, ttl=10).get("k") == "v"  # from L2
    clock.advance(0.001)
    # Redis still holds the key (its PX runs on real time); the stored deadline says expired.
    assert redis_conn.exists(cache.key_prefix + "k") == 1
    assert cache.get("k") is None
    assert cache.get_or_load("k", lambda key: "v2") == "v2"
    assert requests(client, "users", "l1", "miss") == 3
    assert requests(client, "users", "l2", "miss") == 2


def test_l1_is_a_bounded_lru(client):
    cache = MultiLevelCache("lru", redis=None, max_entries=3)
    for key in "abc":
        cache.set(key, key.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.set("d", "D")  # evicts b, the least recently used
    assert [cache.get(key) for key in "abcd"] == ["A", None, "C", "D"]
    assert sample(client, "cache_l1_entries", {"cache": "lru"}) == 3
    assert requests(client, "lru", "l1", "miss") == 1


def test_set_writes_through_and_delete_removes_from_both_levels(client, make_cache, redis_conn):
    cache = make_cache(ttl=30, stale_ttl=5)
    cache.set("k", {"n": 1})
    stored = redis_conn.get(cache.key_prefix + "k")
    assert stored.endswith(b'\n{"n":1}')  # deadline header, then the JSON codec's bytes
    assert 0 < redis_conn.pttl(cache.key_prefix + "k") <= 35_000
    assert cache.get("k") == {"n": 1}
    assert requests(client, "users", "l1", "hit") == 1

    cache.delete("k")
    assert redis_conn.exists(cache.key_prefix + "k") == 0
    assert cache.get("k") is None
    assert requests(client, "users", "l2", "miss") == 1


def test_invalidate_pattern_scans_and_deletes_in_batches(
    client, spans, make_cache, redis_url, redis_conn
):
    traced = instrument_redis(redis.Redis.from_url(redis_url, socket_timeout=5))
    cache = make_cache(redis=traced, batch_size=100)
    assert cache.warm({f"user:{i}": i for i in range(1050)}) == 1050
    assert cache.warm(lambda: [("order:1", 1), ("order:2", 2)]) == 2

    assert cache.invalidate_pattern("user:*") == 1050
    assert cache.get("user:7") is None  # gone from L1 too
    assert cache.get("order:1") == 1
    left = list(redis_conn.scan_iter(match=cache.key_prefix.replace("*", r"\*") + "*"))
    assert sorted(left) == [f"{cache.key_prefix}order:{i}".encode() for i in (1, 2)]

    names = [span.name for span in finished_spans(client, spans)]
    assert "KEYS" not in names
    assert names.count("DEL") == 11  # 1050 keys in batches of at most 100
    assert names.count("SCAN") >= 1
    assert names.count("PIPELINE") == 11 + 1  # warm(): one round trip per 100 values
    traced.close()


def test_concurrent_misses_call_the_loader_once(client, make_cache):
    cache = make_cache()
    threads_n, calls = 8, []
    start, entered, release = threading.Barrier(threads_n), threading.Event(), threading.Event()
    results: list[Any] = [None] * threads_n

    def loader(key: str) -> str:
        calls.append(key)
        entered.set()
        assert release.wait(WAIT)
        return "value"

    def worker(i: int) -> None:
        start.wait(WAIT)
        results[i] = cache.get_or_load("hot", loader)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    assert entered.wait(WAIT)
    release.set()
    for thread in threads:
        thread.join(WAIT)
    assert calls == ["hot"]
    assert results == ["value"] * threads_n
    served = sum(requests(client, "users", level, "hit") for level in ("l1", "l2", "loader"))
    assert served == threads_n


def test_stale_values_are_served_while_one_background_refresh_runs(client, make_cache):
    clock = Clock()
    cache = make_cache(clock=clock, ttl=10, stale_ttl=100, refresh_workers=1)
    assert cache.get_or_load("k", lambda key: "v1") == "v1"
    assert cache._executor is None  # no thread until something needs refreshing
    clock.advance(20)

    calls, release = [], threading.Event()

    def slow_loader(key: str) -> str:
        calls.append(key)
        assert release.wait(WAIT)
        return "v2"

    assert [cache.get_or_load("k", slow_loader) for _ in range(4)] == ["v1"] * 4
    release.set()
    assert cache.flush(timeout=WAIT)
    assert calls == ["k"]
    assert cache.get_or_load("k", slow_loader) == "v2"
    assert make_cache(clock=clock, ttl=10).get("k") == "v2"  # the refresh wrote L2 too
    assert sample(client, "cache_stale_served_total", {"cache": "users", "level": "l1"}) == 4
    assert sample(client, "cache_refreshes_total", {"cache": "users", "result": "ok"}) == 1
    clock.advance(200)  # past ttl + stale_ttl: a plain miss
    assert cache.get("k") is None


@dataclass
class PrivateRedis:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(WAIT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A throwaway redis-server this test may kill; always stopped at teardown."""
    port = _free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*args, "--appendonly", "no"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = PrivateRedis(process, port)
    try:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):  # ends if the server exits
            if b"Ready to accept connections" in line:
                break
        else:
            pytest.fail(f"redis-server on port {port} exited with {process.wait()}")
        yield server
    finally:
        server.stop()
        if process.stdout is not None:
            process.stdout.close()


def test_a_redis_outage_is_counted_and_never_raised(client, private_redis):
    conn = redis.Redis(
        port=private_redis.port,
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),  # fail at once; the cache has its own back-off
    )
    clock, calls = Clock(), []

    def loader(key: str) -> str:
        calls.append(key)
        return key.upper()

    cache = MultiLevelCache("outage", conn, clock=clock, l2_retry_after=5)
    try:
        cache.set("a", "A")
        assert cache.get_or_load("b", loader) == "B"
        private_redis.stop()

        assert cache.get("a") == "A"  # L1: Redis not even asked
        assert cache.get_or_load("c", loader) == "C"  # GET fails, loader serves, SET skipped
        cache.delete("a")  # skipped: Redis is in back-off
        assert cache.get("a") is None
        clock.advance(6)  # back-off over: the next call tries Redis again
        assert cache.invalidate_pattern("*") == 0  # clears L1 even so
        assert cache.get_or_load("b", loader) == "B"
    finally:
        cache.close()
        conn.close()

    assert calls == ["b", "c", "b"]
    assert errors(client, "outage", "l2", "connection") == 2
    assert errors(client, "outage", "l2", "circuit_open") == 5
    assert requests(client, "outage", "l1", "hit") == 1
    assert requests(client, "outage", "l2", "miss") == 4


def test_commands_and_pipelines_make_client_spans_and_metrics(
    client, spans, redis_url, redis_prefix
):
    from opentelemetry.trace import SpanKind, StatusCode

    r = instrument_redis(redis.Redis.from_url(redis_url, socket_timeout=5))
    key = f"{redis_prefix}secret-user-key"
    r.set(key, "7")
    assert r.get(key) == b"7"
    r.set(key + ":text", "not a number")
    with pytest.raises(redis.ResponseError):
        r.incr(key + ":text")
    with r.pipeline() as pipe:
        pipe.set(key, "8").get(key).execute()
    with r.pipeline(transaction=False) as pipe:
        pipe.get(key).get(key).get(key).execute()
    r.close()

    found = finished_spans(client, spans)
    assert [s.name for s in found] == ["SET", "GET", "SET", "INCRBY", "MULTI", "PIPELINE"]
    host = r.connection_pool.connection_kwargs["host"]
    for span in found:
        assert span.kind is SpanKind.CLIENT
        assert span.attributes["db.system.name"] == "redis"
        assert span.attributes["db.operation.name"] == span.name
        assert span.attributes["server.address"] == host
        assert span.attributes["server.port"] == r.connection_pool.connection_kwargs["port"]
        assert not any("secret" in str(value) for value in span.attributes.values())
    failed = found[3]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "ResponseError"
    assert [s.attributes.get("db.operation.batch.size") for s in found[4:]] == [2, 3]

    def count(command: str) -> float | None:
        return sample(client, "redis_client_command_duration_seconds_count", {"command": command})

    assert [count(c) for c in ("SET", "GET", "INCRBY", "MULTI", "PIPELINE")] == [2, 1, 1, 1, 1]
    failures = {"command": "INCRBY", "error_type": "ResponseError"}
    assert sample(client, "redis_client_command_errors_total", failures) == 1


def test_instrumenting_is_idempotent_and_passes_through_before_init(redis_url, redis_prefix):
    assert sloscope.get_client().recording is False
    r = redis.Redis.from_url(redis_url, socket_timeout=5)
    assert instrument_redis(r) is r
    assert instrument_redis(r) is r
    r.set(redis_prefix + "k", "v")
    assert r.get(redis_prefix + "k") == b"v"
    r.close()
    with pytest.raises(TypeError):
        instrument_redis("redis://localhost")


def test_an_instrumented_class_traces_its_instances(client, spans, redis_url):
    traced_class = instrument_redis(redis.Redis)
    assert issubclass(traced_class, redis.Redis)
    assert instrument_redis(redis.Redis) is traced_class
    assert instrument_redis(traced_class) is traced_class
    r = traced_class.from_url(redis_url, socket_timeout=5)
    assert r.ping() is True
    r.close()
    assert [s.name for s in finished_spans(client, spans)] == ["PING"]


def test_command_labels_are_bounded_and_never_keys():
    instruments = _Instruments(duration=None, errors=None)
    assert instruments.label(b"get") == "GET"
    assert instruments.label("CLIENT SETNAME") == "CLIENT SETNAME"
    assert instruments.label("GET user42") == "GET"  # a second word may be a key
    assert instruments.label("GET user:42") == "OTHER"
    for i in range(300):
        instruments.label(f"CMD{i}")
    assert instruments.label("NEVERSEEN") == "OTHER"
    assert instruments.label("GET") == "GET"
