"""SQLAlchemy: a span and a duration per statement, pool figures, and a slow-query log.

    engine = create_engine(url, poolclass=TimedQueuePool, pool_size=5)
    instrument_engine(engine, name="primary")

Public events only (``before/after_cursor_execute``, ``handle_error``; pool ``connect``,
``checkout``, ``checkin``, ``invalidate``, ``soft_invalidate``); no patches; hooks pass through
before ``init()``. Metrics, each with an ``engine`` label (``name`` above):

- ``db_client_operation_duration_seconds`` by ``db_operation_name`` (``OTHER`` if unknown) and
  ``db_collection_name`` (main table or ``""``), successes only; failures in
  ``db_client_operation_errors_total`` (plus ``error_type``, the exception's class name).
- ``db_client_slow_queries_total``; ``db_client_slow_query_explains_total`` by ``result``.
- Gauges read at scrape time: ``db_client_connection_pool_size``, ``..._checked_in``,
  ``..._checked_out``, ``..._overflow``, ``..._max_overflow`` (TimedQueuePool only: private).
- ``db_client_connection_use_seconds``, ``db_client_connections_created_total``,
  ``db_client_connection_invalidations_total`` by ``kind`` (hard/soft).
- ``db_client_connection_wait_seconds`` and ``db_client_connection_timeouts_total`` need
  ``poolclass=TimedQueuePool``: no event fires before a checkout, and a pool ``TimeoutError``
  never reaches ``handle_error``, so the exact public seam is ``Pool.connect()``, overridden.

Slow statements (>= ``slow_query_threshold_s``) go to a bounded log (:func:`slow_queries`);
SELECTs are explained (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN (FORMAT JSON)``) with
the same parameters right after the statement on a separate unpooled connection with short lock
timeouts, at most ``slow_query_explains_per_minute`` per engine; failures are counted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sloscope._client import get_client
from sloscope._internal_errors import capture_internal_exceptions
from sloscope.integrations import DidNotEnable
from sloscope.integrations.sql_statements import parse_statement

try:
    from sqlalchemy import create_engine, event
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import NullPool, QueuePool
except ImportError as exc:  # pragma: no cover - exercised only without SQLAlchemy
    raise DidNotEnable("SQLAlchemy is not installed") from exc

__all__ = ["SlowQuery", "TimedQueuePool", "instrument_engine", "slow_queries"]

SLOW_QUERY_LOG_SIZE = 100
log = logging.getLogger("sloscope")
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class SlowQuery:
    """One slow statement; ``plan`` is None when it was not explained (see ``explain``)."""

    statement: str
    duration_s: float
    operation: str
    collection: str
    #: ``captured``, ``failed``, ``rate_limited`` or ``skipped`` (not a SELECT, executemany).
    explain: str
    plan: str | None


class TimedQueuePool(QueuePool):
    """A ``QueuePool`` timing ``connect()``: ``create_engine(url, poolclass=TimedQueuePool)``."""

    def __init__(self, *args: Any, max_overflow: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, max_overflow=max_overflow, **kwargs)
        #: The configured limit; QueuePool keeps it private.
        self.max_overflow_limit = max_overflow
        #: The ``engine`` label, set by :func:`instrument_engine`.
        self.sloscope_engine_name = "default"

    def connect(self) -> Any:
        """Check a connection out, recording the wait (and a timeout, re-raised as is)."""
        start, timed_out = time.perf_counter(), False
        try:
            return super().connect()
        except sa_exc.TimeoutError:
            timed_out = True
            raise
        finally:
            self._observe_wait(time.perf_counter() - start, timed_out)

    def recreate(self) -> TimedQueuePool:
        """The same pool, fresh (``engine.dispose()`` calls this); keeps the engine label."""
        fresh: Any = super().recreate()  # QueuePool.recreate builds self.__class__
        fresh.sloscope_engine_name = self.sloscope_engine_name
        return fresh

    def _observe_wait(self, seconds: float, timed_out: bool) -> None:
        client = get_client()
        if not client.recording:
            return
        with capture_internal_exceptions(client.errors, "sqlalchemy.pool_connect"):
            inst = client.instruments("sqlalchemy", _Instruments)
            inst.wait.labels(self.sloscope_engine_name).observe(seconds)
            if timed_out:
                inst.timeouts.labels(self.sloscope_engine_name).inc()


class _Instruments:
    """The integration's metrics on one client's registry, plus the pool collector."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        db = ["engine", "db_operation_name", "db_collection_name"]

        def hist(name: str, doc: str, labels: list[str]) -> Any:
            return Histogram(name, doc, labels, buckets=_BUCKETS, registry=registry)

        def count(name: str, doc: str, labels: list[str]) -> Any:
            return Counter(name, doc, labels, registry=registry)

        self.duration = hist("db_client_operation_duration_seconds", "SQL statements.", db)
        self.errors = count("db_client_operation_errors", "Failed SQL.", [*db, "error_type"])
        self.slow = count("db_client_slow_queries", "Statements over the threshold.", db)
        self.explains = count("db_client_slow_query_explains", "Plans.", ["engine", "result"])
        self.wait = hist("db_client_connection_wait_seconds", "Pool checkout wait.", ["engine"])
        self.timeouts = count("db_client_connection_timeouts", "Checkout timeouts.", ["engine"])
        self.use = hist("db_client_connection_use_seconds", "Checkout to checkin.", ["engine"])
        self.created = count("db_client_connections_created", "DBAPI connects.", ["engine"])
        self.invalidations = count(
            "db_client_connection_invalidations", "Invalidations.", ["engine", "kind"]
        )
        registry.register(_PoolCollector())


