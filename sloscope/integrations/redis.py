"""redis-py: one CLIENT span, one duration and, on failure, one error count per command.

Labels and attributes carry the command name (``GET``, ``CLIENT SETNAME``), the server and
the error type, never a key or a value: keys are unbounded and may hold user data.

Why a subclass or an instance-level wrapper rather than a hook: redis-py (checked on 8.1) has
no per-client command callback. Its built-in ``redis.observability`` records OpenTelemetry
metrics through one process-wide meter provider, without spans and without a way to reach a
sloscope client's prometheus registry, so it cannot serve here. What redis-py does document
is subclassing ``redis.Redis``: for a class we return a subclass overriding
``execute_command`` and ``pipeline``; for an existing instance we set the same two wrappers
on that instance only (the class, and every other client, stay untouched). Both pass straight
through while the SDK is not recording.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sloscope._client import get_client
from sloscope._internal_errors import capture_internal_exceptions
from sloscope.integrations import DidNotEnable

try:
    import redis
    from redis.client import Pipeline
except ImportError as exc:  # pragma: no cover - exercised only without redis installed
    raise DidNotEnable("redis-py is not installed") from exc

__all__ = ["delete_matching", "error_reason", "instrument_redis", "set_many"]

R = TypeVar("R")
T = TypeVar("T")

#: Distinct ``command`` label values per client; later unknown commands become ``OTHER``.
MAX_COMMANDS = 200
_COMMAND = re.compile(r"([A-Z][A-Z0-9_.]{0,31})( [A-Z][A-Z0-9_]{0,31})?")
# redis-py splits a first argument on spaces ("CLIENT SETNAME"), so a second word is kept only
# after commands that take a subcommand: after any other, it could be a key ("GET user:42").
_CONTAINERS = frozenset(
    "ACL CLIENT CLUSTER COMMAND CONFIG FUNCTION LATENCY MEMORY MODULE OBJECT PUBSUB SCRIPT "
    "SLOWLOG XGROUP XINFO".split()
)
_MARK = "_sloscope_instrumented"


@dataclass
class _Instruments:
    duration: Any
    errors: Any
    commands: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def label(self, raw: object) -> str:
        """The bounded ``command`` label: a well-formed name among the first MAX_COMMANDS."""
        name = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        name = name.upper()
        found = _COMMAND.fullmatch(name)
        if found is None:
            return "OTHER"
        if found.group(2) and found.group(1) not in _CONTAINERS:
            name = found.group(1)
        if name in self.commands:
            return name
        with self.lock:
            if len(self.commands) >= MAX_COMMANDS:
                return "OTHER"
            self.commands.add(name)
        return name


def _make_instruments(registry: Any) -> _Instruments:
    from prometheus_client import Counter, Histogram

    return _Instruments(
        duration=Histogram(
            "redis_client_command_duration_seconds",
            "Duration of Redis commands and pipelines as seen by the client.",
            ["command"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        ),
        errors=Counter(
            "redis_client_command_errors",
            "Redis commands and pipelines that raised, by exception type.",
            ["command", "error_type"],
            registry=registry,
        ),
    )


def instrument_redis(client_or_class: R) -> R:
    """Trace and measure every command of a redis-py client (or of a client class).

    Pass an instance to instrument it in place, or a ``redis.Redis`` subclass to get an
    instrumented subclass back. Calling it again returns the same object.

    >>> import redis, sloscope
    >>> from sloscope.integrations.redis import instrument_redis
    >>> r = instrument_redis(redis.Redis(host="127.0.0.1", port=6379))
    >>> instrument_redis(r) is r
    True
    >>> TracedRedis = instrument_redis(redis.Redis)
    >>> instrument_redis(TracedRedis) is TracedRedis
    True

    :raise TypeError: for anything that is not a ``redis.Redis`` instance or subclass.
    """
    target: Any = client_or_class
    if isinstance(target, type) and issubclass(target, redis.Redis):
        return _subclass(target)  # type: ignore[return-value]
    if isinstance(target, Pipeline):
        return _instrument_pipeline(target)  # type: ignore[return-value]
    if isinstance(target, redis.Redis):
        if not target.__dict__.get(_MARK):
            _instrument_instance(target)
        return client_or_class
    raise TypeError(f"instrument_redis() expects a redis.Redis instance or class, got {target!r}")


@functools.cache
def _subclass(cls: type[redis.Redis]) -> type[redis.Redis]:
    if issubclass(cls, _InstrumentedMixin):
        return cls
    return type(cls.__name__, (_InstrumentedMixin, cls), {"__module__": cls.__module__})


class _InstrumentedMixin:
    """Placed before ``redis.Redis`` in the MRO by :func:`_subclass`."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        parent = super().execute_command  # type: ignore[misc]
        return _traced(self, lambda: parent(*args, **options), args[0] if args else "", None)

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        return _instrument_pipeline(super().pipeline(*args, **kwargs))  # type: ignore[misc]


