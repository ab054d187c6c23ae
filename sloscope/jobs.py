"""Background jobs: a bounded queue, worker threads, retries with backoff, metrics and traces.

    from sloscope.jobs import JobWorker

    worker = JobWorker(workers=2, maxsize=100)
    if not worker.submit(send_receipt, order_id, job_name="send_receipt"):
        ...  # the queue is full: the job was dropped and counted, submit() never blocks
    worker.shutdown(timeout=5.0)

Metrics, by ``job``: ``jobs_queued_total``, ``jobs_running``, ``jobs_succeeded_total``,
``jobs_failed_total`` (all attempts failed), ``jobs_retried_total``, ``jobs_dropped_total{reason}``
(also in ``sloscope_sdk_dropped_total``), ``job_duration_seconds`` (per attempt);
``jobs_queue_depth{worker}``. Each attempt is a CONSUMER span ``"{job} process"`` whose parent is
the context ``submit()`` ran in, and which links to it: the messaging conventions require the
link and allow the parent for a single message, which keeps a request and its job in one trace.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sloscope._client import get_client
from sloscope._internal_errors import capture_internal_exceptions

__all__ = ["JobWorker"]

log = logging.getLogger("sloscope")

QUEUE_FULL = "job_queue_full"
SHUTDOWN = "job_shutdown"


@dataclass(frozen=True)
class _Backoff:
    max_attempts: int
    base_delay: float
    max_delay: float
    jitter: float

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, attempt: int, rand: float) -> float:
        # Jitter only shortens the wait, so max_delay stays a true upper bound.
        raw = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return raw * (1.0 - self.jitter * rand)


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    name: str
    context: Any  # the submitter's opentelemetry.context.Context


def _make_instruments(registry: Any) -> dict[str, Any]:
    from prometheus_client import Counter, Gauge, Histogram

    def counter(name: str, doc: str, labels: tuple[str, ...] = ("job",)) -> Counter:
        return Counter(name, doc, list(labels), registry=registry)

    return {
        "queued": counter("jobs_queued", "Jobs accepted by submit()."),
        "succeeded": counter("jobs_succeeded", "Jobs that finished without an exception."),
        "failed": counter("jobs_failed", "Jobs whose every attempt raised."),
        "retried": counter("jobs_retried", "Attempts that raised and were retried."),
        "dropped": counter("jobs_dropped", "Jobs never run, by reason.", ("job", "reason")),
        "running": Gauge("jobs_running", "Attempts running now.", ["job"], registry=registry),
        "duration": Histogram("job_duration_seconds", "Each attempt.", ["job"], registry=registry),
        "depth": Gauge("jobs_queue_depth", "Jobs waiting.", ["worker"], registry=registry),
    }


class _Telemetry:
    """The worker's metrics and spans; every call is a no-op without a recording client."""

    def __init__(self, client: Any, worker: str) -> None:
        self.worker = worker
        self.tracer = client.tracer
        self.errors = client.errors
        self.metrics: dict[str, Any] | None = None
        self.sdk_dropped = None
        if client.recording:
            self.metrics = client.instruments("jobs", _make_instruments)
            # Client.start() registers the "sdk" instruments; the empty factory never runs then.
            self.sdk_dropped = client.instruments("sdk", lambda _registry: {}).get("dropped")

    def count(self, key: str, job: str, delta: float = 1.0) -> None:
        if self.metrics is not None:
            with capture_internal_exceptions(self.errors, "jobs.metrics"):
                self.metrics[key].labels(job).inc(delta)

    def depth(self, delta: float) -> None:
        self.count("depth", self.worker, delta)

    def dropped(self, job: str, reason: str) -> None:
        if self.metrics is not None:
            with capture_internal_exceptions(self.errors, "jobs.metrics"):
                self.metrics["dropped"].labels(job, reason).inc()
                if self.sdk_dropped is not None:
                    self.sdk_dropped.labels(reason).inc()

    def start_span(self, job: _Job, attempt: int) -> Any:
        from opentelemetry import trace

        span = trace.INVALID_SPAN
        with capture_internal_exceptions(self.errors, "jobs.span"):
            parent = trace.get_current_span(job.context).get_span_context()
            links = [trace.Link(parent)] if parent.is_valid else []
            span = self.tracer.start_span(
                f"{job.name} process",
                context=job.context,
                kind=trace.SpanKind.CONSUMER,
                links=links,
                attributes={
                    "messaging.system": "sloscope",
                    "messaging.operation.type": "process",
                    "messaging.operation.name": "process",
                    "messaging.destination.name": self.worker,
                    "sloscope.job.name": job.name,
                    "sloscope.job.attempt": attempt,
                },
            )
        return span

    def attempt_done(self, job: str, span: Any, seconds: float, error: Exception | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        with capture_internal_exceptions(self.errors, "jobs.span"):
            if error is not None:
                span.set_attribute("error.type", type(error).__qualname__)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()
            if self.metrics is not None:
                self.metrics["running"].labels(job).dec()
                self.metrics["duration"].labels(job).observe(seconds)


def _job_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _after_fork(ref: weakref.ref[JobWorker]) -> None:
    worker = ref()
    if worker is not None:
        worker._forget_parent()


class JobWorker:
    """Runs jobs on background threads, with a bounded queue, retries, metrics and spans.

    >>> from sloscope.jobs import JobWorker
    >>> done = []
    >>> worker = JobWorker(workers=1, maxsize=10, max_attempts=3, base_delay=0.1)
    >>> worker.submit(done.append, 42, job_name="record")
    True
    >>> worker.flush(timeout=5.0)
    True
    >>> done
    [42]
    >>> worker.shutdown(timeout=5.0)
    True

    Daemon threads start on the first :meth:`submit` (never in the constructor) and again in a
    forked child; jobs queued before a fork stay with the parent. A job raising ``Exception``
    runs ``max_attempts`` times at most, waiting ``min(max_delay, base_delay * 2 ** (attempt -
    1))`` in between, shortened by up to ``jitter`` (a fraction) so jobs failing together do
    not retry together; the wait holds its thread. The last failure is counted and logged once
    per job name, and never leaves the worker thread.

    :param maxsize: queued jobs at most; :meth:`submit` returns False beyond it.
    :param name: labels ``jobs_queue_depth{worker}``; the spans' destination.
    :param client: records into it; by default ``get_client()`` at the first submit (before
        ``sloscope.init()`` jobs run unrecorded).
    :param sleep: waits between attempts; by default an Event wait cut short by shutdown.
    :param clock: seconds for ``job_duration_seconds``.
    :param rand: a float in [0, 1) for the jitter.
    :raise ValueError: for a bad count or delay.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        maxsize: int = 1000,
        max_attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        jitter: float = 0.1,
        name: str = "default",
        client: Any = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        if not name:
            raise ValueError("name must not be empty")
        self._backoff = _Backoff(max_attempts, base_delay, max_delay, jitter)
        self._workers = workers
        self._maxsize = maxsize
        self._name = name
        self._client = client
        self._closing = threading.Event()
        # The default wait is an Event wait, so shutdown() cuts a backoff short.
        self._sleep = sleep or self._closing.wait
        self._clock = clock
        self._rand = rand
        self._logged: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        # Everything a forked child must rebuild: the parent's threads do not exist there.
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._queue: deque[_Job] = deque()
        self._unfinished = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._telemetry: _Telemetry | None = None

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, job_name: str | None = None, **kwargs: Any
    ) -> bool:
        """Queue ``fn(*args, **kwargs)``; never blocks: False (a counted drop) if full or closed.

        ``job_name`` (default ``fn.__qualname__``) labels metrics and spans: keep it bounded.
        :raise TypeError: if ``fn`` is not callable.
        """
        if not callable(fn):
            raise TypeError(f"submit() needs a callable, got {type(fn).__name__}")
        from opentelemetry import context

        job = _Job(fn, args, kwargs, job_name or _job_name(fn), context.get_current())
        telemetry = self._ensure_started()
        reason = None
        with self._lock:
            if self._closing.is_set():
                reason = SHUTDOWN
            elif len(self._queue) >= self._maxsize:
                reason = QUEUE_FULL
            else:
                self._queue.append(job)
                self._unfinished += 1
                # Under the lock, so a worker's decrement never comes first (no depth of -1).
                telemetry.depth(1.0)
                self._wake.notify()
        if reason is not None:
            telemetry.dropped(job.name, reason)
            return False
        telemetry.count("queued", job.name)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has finished; False if ``timeout`` seconds ran out."""
        with self._lock:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Same as :meth:`flush`, named like ``queue.Queue.join``."""
        return self.flush(timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Refuse new jobs, run the queued ones until ``timeout``, then stop the threads.

        Jobs queued at the deadline and pending retries are dropped (``"job_shutdown"``); a
        running job is not interrupted. True if all finished in time; may be called again.
        """
        deadline = time.monotonic() + timeout
        self._closing.set()
        drained = self.flush(timeout)
        with self._lock:
            self._stopping = True
            left = list(self._queue)
            self._queue.clear()
            self._unfinished -= len(left)
            self._wake.notify_all()
            self._idle.notify_all()
            threads = list(self._threads)
            telemetry = self._telemetry
        if telemetry is not None:
            for job in left:
                telemetry.depth(-1.0)
                telemetry.dropped(job.name, SHUTDOWN)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        return drained and not any(thread.is_alive() for thread in threads)

    def _ensure_started(self) -> _Telemetry:
        telemetry = self._telemetry
        if telemetry is not None:
            return telemetry
        with self._lock:
            if self._telemetry is None:
                self._telemetry = _Telemetry(self._client or get_client(), self._name)
                if hasattr(os, "register_at_fork"):
                    # Weakly: fork hooks live forever and must not keep the worker alive.
                    os.register_at_fork(after_in_child=partial(_after_fork, weakref.ref(self)))
                if not self._closing.is_set():
                    self._start_threads()
            return self._telemetry

    def _start_threads(self) -> None:
        for index in range(self._workers):
            thread = threading.Thread(
                target=self._run, name=f"sloscope-jobs-{self._name}-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _forget_parent(self) -> None:
        # The child has only the forking thread; the parent keeps and runs its queued jobs.
        if self._telemetry is not None and self._queue:
            self._telemetry.depth(-float(len(self._queue)))
        self._reset()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                job = self._queue.popleft()
                telemetry = self._telemetry
                assert telemetry is not None  # set before any thread starts
                telemetry.depth(-1.0)
            try:
                self._process(job, telemetry)
            finally:
                with self._lock:
                    self._unfinished -= 1
                    if self._unfinished <= 0:
                        self._idle.notify_all()

    def _process(self, job: _Job, telemetry: _Telemetry) -> None:
        error: Exception | None = None
        for attempt in range(1, self._backoff.max_attempts + 1):
            error = self._attempt(job, attempt, telemetry)
            if error is None:
                telemetry.count("succeeded", job.name)
                return
            if attempt == self._backoff.max_attempts:
                break
            telemetry.count("retried", job.name)
            self._sleep(self._backoff.delay(attempt, self._rand()))
            if self._closing.is_set():
                telemetry.dropped(job.name, SHUTDOWN)
                return
        telemetry.count("failed", job.name)
        self._log_failure_once(job, error)

    def _attempt(self, job: _Job, attempt: int, telemetry: _Telemetry) -> Exception | None:
        from opentelemetry import trace

        span = telemetry.start_span(job, attempt)
        telemetry.count("running", job.name)
        started = self._clock()
        error = None
        with trace.use_span(
            span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            try:
                job.fn(*job.args, **job.kwargs)
            except Exception as exc:  # the job's own failure: retried, counted, logged once
                error = exc
        telemetry.attempt_done(job.name, span, self._clock() - started, error)
        return error

    def _log_failure_once(self, job: _Job, error: Exception | None) -> None:
        with self._lock:
            first = job.name not in self._logged
            self._logged.add(job.name)
        if first:
            attempts = self._backoff.max_attempts
            msg = "sloscope: job %r failed after %d attempts (logged once per job name)"
            log.warning(msg, job.name, attempts, exc_info=error)
