"""A three-level cache: an in-process LRU (L1), Redis (L2) and the loader (L3)."""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sloscope._client import get_client
from sloscope._internal_errors import capture_internal_exceptions

__all__ = ["Codec", "JsonCodec", "MultiLevelCache"]

log = logging.getLogger("sloscope")
T = TypeVar("T")
Loader = Callable[[str], Any]
Items = Mapping[str, Any] | Iterable[tuple[str, Any]]


class Codec(Protocol):
    """Turns a cached value into the bytes stored in Redis, and back."""

    def dumps(self, value: Any) -> bytes: ...
    def loads(self, data: bytes) -> Any: ...


class JsonCodec:
    """The default codec: compact UTF-8 JSON, so values must be JSON-serialisable."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


@dataclass(frozen=True)
class _Entry:
    value: Any
    fresh_until: float
    stale_until: float


class _LRU:
    """Bounded LRU dropping entries past ``stale_until`` on read; the cache holds the lock."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, key: str, now: float) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None or now >= entry.stale_until:
            self.entries.pop(key, None)
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: _Entry) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def pop_matching(self, glob: str) -> None:
        for key in [k for k in self.entries if fnmatch.fnmatchcase(k, glob)]:
            del self.entries[key]


_COUNTERS = {  # attribute: (metric name, help, labels)
    "requests": ("cache_requests", "Lookups per cache level.", ["cache", "level", "result"]),
    "errors": ("cache_errors", "Failed cache operations.", ["cache", "level", "reason"]),
    "stale": ("cache_stale_served", "Stale values served.", ["cache", "level"]),
    "refreshes": ("cache_refreshes", "Background refreshes.", ["cache", "result"]),
}


class _Metrics:
    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        for attr, (name, doc, labels) in _COUNTERS.items():
            setattr(self, attr, Counter(name, doc, labels, registry=registry))
        self.load = Histogram(
            "cache_load_duration_seconds", "Loader run time.", ["cache"], registry=registry
        )
        self.l1_entries = Gauge(
            "cache_l1_entries", "Entries in the in-process level.", ["cache"], registry=registry
        )


def _redis() -> Any:
    """The redis-py helpers, imported only once a Redis client was given (L2 is optional)."""
    from sloscope.integrations import redis as helpers

    return helpers