class _PoolCollector:
    """Pool gauges read at scrape time from every live instrumented engine."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        names = ("size", "checked_in", "checked_out", "overflow", "max_overflow")
        families = {
            n: GaugeMetricFamily(f"db_client_connection_pool_{n}", f"Pool {n}.", labels=["engine"])
            for n in names
        }
        with _STATES_LOCK:
            # A name reused by a newer engine wins: one series per label value.
            latest = {state.name: engine for engine, state in list(_STATES.items())}
        for name, engine in sorted(latest.items()):
            pool = engine.pool
            if not isinstance(pool, QueuePool):
                continue  # other pools never wait, so they have no size to watch
            limit = getattr(pool, "max_overflow_limit", None)  # TimedQueuePool only
            values = (pool.size(), pool.checkedin(), pool.checkedout(), max(pool.overflow(), 0))
            for key, value in zip(names, (*values, limit), strict=True):
                if value is not None:  # overflow() is negative below pool_size, hence max()
                    families[key].add_metric([name], value)
        yield from families.values()


class _EngineState:
    """What one instrumented engine needs: its label, attributes, clock and slow-query log."""

    def __init__(self, engine: Engine, name: str, clock: Callable[[], float]) -> None:
        self.name, self.clock, self.url = name, clock, engine.url
        self.system = engine.dialect.name
        port = self.url.port or {"postgresql": 5432}.get(self.system) if self.url.host else None
        found = {"db.namespace": self.url.database, "server.address": self.url.host}
        self.attributes = {"db.system.name": self.system, **found, "server.port": port}
        self.attributes = {k: v for k, v in self.attributes.items() if v}
        self.lock = threading.Lock()
        self.slow: deque[SlowQuery] = deque(maxlen=SLOW_QUERY_LOG_SIZE)
        self.explained_at: deque[float] = deque()
        self._explain_engine: Engine | None = None

    def explain_engine(self) -> Engine:
        """An unpooled engine for EXPLAIN, so it never shares the app's transaction or pool."""
        with self.lock:
            if self._explain_engine is None:
                # Never wait long on the app's own locks: its transaction may still be open.
                args = {
                    "sqlite": {"timeout": 0.2},
                    "postgresql": {"options": "-c lock_timeout=200 -c statement_timeout=2000"},
                }.get(self.system, {})
                self._explain_engine = create_engine(
                    self.url, poolclass=NullPool, connect_args=args
                )
            return self._explain_engine

    def may_explain(self, now: float, per_minute: int) -> bool:
        """Sliding one-minute window of explains for this engine."""
        with self.lock:
            while self.explained_at and now - self.explained_at[0] >= 60.0:
                self.explained_at.popleft()
            if len(self.explained_at) >= per_minute:
                return False
            self.explained_at.append(now)
            return True


