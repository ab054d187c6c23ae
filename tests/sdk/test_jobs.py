"""JobWorker: lazy threads, bounded queue, retries, metrics, spans and shutdown.

No test sleeps: backoff waits go to a recording sleeper, durations come from a fake clock, and
jobs that must stay running block on Events the test sets.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from sloscope.jobs import JobWorker
from tests.sdk.conftest import finished_spans, sample

WAIT = 5.0  # only a guard against a hang; nothing here waits that long when it works


@pytest.fixture
def make_worker(client) -> Iterator[Callable[..., JobWorker]]:
    """JobWorkers on the test's client with a recording sleeper; all shut down afterwards."""
    made: list[JobWorker] = []

    def make(**kwargs: Any) -> JobWorker:
        kwargs.setdefault("client", client)
        kwargs.setdefault("jitter", 0.0)
        worker = JobWorker(**kwargs)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        assert worker.shutdown(timeout=WAIT)


def fake_clock(step: float = 0.25) -> Callable[[], float]:
    """Each call is ``step`` seconds after the last, so every attempt lasts exactly ``step``."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def failing(times: int) -> Callable[[], str]:
    """A job raising RuntimeError on its first ``times`` calls, then returning "ok"."""
    calls = itertools.count(1)

    def job() -> str:
        if next(calls) <= times:
            raise RuntimeError("boom")
        return "ok"

    return job


def blocker() -> tuple[Callable[[], None], threading.Event, threading.Event]:
    """A job that signals ``started`` and then waits for ``release``."""
    started, release = threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        assert release.wait(WAIT)

    return job, started, release


def by_job(name: str) -> dict[str, str]:
    return {"job": name}


def test_no_thread_starts_before_the_first_submit(make_worker):
    def ours() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("sloscope-jobs-lazy")]

    worker = make_worker(name="lazy", workers=2)
    assert ours() == []
    assert worker.submit(lambda: None)
    assert len(ours()) == 2


def test_a_job_runs_with_its_arguments_and_is_measured(client, make_worker):
    results = []
    worker = make_worker(clock=fake_clock(0.25))

    def add(a: int, b: int, *, c: int) -> None:
        results.append(a + b + c)

    assert worker.submit(add, 1, 2, c=3, job_name="add")
    assert worker.flush(timeout=WAIT)

    assert results == [6]
    assert sample(client, "jobs_queued_total", by_job("add")) == 1
    assert sample(client, "jobs_succeeded_total", by_job("add")) == 1
    assert sample(client, "jobs_failed_total", by_job("add")) is None
    assert sample(client, "jobs_retried_total", by_job("add")) is None
    assert sample(client, "jobs_running", by_job("add")) == 0
    assert sample(client, "job_duration_seconds_count", by_job("add")) == 1
    assert sample(client, "job_duration_seconds_sum", by_job("add")) == 0.25
    assert sample(client, "jobs_queue_depth", {"worker": "default"}) == 0


def test_the_job_name_defaults_to_the_function_qualname(client, make_worker):
    worker = make_worker()

    def send_receipt() -> None:
        pass

    assert worker.submit(send_receipt)
    assert worker.join(timeout=WAIT)
    name = "test_the_job_name_defaults_to_the_function_qualname.<locals>.send_receipt"
    assert sample(client, "jobs_succeeded_total", by_job(name)) == 1


def test_retries_wait_exponentially_up_to_max_delay(client, make_worker):
    delays: list[float] = []
    worker = make_worker(
        max_attempts=4, base_delay=0.5, max_delay=1.5, sleep=delays.append, clock=fake_clock()
    )

    assert worker.submit(failing(3), job_name="flaky")
    assert worker.flush(timeout=WAIT)

    assert delays == [0.5, 1.0, 1.5]  # 2.0 is capped at max_delay
    assert sample(client, "jobs_retried_total", by_job("flaky")) == 3
    assert sample(client, "jobs_succeeded_total", by_job("flaky")) == 1
    assert sample(client, "jobs_failed_total", by_job("flaky")) is None
    assert sample(client, "job_duration_seconds_count", by_job("flaky")) == 4
    assert sample(client, "job_duration_seconds_sum", by_job("flaky")) == 1.0


def test_jitter_only_shortens_the_wait(make_worker):
    delays: list[float] = []
    worker = make_worker(
        max_attempts=3, base_delay=1.0, jitter=0.2, rand=lambda: 0.5, sleep=delays.append
    )

    assert worker.submit(failing(2), job_name="flaky")
    assert worker.flush(timeout=WAIT)

    assert delays == pytest.approx([0.9, 1.8])


def test_the_final_failure_is_counted_and_logged_once_per_job_name(client, make_worker, caplog):
    delays: list[float] = []
    worker = make_worker(max_attempts=2, base_delay=0.1, sleep=delays.append)

    with caplog.at_level(logging.WARNING, logger="sloscope"):
        assert worker.submit(failing(99), job_name="doomed")
        assert worker.submit(failing(99), job_name="doomed")
        assert worker.flush(timeout=WAIT)

    assert delays == [0.1, 0.1]
    assert sample(client, "jobs_failed_total", by_job("doomed")) == 2
    assert sample(client, "jobs_retried_total", by_job("doomed")) == 2
    assert sample(client, "jobs_succeeded_total", by_job("doomed")) is None
    assert sample(client, "jobs_running", by_job("doomed")) == 0
    failures = [r for r in caplog.records if "'doomed' failed after 2 attempts" in r.message]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and failures[0].exc_info[0] is RuntimeError


def test_a_full_queue_refuses_without_blocking_and_counts_the_drop(client, make_worker):
    job, started, release = blocker()
    worker = make_worker(workers=1, maxsize=2)

    assert worker.submit(job, job_name="block")
    assert started.wait(WAIT)  # the worker holds it: the queue is empty again
    assert worker.submit(lambda: None, job_name="queued")
    assert worker.submit(lambda: None, job_name="queued")
    assert sample(client, "jobs_queue_depth", {"worker": "default"}) == 2
    assert worker.submit(lambda: None, job_name="queued") is False

    assert sample(client, "jobs_dropped_total", {"job": "queued", "reason": "job_queue_full"}) == 1
    assert sample(client, "sloscope_sdk_dropped_total", {"reason": "job_queue_full"}) == 1
    assert sample(client, "jobs_queued_total", by_job("queued")) == 2
    assert sample(client, "jobs_running", by_job("block")) == 1
    release.set()
    assert worker.flush(timeout=WAIT)
    assert sample(client, "jobs_queue_depth", {"worker": "default"}) == 0
    assert sample(client, "jobs_succeeded_total", by_job("queued")) == 2


def test_each_attempt_is_a_consumer_span_under_the_submitting_trace(client, spans, make_worker):
    worker = make_worker(name="mail", max_attempts=2, sleep=lambda _seconds: None)

    calls = itertools.count()

    def send() -> None:
        with client.tracer.start_as_current_span("smtp"):
            pass
        if next(calls) == 0:
            raise ConnectionError("smtp down")

    with client.tracer.start_as_current_span("POST /orders") as request:
        assert worker.submit(send, job_name="send")
    assert worker.flush(timeout=WAIT)

    done = finished_spans(client, spans)
    request_ctx = request.get_span_context()
    attempts = sorted(
        (s for s in done if s.name == "send process"),
        key=lambda s: s.attributes["sloscope.job.attempt"],
    )
    assert [s.attributes["sloscope.job.attempt"] for s in attempts] == [1, 2]
    for span in attempts:
        assert span.kind is SpanKind.CONSUMER
        assert span.parent.span_id == request_ctx.span_id
        assert span.context.trace_id == request_ctx.trace_id
        assert [link.context for link in span.links] == [request_ctx]
        assert span.attributes["messaging.operation.type"] == "process"
        assert span.attributes["messaging.operation.name"] == "process"
        assert span.attributes["messaging.destination.name"] == "mail"
        assert span.attributes["sloscope.job.name"] == "send"
    failed, succeeded = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ConnectionError: smtp down"
    assert failed.attributes["error.type"] == "ConnectionError"
    assert [event.name for event in failed.events] == ["exception"]
    assert succeeded.status.status_code is StatusCode.UNSET
    assert "error.type" not in succeeded.attributes
    # The job's own spans nest under the attempt that ran them.
    smtp = [s for s in done if s.name == "smtp"]
    assert sorted(s.parent.span_id for s in smtp) == sorted(s.context.span_id for s in attempts)


def test_a_job_submitted_outside_a_trace_starts_its_own(client, spans, make_worker):
    worker = make_worker()
    assert worker.submit(lambda: None, job_name="cron")
    assert worker.flush(timeout=WAIT)

    (span,) = [s for s in finished_spans(client, spans) if s.name == "cron process"]
    assert span.parent is None
    assert list(span.links) == []


def test_shutdown_stops_at_its_deadline_and_drops_what_is_left(client, make_worker):
    job, started, release = blocker()
    ran = []
    worker = make_worker(workers=1)
    assert worker.submit(job, job_name="block")
    assert started.wait(WAIT)
    assert worker.submit(ran.append, 1, job_name="late")

    assert worker.shutdown(timeout=0) is False  # "block" is still running
    assert worker.submit(ran.append, 2, job_name="late") is False

    dropped = {"job": "late", "reason": "job_shutdown"}
    assert sample(client, "jobs_dropped_total", dropped) == 2
    assert sample(client, "sloscope_sdk_dropped_total", {"reason": "job_shutdown"}) == 2
    assert sample(client, "jobs_queue_depth", {"worker": "default"}) == 0
    release.set()
    assert worker.shutdown(timeout=WAIT) is True  # the running job finishes, threads end
    assert ran == []
    assert sample(client, "jobs_succeeded_total", by_job("block")) == 1


def test_shutdown_drains_the_queue_within_its_timeout(client, make_worker):
    ran = []
    worker = make_worker(workers=2)
    for number in range(5):
        assert worker.submit(ran.append, number, job_name="drain")

    assert worker.shutdown(timeout=WAIT) is True
    assert sorted(ran) == [0, 1, 2, 3, 4]
    assert not [t for t in threading.enumerate() if t.name.startswith("sloscope-jobs-default")]


def test_shutdown_cuts_a_backoff_wait_short(client, make_worker):
    attempted = threading.Event()

    def job() -> None:
        attempted.set()
        raise RuntimeError("down")

    worker = make_worker(max_attempts=5, base_delay=3600.0, sleep=None)
    assert worker.submit(job, job_name="retrying")
    assert attempted.wait(WAIT)

    assert worker.shutdown(timeout=WAIT) is True  # not an hour later
    assert sample(client, "jobs_dropped_total", {"job": "retrying", "reason": "job_shutdown"}) == 1
    assert sample(client, "job_duration_seconds_count", by_job("retrying")) == 1


def test_jobs_run_unrecorded_before_init():
    ran = []
    worker = JobWorker()  # no client: sloscope.get_client() is the non-recording one
    assert worker.submit(ran.append, "x")
    assert worker.flush(timeout=WAIT)
    assert worker.shutdown(timeout=WAIT)
    assert ran == ["x"]


def test_a_forked_child_starts_its_own_threads_and_not_the_parents_jobs(make_worker):
    job, started, release = blocker()
    parent_pid = os.getpid()
    read_end, write_end = os.pipe()

    def report(text: str) -> None:
        if os.getpid() != parent_pid:
            os.write(write_end, text.encode())

    worker = make_worker(workers=1)
    assert worker.submit(job, job_name="block")
    assert started.wait(WAIT)
    assert worker.submit(report, "parent-job", job_name="report")
    with warnings.catch_warnings():
        # Python 3.12+ warns on fork() with threads running; the child only runs our worker.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ok = worker.submit(report, "child-job", job_name="report")
            code = 0 if ok and worker.flush(timeout=WAIT) else 1
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    release.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert output == b"child-job"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"maxsize": 0}, "maxsize must be at least 1"),
        ({"name": ""}, "name must not be empty"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay": -1.0}, "must not be negative"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        JobWorker(**kwargs)


def test_submitting_something_not_callable_is_a_type_error(make_worker):
    with pytest.raises(TypeError, match="needs a callable, got str"):
        make_worker().submit("send_email")