class MultiLevelCache:
    """Cache-aside over an in-process LRU (L1), Redis (L2) and a loader (L3).

    Reads try L1, then L2 (a hit is copied into L1), then the loader: called once per key
    however many threads miss together, its value written through to L1 and L2. Past ``ttl``
    but within ``stale_ttl`` a value is still served while one background refresh reloads it.
    Redis errors are counted, never raised: L1 and the loader keep serving, and Redis is
    skipped for ``l2_retry_after`` seconds after a connection error or timeout. Loader
    exceptions reach the caller.

    >>> from sloscope.cache import MultiLevelCache
    >>> users = MultiLevelCache("users", redis=None, ttl=30)
    >>> users.get_or_load("42", lambda key: {"id": key})
    {'id': '42'}
    >>> users.get("42")
    {'id': '42'}
    >>> users.close()

    Pass ``redis=redis.Redis(...)`` for L2. Metrics carry the cache ``name`` and the
    ``level`` (``l1``, ``l2``, ``loader``); the hit ratio of each level is::

        sum by (cache, level) (rate(cache_requests_total{result="hit"}[5m]))
          / sum by (cache, level) (rate(cache_requests_total[5m]))

    A failed Redis lookup is an ``l2`` miss, also counted in ``cache_errors_total``. L1 is per
    process: another process may serve its copy of a deleted key until its ``ttl`` ends.
    """

    def __init__(
        self,
        name: str,
        redis: Any = None,
        *,
        loader: Loader | None = None,
        ttl: float = 60.0,
        stale_ttl: float = 0.0,
        max_entries: int = 1024,
        key_prefix: str | None = None,
        codec: Codec | None = None,
        clock: Callable[[], float] = time.time,
        refresh_workers: int = 2,
        max_pending_refreshes: int = 64,
        l2_retry_after: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        """Validate and store; no connection or thread is opened here.

        :param redis: a redis-py client for L2, or None for an L1-only cache.
        :param clock: wall-clock seconds (shared by processes reading the same L2 keys).
        :raise ValueError: for a non-positive ``ttl``, size or count.
        """
        if ttl <= 0 or stale_ttl < 0 or l2_retry_after < 0:
            raise ValueError("ttl must be > 0; stale_ttl and l2_retry_after must be >= 0")
        if min(max_entries, refresh_workers, max_pending_refreshes, batch_size) < 1:
            raise ValueError("max_entries, refresh_workers, max_pending_refreshes, batch_size >= 1")
        self.name, self.redis, self.loader = name, redis, loader
        self.ttl, self.stale_ttl = ttl, stale_ttl
        self.key_prefix = f"sloscope:cache:{name}:" if key_prefix is None else key_prefix
        self.codec: Codec = codec or JsonCodec()
        self.clock, self.batch_size = clock, batch_size
        self._workers, self._max_pending = refresh_workers, max_pending_refreshes
        self._l2_retry_after, self._l2_down_until = l2_retry_after, float("-inf")
        self._l1, self._lock = _LRU(max_entries), threading.Lock()
        self._inflight: dict[str, Future[Any]] = {}
        self._refreshing: dict[str, Future[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def get(self, key: str, default: Any = None) -> Any:
        """The L1/L2 value (stale too, refreshed by the default loader), else ``default``."""
        entry, stale = self._lookup(key)
        if entry is None:
            return default
        if stale and self.loader is not None:
            self._refresh(key, self.loader)
        return entry.value

    def get_or_load(self, key: str, loader: Loader | None = None) -> Any:
        """The cached value, or ``loader(key)``'s, stored in L1 and L2; loader errors propagate.

        :raise ValueError: when neither ``loader`` nor the cache's default loader is set.
        """
        loader = loader or self.loader
        if loader is None:
            raise ValueError(f"cache {self.name!r}: get_or_load() needs a loader")
        entry, stale = self._lookup(key)
        if entry is not None:
            if stale:
                self._refresh(key, loader)
            return entry.value
        try:
            value = self._load(key, loader)
        except Exception:
            self._count("loader", hit=False)
            raise
        self._count("loader", hit=True)
        return value

    def set(self, key: str, value: Any) -> None:
        """Write ``value`` through to L1 and L2 (fresh for ``ttl`` from now)."""
        self._store([(key, value)])

    def delete(self, key: str) -> None:
        """Remove ``key`` from L1 and L2."""
        with self._lock:
            self._l1.entries.pop(key, None)
            self._gauge()
        self._l2(lambda r: r.delete(self.key_prefix + key), None)

    def invalidate_pattern(self, glob: str) -> int:
        """Remove keys matching a Redis glob from L1 and L2 (SCAN and batched DEL, never KEYS).

        :return: the number of L2 keys deleted (0 when Redis is unavailable).
        """
        with self._lock:
            self._l1.pop_matching(glob)
            self._gauge()
        prefix, batch = self.key_prefix, self.batch_size
        return self._l2(lambda r: _redis().delete_matching(r, prefix, glob, batch), 0)

    def warm(self, source: Items | Callable[[], Items]) -> int:
        """Store a mapping, ``(key, value)`` pairs or what a callable returns; returns how many."""
        items = source() if callable(source) else source
        pairs = list(items.items() if isinstance(items, Mapping) else items)
        for start in range(0, len(pairs), self.batch_size):
            self._store(pairs[start : start + self.batch_size])
        return len(pairs)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for pending background refreshes; False if some are still running."""
        with self._lock:
            pending = list(self._refreshing.values())
        return not wait(pending, timeout).not_done

    def close(self, timeout: float | None = 5.0) -> None:
        """Wait up to ``timeout`` for refreshes, then stop the refresh threads."""
        self.flush(timeout)
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _lookup(self, key: str) -> tuple[_Entry | None, bool]:
        """L1 then L2; returns the entry found (or None) and whether it is stale."""
        now = self.clock()
        with self._lock:
            entry = self._l1.get(key, now)
            self._gauge()
        self._count("l1", hit=entry is not None)
        level = "l1" if entry is not None or self.redis is None else "l2"
        if level == "l2":
            entry = self._l2_get(key, now)
            self._count("l2", hit=entry is not None)
            if entry is not None:
                with self._lock:
                    self._l1.put(key, entry)
                    self._gauge()
        if entry is None:
            return None, False
        if stale := now >= entry.fresh_until:
            self._inc("stale", level=level)
        return entry, stale

    def _l2_get(self, key: str, now: float) -> _Entry | None:
        raw = self._l2(lambda r: r.get(self.key_prefix + key), None)
        if raw is None:
            return None
        try:
            data = raw.encode() if isinstance(raw, str) else raw
            head, _, payload = data.partition(b"\n")
            fresh_until = float(head)
            entry = _Entry(self.codec.loads(payload), fresh_until, fresh_until + self.stale_ttl)
        except Exception as exc:  # a corrupt or foreign value is a miss, not an app error
            log.debug("sloscope cache %s: undecodable L2 value: %r", self.name, exc)
            self._inc("errors", level="l2", reason="decode")
            return None
        return entry if now < entry.stale_until else None

    def _store(self, pairs: list[tuple[str, Any]]) -> None:
        """Write through: L1 first (so concurrent readers hit it), then L2 in one round trip."""
        now = self.clock()
        entries = [
            (k, _Entry(v, now + self.ttl, now + self.ttl + self.stale_ttl)) for k, v in pairs
        ]
        with self._lock:
            for key, entry in entries:
                self._l1.put(key, entry)
            self._gauge()
        if self.redis is None or not entries:
            return
        encoded = []
        for key, entry in entries:
            try:
                payload = self.codec.dumps(entry.value)
            except Exception as exc:  # the value stays in L1; Redis just doesn't get it
                log.debug("sloscope cache %s: cannot encode a value: %r", self.name, exc)
                self._inc("errors", level="l2", reason="encode")
                continue
            head = repr(entry.fresh_until).encode()  # the freshness deadline, then the value
            encoded.append((self.key_prefix + key, head + b"\n" + payload))
        expire_ms = max(1, int((self.ttl + self.stale_ttl) * 1000))
        self._l2(lambda r: _redis().set_many(r, encoded, expire_ms), None)

    def _l2(self, op: Callable[[Any], T], default: T) -> T:
        """Run one Redis operation; on failure count it, back off, and return ``default``."""
        if self.redis is None:
            return default
        now = self.clock()
        if now < self._l2_down_until:
            self._inc("errors", level="l2", reason="circuit_open")
            return default
        try:
            return op(self.redis)
        except Exception as exc:
            reason = _redis().error_reason(exc)
            self._inc("errors", level="l2", reason=reason)
            if reason in ("connection", "timeout"):
                # Without this, every request while Redis is unreachable would pay a timeout.
                self._l2_down_until = now + self._l2_retry_after
            log.debug("sloscope cache %s: redis %s: %r", self.name, reason, exc)
            if reason == "internal":  # our bug, not Redis': surfaced in tests, counted otherwise
                with capture_internal_exceptions(get_client().errors, "cache.l2"):
                    raise
            return default

    def _load(self, key: str, loader: Loader) -> Any:
        """Single flight: the first caller for ``key`` loads, the others wait for its result."""
        with self._lock:
            flight, leader = self._inflight.get(key), key not in self._inflight
            if leader:
                # A load may have finished between this caller's miss and now.
                done = self._l1.get(key, self.clock())
                if done is not None and self.clock() < done.fresh_until:
                    return done.value
                flight = self._inflight[key] = Future()
        if not leader:
            return flight.result()  # type: ignore[union-attr]
        start = time.perf_counter()
        try:
            value = loader(key)
            self._store([(key, value)])
            flight.set_result(value)
        except BaseException as exc:
            self._inc("errors", level="loader", reason=type(exc).__name__)
            flight.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._inflight[key]
            if (metrics := self._metrics()) is not None:
                metrics.load.labels(cache=self.name).observe(time.perf_counter() - start)
        return value

    def _refresh(self, key: str, loader: Loader) -> None:
        """Schedule one background reload of ``key`` unless one is pending or too many are."""
        with self._lock:
            if key in self._refreshing:
                return
            dropped = self._closed or len(self._refreshing) >= self._max_pending
            if not dropped:
                if self._executor is None:  # first stale read: start the threads only now
                    self._executor = ThreadPoolExecutor(
                        self._workers, thread_name_prefix=f"sloscope-cache-{self.name}"
                    )
                self._refreshing[key] = self._executor.submit(self._run_refresh, key, loader)
        if dropped:
            self._inc("refreshes", result="dropped")

    def _run_refresh(self, key: str, loader: Loader) -> None:
        try:
            self._load(key, loader)
            self._inc("refreshes", result="ok")
        except Exception as exc:  # nobody to raise to: the stale value keeps being served
            log.debug("sloscope cache %s: refresh failed: %r", self.name, exc)
            self._inc("refreshes", result="error")
        finally:
            with self._lock:
                self._refreshing.pop(key, None)

    def _metrics(self) -> _Metrics | None:
        client = get_client()
        return client.instruments("sloscope.cache", _Metrics) if client.recording else None

    def _count(self, level: str, hit: bool) -> None:
        self._inc("requests", level=level, result="hit" if hit else "miss")

    def _inc(self, metric: str, **labels: str) -> None:
        if (metrics := self._metrics()) is not None:
            getattr(metrics, metric).labels(cache=self.name, **labels).inc()

    def _gauge(self) -> None:
        """Called with the lock held, after every L1 change."""
        if (metrics := self._metrics()) is not None:
            metrics.l1_entries.labels(cache=self.name).set(len(self._l1.entries))