def _instrument_instance(target: redis.Redis) -> None:
    original_execute = target.execute_command
    original_pipeline = target.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        return _traced(
            target, lambda: original_execute(*args, **options), args[0] if args else "", None
        )

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        return _instrument_pipeline(original_pipeline(*args, **kwargs))

    target.execute_command = execute_command  # type: ignore[method-assign]
    target.pipeline = pipeline  # type: ignore[method-assign]
    setattr(target, _MARK, True)


def _instrument_pipeline(pipe: Pipeline) -> Pipeline:
    """One span for the whole pipeline; its queued commands are counted, not traced."""
    if pipe.__dict__.get(_MARK):
        return pipe
    original = pipe.execute

    def execute(*args: Any, **kwargs: Any) -> Any:
        operation = "MULTI" if pipe.transaction or pipe.explicit_transaction else "PIPELINE"
        size = len(pipe.command_stack)
        return _traced(pipe, lambda: original(*args, **kwargs), operation, size)

    pipe.execute = execute  # type: ignore[method-assign]
    setattr(pipe, _MARK, True)
    return pipe


def _server(target: Any) -> dict[str, Any]:
    kwargs = getattr(getattr(target, "connection_pool", None), "connection_kwargs", None) or {}
    if kwargs.get("path"):
        return {"server.address": str(kwargs["path"])}
    found: dict[str, Any] = {"server.address": str(kwargs.get("host", "localhost"))}
    if kwargs.get("port") is not None:
        found["server.port"] = int(kwargs["port"])
    if kwargs.get("db") is not None:
        found["db.namespace"] = str(kwargs["db"])
    return found


def _traced(target: Any, run: Callable[[], T], raw_command: object, batch: int | None) -> T:
    """Run one command (or pipeline) inside a CLIENT span, measuring it."""
    client = get_client()
    if not client.recording:
        return run()
    span = instruments = None
    command = "OTHER"
    with capture_internal_exceptions(client.errors, "redis.start"):
        from opentelemetry.trace import SpanKind

        instruments = client.instruments("redis", _make_instruments)
        command = instruments.label(raw_command)
        attributes = {"db.system.name": "redis", "db.operation.name": command, **_server(target)}
        if batch is not None:
            attributes["db.operation.batch.size"] = batch
        span = client.tracer.start_span(command, kind=SpanKind.CLIENT, attributes=attributes)
    start = time.perf_counter()
    try:
        result = run()
    except Exception as exc:
        _finish(client, instruments, span, command, start, exc)
        raise
    _finish(client, instruments, span, command, start, None)
    return result


def _finish(
    client: Any,
    instruments: _Instruments | None,
    span: Any,
    command: str,
    start: float,
    error: BaseException | None,
) -> None:
    with capture_internal_exceptions(client.errors, "redis.finish"):
        elapsed = time.perf_counter() - start
        if instruments is not None:
            instruments.duration.labels(command=command).observe(elapsed)
            if error is not None:
                instruments.errors.labels(command=command, error_type=type(error).__name__).inc()
        if span is None:
            return
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            # The type only: a Redis error message can quote a key or a value.
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR))
        span.end()


# --- redis-py operations shared with sloscope.cache (its L2) ------------------------------


def error_reason(exc: BaseException) -> str:
    """A bounded ``reason`` label for an exception raised by a redis-py call.

    >>> error_reason(redis.exceptions.ConnectionError("refused"))
    'connection'
    """
    if isinstance(exc, redis.exceptions.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, redis.exceptions.ConnectionError | ConnectionError):
        return "connection"
    return "redis_error" if isinstance(exc, redis.exceptions.RedisError) else "internal"


def _glob_escape(text: str) -> str:
    """``text`` with Redis glob metacharacters escaped, to match it literally in SCAN."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def delete_matching(r: redis.Redis, prefix: str, glob: str, batch_size: int = 500) -> int:
    """Delete the keys ``prefix + glob`` matches with SCAN and batched DEL (never KEYS,
    which blocks the server for the whole keyspace); returns how many were deleted."""
    deleted, batch = 0, []
    for name in r.scan_iter(match=_glob_escape(prefix) + glob, count=batch_size):
        batch.append(name)
        if len(batch) >= batch_size:
            deleted += int(r.delete(*batch))
            batch.clear()
    return deleted + (int(r.delete(*batch)) if batch else 0)


def set_many(r: redis.Redis, items: list[tuple[str, bytes]], expire_ms: int) -> None:
    """SET each ``(key, value)`` with a PX expiry in one round trip (a pipeline if several)."""
    if len(items) == 1:
        r.set(items[0][0], items[0][1], px=expire_ms)
    elif items:
        pipe = r.pipeline(transaction=False)
        for name, data in items:
            pipe.set(name, data, px=expire_ms)
        pipe.execute()