_STATES: weakref.WeakKeyDictionary[Engine, _EngineState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def instrument_engine(
    engine: Engine, *, name: str = "default", clock: Callable[[], float] | None = None
) -> None:
    """Record every statement and the pool of ``engine``; a second call changes nothing.

    >>> from sqlalchemy import create_engine
    >>> instrument_engine(create_engine("sqlite://"), name="replica")

    :param name: the ``engine`` label, e.g. ``primary`` and ``replica``.
    :param clock: seconds, monotonic; tests inject one (defaults to ``time.perf_counter``).
    """
    with _STATES_LOCK:
        if engine in _STATES:
            return
        state = _STATES[engine] = _EngineState(engine, name, clock or time.perf_counter)
    if isinstance(engine.pool, TimedQueuePool):
        engine.pool.sloscope_engine_name = name
    event.listen(engine, "before_cursor_execute", _before_hook(state))
    event.listen(engine, "after_cursor_execute", _after_hook(state))
    event.listen(engine, "handle_error", _error_hook(state))
    _listen_pool(engine, state)


def slow_queries(engine: Engine) -> list[SlowQuery]:
    """The engine's recent slow statements, oldest first (at most ``SLOW_QUERY_LOG_SIZE``)."""
    state = _STATES.get(engine)
    if state is None:
        return []
    with state.lock:
        return list(state.slow)


def _before_hook(state: _EngineState) -> Callable[..., None]:
    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        client = get_client()
        if not client.recording or context is None:
            return
        with capture_internal_exceptions(client.errors, "sqlalchemy.before_cursor_execute"):
            operation, collection = parse_statement(statement)
            attributes = {
                **state.attributes,
                "db.query.text": statement,  # parameters stay out: they are bound, not inlined
                "db.operation.name": operation,
            }
            if collection:
                attributes["db.collection.name"] = collection
            from opentelemetry.trace import SpanKind

            span = client.tracer.start_span(
                f"{operation} {collection}".strip(), kind=SpanKind.CLIENT, attributes=attributes
            )
            context._sloscope_pending = (state.clock(), operation, collection, span)

    return before


def _after_hook(state: _EngineState) -> Callable[..., None]:
    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        pending = getattr(context, "_sloscope_pending", None)
        client = get_client()
        if pending is None or not client.recording:
            return
        context._sloscope_pending = None
        with capture_internal_exceptions(client.errors, "sqlalchemy.after_cursor_execute"):
            start, operation, collection, span = pending
            duration = state.clock() - start
            span.end()
            inst = client.instruments("sqlalchemy", _Instruments)
            inst.duration.labels(state.name, operation, collection).observe(duration)
            if duration >= client.options.slow_query_threshold_s:
                inst.slow.labels(state.name, operation, collection).inc()
                entry = SlowQuery(statement, duration, operation, collection, "skipped", None)
                _log_slow(state, client, inst, entry, None if executemany else parameters)

    return after


def _error_hook(state: _EngineState) -> Callable[[Any], None]:
    def on_error(ctx: Any) -> None:
        client = get_client()
        if not client.recording:
            return
        with capture_internal_exceptions(client.errors, "sqlalchemy.handle_error"):
            context = ctx.execution_context
            pending = getattr(context, "_sloscope_pending", None)
            if pending is not None:
                context._sloscope_pending = None
                _, operation, collection, span = pending
                _end_with_error(span, ctx.original_exception)
            else:
                operation, collection = parse_statement(ctx.statement or "")
            inst = client.instruments("sqlalchemy", _Instruments)
            error_type = type(ctx.original_exception).__name__
            inst.errors.labels(state.name, operation, collection, error_type).inc()
        # Returning None keeps SQLAlchemy's own exception: the app sees exactly what it raised.

    return on_error


def _log_slow(state: _EngineState, client: Any, inst: _Instruments, entry: SlowQuery, params):
    if entry.operation != "SELECT" or params is None:
        pass  # "skipped": only reads are safe to explain (and executemany has no one params)
    elif not state.may_explain(state.clock(), client.options.slow_query_explains_per_minute):
        entry = dataclasses.replace(entry, explain="rate_limited")
    else:
        try:
            plan = _explain(state, entry.statement, params)
            entry = dataclasses.replace(entry, explain="captured", plan=plan)
        except Exception as exc:  # any driver error: the plan is best effort, never raised
            log.debug("sloscope: EXPLAIN failed: %r", exc)
            entry = dataclasses.replace(entry, explain="failed")
    inst.explains.labels(state.name, entry.explain).inc()
    with state.lock:
        state.slow.append(entry)


def _explain(state: _EngineState, statement: str, parameters: Any) -> str:
    prefixes = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN (FORMAT JSON) "}
    prefix = prefixes[state.system]  # KeyError for other dialects: counted as failed
    with state.explain_engine().connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters or None).all()
        conn.rollback()
    if state.system == "sqlite":
        return "\n".join(str(row[-1]) for row in rows)  # the "detail" column
    plan = rows[0][0]
    return plan if isinstance(plan, str) else json.dumps(plan)


def _listen_pool(engine: Engine, state: _EngineState) -> None:
    """Pool events; ``engine.dispose()`` keeps them (``Pool.recreate`` copies listeners)."""
    name = state.name

    def checkout(inst: _Instruments, record: Any) -> None:
        record.info["sloscope_checkout_at"] = state.clock()

    def checkin(inst: _Instruments, record: Any) -> None:
        started = record.info.pop("sloscope_checkout_at", None) if record is not None else None
        if started is not None:
            inst.use.labels(name).observe(state.clock() - started)

    bodies: dict[str, Callable[[_Instruments, Any], None]] = {
        "checkout": checkout,
        "checkin": checkin,
        "connect": lambda inst, record: inst.created.labels(name).inc(),
        "invalidate": lambda inst, record: inst.invalidations.labels(name, "hard").inc(),
        "soft_invalidate": lambda inst, record: inst.invalidations.labels(name, "soft").inc(),
    }
    for where, body in bodies.items():
        event.listen(engine.pool, where, _pool_listener(where, body))


def _end_with_error(span: Any, error: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.record_exception(error)
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


def _pool_listener(where: str, body: Callable[[_Instruments, Any], None]) -> Callable[..., None]:
    def listener(dbapi_connection: Any, record: Any, *rest: Any) -> None:
        client = get_client()
        if client.recording:
            with capture_internal_exceptions(client.errors, f"sqlalchemy.pool_{where}"):
                body(client.instruments("sqlalchemy", _Instruments), record)

    return listener
