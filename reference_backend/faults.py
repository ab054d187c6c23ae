"""Fault injection: switches an operator flips at runtime to make the shop misbehave on purpose.

Each fault mimics one real failure, so that its signal can be watched in sloscope:

- ``latency``: requests on matching route templates first wait a fixed or random time;
- ``error_rate``: a share of matching requests is answered with a 500 or a 503;
- ``redis_outage``: every Redis command raises ``ConnectionError`` (see :meth:`wrap_redis`);
- ``pool_exhaustion``: connections of the primary's pool are held checked out, as by a leak;
- ``slow_queries``: SELECTs on chosen tables lose their indexes, and may wait on top;
- ``cache_flush`` (one shot): every cache forgets everything, as after a deploy.

``slow_queries`` needs no cooperation from the queries: :meth:`Faults.attach` adds a
``before_cursor_execute`` hook to the engines. For a SELECT naming a chosen table it rewrites
``FROM products`` to ``FROM products NOT INDEXED`` on SQLite; on PostgreSQL it first runs
``SET LOCAL enable_indexscan/enable_bitmapscan/enable_indexonlyscan = off`` (this transaction's
plans only: nothing leaks into the pool). Then ``delay_ms`` adds a wait inside the statement's
measured time (``pg_sleep`` on the server, a sleep on SQLite), so that even a small catalogue
is visibly slow. Code that wants its whole transaction degraded (joins on other tables too)
also calls :meth:`Faults.query_hint` on its session: one attribute read while the fault is off.

    faults = Faults()
    faults.turn_on("latency", {"routes": ["/products*"], "distribution": "exponential",
                               "mean_ms": 80})
    faults.snapshot()["latency"]   # {"on": True, "routes": [...], "mean_ms": 80.0, ...}
    faults.turn_off("latency")
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from reference_backend.fault_specs import ErrorRate, FaultError, Latency, ParamReader, SlowQueries

__all__ = ["FAULTS", "FaultError", "Faults"]

#: Every fault, in the order ``snapshot()`` lists them; ``cache_flush`` is one-shot.
FAULTS = (
    "latency", "error_rate", "redis_outage", "pool_exhaustion", "slow_queries", "cache_flush"
)  # fmt: skip
#: Routes never touched, whatever the globs: the switches themselves, and the scrape.
PROTECTED_ROUTES = ("/admin/*", "/metrics")
_PG_PLANNER_OFF = ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan")


@dataclass
class _PoolHold:
    wanted: int
    held: list[Any] = field(default_factory=list)


class Faults:
    """The shop's fault switches; thread-safe, and all off until an operator turns one on.

    :param rng: the randomness behind error rates and latency draws (tests seed their own).
    :param sleep: how a request or a SQLite statement waits (tests pass a recorder).
    :param clock: wall-clock seconds, for when the caches were last flushed.
    """

    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rng, self._sleep, self._clock = rng or random.Random(), sleep, clock
        self._lock = threading.Lock()
        # Held while connections are taken or given back, so two PUTs cannot leak a hold.
        self._pool_switch = threading.RLock()
        # Each switch is one attribute holding an immutable spec: readers need no lock.
        self.latency: Latency | None = None
        self.error_rate: ErrorRate | None = None
        self.redis_down = False
        #: The active ``slow_queries`` spec, or None: what query code may consult.
        self.slow_queries: SlowQueries | None = None
        self._pool: _PoolHold | None = None
        self._primary: Engine | None = None
        self._flushes: dict[str, Any] = {"count": 0, "last_at": None, "last": None}

    def attach(self, primary: Engine, *others: Engine) -> None:
        """Hand over the engines: the primary's pool to exhaust, statement hooks on each."""
        self._primary = primary
        for engine in {id(e): e for e in (primary, *others)}.values():
            if not event.contains(engine, "before_cursor_execute", self._degrade):
                event.listen(engine, "before_cursor_execute", self._degrade, retval=True)

    def wrap_redis(self, client: Any) -> Any:
        """``client`` behind the ``redis_outage`` switch (None stays None): while it is on,
        commands raise ``redis.exceptions.ConnectionError``, as when Redis is unreachable."""
        return None if client is None else _SwitchableRedis(client, self)

    def turn_on(self, name: str, params: Any = None) -> dict[str, Any]:
        """Turn fault ``name`` on with ``params`` (replacing earlier ones); returns its state.

        :raise FaultError: for an unknown or one-shot fault, or bad parameters.
        """
        if name == "latency":
            self.latency = Latency.parse(params)
        elif name == "error_rate":
            self.error_rate = ErrorRate.parse(params)
        elif name == "slow_queries":
            self.slow_queries = SlowQueries.parse(params)
        elif name == "redis_outage":
            ParamReader(params, ()).done()
            self.redis_down = True
        elif name == "pool_exhaustion":
            self._exhaust_pool(params)
        elif name == "cache_flush":
            raise FaultError(["cache_flush is one-shot: POST /admin/faults/cache_flush"])
        else:
            raise FaultError([f"unknown fault {name!r}; known: {', '.join(FAULTS)}"])
        return self.snapshot()[name]

    def turn_off(self, name: str) -> dict[str, Any]:
        """Turn fault ``name`` off (nothing happens if it was off); returns its state."""
        if name not in FAULTS or name == "cache_flush":
            raise FaultError([f"not a switchable fault: {name!r}"])
        if name == "pool_exhaustion":
            self._release_pool()
        elif name == "redis_outage":
            self.redis_down = False
        else:
            setattr(self, name, None)
        return self.snapshot()[name]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every fault: ``on`` and its parameters, as JSON-able values."""
        with self._lock:
            pool, flushes = self._pool, dict(self._flushes)
            held = {"wanted": pool.wanted, "held": len(pool.held)} if pool else {}
        specs = {"latency": self.latency, "error_rate": self.error_rate}
        specs["slow_queries"] = self.slow_queries
        found = {k: {"on": v is not None, **(v.describe() if v else {})} for k, v in specs.items()}
        found["redis_outage"] = {"on": self.redis_down}
        found["pool_exhaustion"] = {"on": pool is not None, **held}
        found["cache_flush"] = {"one_shot": True, **flushes}
        return {name: found[name] for name in FAULTS}

    def request_delay_s(self, route: str | None) -> float:
        """Seconds a request on ``route`` (its URL rule template) must wait first; often 0."""
        latency = self.latency
        if latency is None or not _matches(route, latency.routes):
            return 0.0
        with self._lock:  # one shared RNG: a seeded test sees one reproducible sequence
            return latency.draw_ms(self._rng) / 1000.0

    def request_error(self, route: str | None) -> int | None:
        """The status to fail a request on ``route`` with, or None to serve it."""
        errors = self.error_rate
        if errors is None or not _matches(route, errors.routes):
            return None
        with self._lock:
            failing = self._rng.random() < errors.rate
        return errors.status if failing else None

    def delay(self, seconds: float) -> None:
        """Wait as this instance was told to: a real sleep, unless a test injected one."""
        if seconds > 0:
            self._sleep(seconds)

    def query_hint(self, session: Session) -> bool:
        """Degrade every plan of ``session``'s transaction while ``slow_queries`` is on.

        Call it first thing in a read transaction. On PostgreSQL it switches index scans off
        until the transaction ends, whatever the tables; SQLite has no such switch, so there
        only statements naming the fault's tables are degraded (by the engine hook).
        Returns whether the fault is on.
        """
        if self.slow_queries is None:
            return False
        if session.get_bind().dialect.name == "postgresql":
            for setting in _PG_PLANNER_OFF:
                session.execute(text(f"SET LOCAL {setting} = off"))
        return True

    def flush_caches(self, caches: Iterable[Any], redis: Any = None, prefix: str = "") -> dict:
        """Empty every cache, L1 and L2; with ``redis`` also every key under ``prefix`` (the
        caches this process never opened). Returns how many L2 keys went, by cache."""
        dropped: dict[str, Any] = {c.name: c.invalidate_pattern("*") for c in list(caches)}
        if redis is not None and prefix:
            from redis.exceptions import RedisError

            from sloscope.integrations.redis import delete_matching

            try:
                dropped["*"] = delete_matching(redis, prefix, "*")
            except RedisError as exc:  # the L1s are empty already: report, don't fail
                dropped["*"] = f"redis unavailable: {type(exc).__name__}"
        with self._lock:
            count = self._flushes["count"] + 1
            self._flushes = {"count": count, "last_at": self._clock(), "last": dropped}
        return dropped

    def _exhaust_pool(self, raw: Any) -> None:
        """Check out ``connections`` (default: all the pool allows) and keep them.

        Checkouts stop at the first pool timeout: connections busy in requests stay theirs,
        and the hold still starves every later request of what it took.
        """
        if self._primary is None:
            raise FaultError(["pool_exhaustion: no engine attached"])
        pool: Any = self._primary.pool
        limit = max(1, pool.size() + max(0, getattr(pool, "max_overflow_limit", 0)))
        params = ParamReader(raw, ("connections",))
        wanted = params.number("connections", limit, high=limit, low=1)
        if wanted != int(wanted):
            params.errors.append("connections: a whole number")
        params.done()
        with self._pool_switch:
            self._release_pool()
            hold = _PoolHold(int(wanted))
            for _ in range(hold.wanted):
                try:
                    hold.held.append(self._primary.raw_connection())
                except PoolTimeout:
                    break
            with self._lock:
                self._pool = hold

    def _release_pool(self) -> None:
        with self._pool_switch:
            with self._lock:
                hold, self._pool = self._pool, None
            for conn in hold.held if hold else ():
                conn.close()  # back into the pool

    def _degrade(self, conn, cursor, statement, parameters, context, executemany):
        """``before_cursor_execute`` (retval): the ``slow_queries`` fault, see the module doc."""
        spec = self.slow_queries
        if spec is None or executemany or not spec.matches(statement):
            return statement, parameters
        if conn.dialect.name == "sqlite":
            statement = spec.without_indexes(statement)
            self.delay(spec.delay_ms / 1000.0)
        elif conn.dialect.name == "postgresql":
            with cursor.connection.cursor() as side:  # psycopg: same connection, same txn
                for setting in _PG_PLANNER_OFF:
                    side.execute(f"SET LOCAL {setting} = off")
                if spec.delay_ms > 0:
                    side.execute(f"SELECT pg_sleep({spec.delay_ms / 1000.0:.3f})")
        return statement, parameters


def _matches(route: str | None, globs: tuple[str, ...]) -> bool:
    if route is None or any(fnmatchcase(route, p) for p in PROTECTED_ROUTES):
        return False
    return any(fnmatchcase(route, glob) for glob in globs)


class _SwitchableRedis:
    """A redis-py client proxy: calls pass through unless the outage switch is on.

    ``close`` and plain attributes always pass, so that shutdown works during an outage.
    """

    _ALWAYS = frozenset({"close", "connection_pool", "get_connection_kwargs"})

    def __init__(self, client: Any, faults: Faults) -> None:
        self._client, self._faults = client, faults

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._client, name)
        if name in self._ALWAYS or not callable(found):
            return found
        faults = self._faults

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if faults.redis_down:
                import redis

                raise redis.exceptions.ConnectionError("injected fault: redis_outage")
            return found(*args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"<switchable {self._client!r}>"
