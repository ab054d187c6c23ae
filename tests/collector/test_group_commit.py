"""Group commit: requests arriving during a write share the next one, nobody returns before
the write holding its item, a failed write fails exactly its own requests; and the traces
sink built on it under concurrent exports."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from collector.convert.spans_to_red import RedAccumulator
from collector.promql.engine import Engine
from collector.receivers.group_commit import GroupCommit, GroupCommitError
from collector.receivers.traces import make_traces_sink
from collector.store.interfaces import StoreError
from collector.store.spans import SpanStore
from collector.store.sql import SqlStore

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


class _Gate:
    """A write function whose first call waits until the test opens the gate."""

    def __init__(self, fail_on: object = None) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    def __call__(self, items: list[int]) -> None:
        if not self.batches and not self.entered.is_set():
            self.entered.set()
            assert self.opened.wait(timeout=60)
        if self.fail_on in items:
            raise OSError("disk full")
        self.batches.append(list(items))


def _submit_all(committer: GroupCommit[int], items: range, errors: dict) -> list[threading.Thread]:
    def run(item: int) -> None:
        try:
            committer.submit(item)
        except GroupCommitError as exc:
            errors[item] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in items]
    for thread in threads:
        thread.start()
    return threads


def _wait_queued(committer: GroupCommit, n: int) -> None:
    while committer.queued < n:  # the waiting threads queue up: a condition, not a duration
        threading.Event().wait(0.001)


def test_requests_arriving_during_a_write_share_the_next_one():
    gate = _Gate()
    committer: GroupCommit[int] = GroupCommit(gate)
    errors: dict[int, GroupCommitError] = {}
    first = _submit_all(committer, range(1), errors)
    assert gate.entered.wait(timeout=60)
    rest = _submit_all(committer, range(1, 6), errors)
    _wait_queued(committer, 5)
    assert gate.batches == []  # nobody got past the first write
    gate.opened.set()
    for thread in first + rest:
        thread.join(timeout=60)
    assert gate.batches[0] == [0]
    assert sorted(gate.batches[1]) == [1, 2, 3, 4, 5] and len(gate.batches) == 2
    assert errors == {}


def test_a_failed_write_fails_its_own_requests_only():
    gate = _Gate(fail_on=3)
    committer: GroupCommit[int] = GroupCommit(gate, max_batch=2)
    errors: dict[int, GroupCommitError] = {}
    first = _submit_all(committer, range(1), errors)
    assert gate.entered.wait(timeout=60)
    rest = _submit_all(committer, range(1, 5), errors)
    _wait_queued(committer, 4)
    gate.opened.set()
    for thread in first + rest:
        thread.join(timeout=60)
    written = [i for batch in gate.batches for i in batch]
    failed = sorted(errors)
    assert 3 in failed and sorted(written + failed) == [0, 1, 2, 3, 4]
    assert len(failed) == 2  # 3 and the one item batched with it
    assert all(isinstance(errors[i].__cause__, OSError) for i in failed)


def _request(trace: int, spans: int, shared: bool) -> ExportTraceServiceRequest:
    """``spans`` SERVER spans of one trace; with ``shared``, also the span every request
    with ``shared`` carries (a duplicate across concurrent requests)."""
    made = [
        Span(
            trace_id=trace.to_bytes(16, "big"),
            span_id=(s + 1).to_bytes(8, "big"),
            name="GET /cart",
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=T0 + s * MS,
            end_time_unix_nano=T0 + (s + 1) * MS,
        )
        for s in range(spans)
    ]
    if shared:
        made.append(
            Span(
                trace_id=(999).to_bytes(16, "big"),
                span_id=(1).to_bytes(8, "big"),
                name="GET /cart",
                kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=T0,
                end_time_unix_nano=T0 + MS,
            )
        )
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=made)])
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="shop"))
    )
    return ExportTraceServiceRequest(resource_spans=[resource])


def test_concurrent_exports_are_all_stored_and_counted_once(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        span_store = SpanStore(store.engine)
        span_store.create()
        sink = make_traces_sink(span_store, store, RedAccumulator())
        answers: list[tuple[int, int, str]] = []

        def export(trace: int) -> None:
            answers.append(sink(_request(trace, 4, shared=True)))

        threads = [threading.Thread(target=export, args=(t,)) for t in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert answers == [(5, 0, "")] * 8
        assert len(span_store.search(limit=100)) == 9
        # Batches may be stamped 1 ms apart (a series never repeats a time): read after all.
        calls = Engine(store).instant_query(
            "sum(traces_span_metrics_calls_total)", T0 // MS + 60_000
        )
        assert [s.value for s in calls.value] == [8 * 4 + 1]


def test_a_failed_span_write_answers_store_error(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        span_store = SpanStore(store.engine)  # its tables were never created
        sink = make_traces_sink(span_store, store, RedAccumulator())
        with pytest.raises(StoreError, match="storing spans failed"):
            sink(_request(1, 2, shared=False))


def test_a_write_may_fail_single_items_of_its_batch():
    def write(items: list[int]) -> list[BaseException | None]:
        return [ValueError(f"bad {i}") if i % 2 else None for i in items]

    committer: GroupCommit[int] = GroupCommit(write)
    committer.submit(2)
    with pytest.raises(GroupCommitError) as failed:
        committer.submit(3)
    assert str(failed.value.__cause__) == "bad 3"


class _GatedSpans:
    """The real span store, whose first write waits for the test (to batch what follows)."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store
        self.entered, self.opened = threading.Event(), threading.Event()

    def write_new(self, records):
        if not self.entered.is_set():
            self.entered.set()
            assert self.opened.wait(timeout=60)
        return self.store.write_new(records)


@pytest.mark.postgres
def test_a_request_the_store_refuses_fails_alone(pg_database):
    with SqlStore(pg_database()) as store:
        span_store = SpanStore(store.engine)
        span_store.create()
        gated = _GatedSpans(span_store)
        sink = make_traces_sink(gated, store, RedAccumulator())
        bad = _request(3, 1, shared=False)
        bad.resource_spans[0].scope_spans[0].spans[0].name = "GET /\x00"  # text refuses NUL
        answers: dict[int, object] = {}

        def export(trace: int, request: ExportTraceServiceRequest) -> None:
            try:
                answers[trace] = sink(request)
            except StoreError as exc:
                answers[trace] = exc

        first = threading.Thread(target=export, args=(1, _request(1, 2, shared=False)))
        first.start()
        assert gated.entered.wait(timeout=60)
        rest = [
            threading.Thread(target=export, args=(2, _request(2, 2, shared=False))),
            threading.Thread(target=export, args=(3, bad)),
        ]
        for thread in rest:
            thread.start()
        while sink.queued < 2:  # both wait for the next batch: a condition, not a duration
            threading.Event().wait(0.001)
        gated.opened.set()
        for thread in [first, *rest]:
            thread.join(timeout=60)
        assert answers[1] == answers[2] == (2, 0, "")
        assert isinstance(answers[3], StoreError)
        assert sorted(int.from_bytes(t.trace_id, "big") for t in span_store.search()) == [1, 2]
