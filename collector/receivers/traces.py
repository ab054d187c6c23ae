"""The traces sink the OTLP HTTP and gRPC receivers hand decoded requests to.

One request: convert (rejecting invalid spans) -> write the new spans (durable) -> count the
new SERVER/CONSUMER spans into RED metrics -> append those samples (durable). Only then is
the request acknowledged, so an acknowledged span is stored and counted.

Concurrent requests share those writes (:class:`~collector.receivers.group_commit.
GroupCommit`): while one batch commits, the requests arriving meanwhile convert their spans
and queue; the next batch writes all their spans in one transaction and their RED samples in
one append, then answers each of them. Exporters send concurrently (several services, the
SDK's parallel exports), so a commit's cost is paid per batch of requests, not per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.convert.otlp_spans import convert_request
from collector.convert.spans_to_red import RedAccumulator
from collector.receivers.group_commit import GroupCommit, GroupCommitError, Outcomes
from collector.store.exemplars import ExemplarStore
from collector.store.interfaces import Appender, StoreError
from collector.store.spans import SpanRecord

__all__ = ["BatchingTracesSink", "SpanWriter", "TracesSink", "make_traces_sink"]

#: ``sink(request) -> (accepted spans, rejected spans, partial_success message)``.
TracesSink = Callable[[ExportTraceServiceRequest], tuple[int, int, str]]


class SpanWriter(Protocol):
    """What the sink needs of :class:`~collector.store.spans.SpanStore`: store spans durably
    and say which were new."""

    def write_new(
        self, records: Sequence[SpanRecord]
    ) -> list[SpanRecord]: ...  # pragma: no cover - protocol


def make_traces_sink(
    span_store: SpanWriter,
    appender: Appender,
    red: RedAccumulator,
    exemplar_store: ExemplarStore | None = None,
) -> BatchingTracesSink:
    """Build the sink; a failed write raises :class:`StoreError` (the receivers answer 503).
    With an ``exemplar_store``, the RED duration buckets get exemplars pointing at spans."""
    return BatchingTracesSink(span_store, appender, red, exemplar_store)


class BatchingTracesSink:
    """A :data:`TracesSink` storing concurrent requests together.

    Spans already stored (a client retrying a batch) are accepted again but counted into the
    RED metrics once. Batches are written one at a time in queue order, so each series'
    samples reach the store in time order even with concurrent requests. If a batch's
    spans cannot be stored, each request's spans are tried alone and only the failing
    requests get the error; if the RED append fails, every request of the batch does
    (each answered 503, so each client retries).
    """

    def __init__(
        self,
        span_store: SpanWriter,
        appender: Appender,
        red: RedAccumulator,
        exemplar_store: ExemplarStore | None = None,
    ) -> None:
        self._span_store = span_store
        self._appender = appender
        self._red = red
        self._exemplar_store = exemplar_store
        self._committer: GroupCommit[list[SpanRecord]] = GroupCommit(self._write)

    @property
    def queued(self) -> int:
        """Requests waiting for the next batch."""
        return self._committer.queued

    def __call__(self, request: ExportTraceServiceRequest) -> tuple[int, int, str]:
        result = convert_request(request)  # outside the batch: requests convert in parallel
        if result.spans:
            try:
                self._committer.submit(result.spans)
            except GroupCommitError as exc:  # the receivers answer a StoreError with 503
                raise StoreError(f"storing spans failed: {exc.__cause__}") from exc
        return len(result.spans), result.rejected_total, result.message

    def _write(self, batch: list[list[SpanRecord]]) -> Outcomes:
        outcomes: Outcomes = [None] * len(batch)
        try:
            new = self._span_store.write_new([r for spans in batch for r in spans])
        except Exception:
            if len(batch) == 1:
                raise
            # The transaction was rolled back: write each request's spans alone, so only
            # a request the store cannot take (a NUL in a PostgreSQL text) fails.
            new = []
            for i, spans in enumerate(batch):
                try:
                    new += self._span_store.write_new(spans)
                except Exception as exc:
                    outcomes[i] = exc
        if new:  # batches never overlap: the RED samples reach the store in time order
            samples, exemplars = self._red.observe_batch(new)
            if samples:
                self._appender.append(samples)
            if exemplars and self._exemplar_store is not None:
                self._exemplar_store.append(exemplars)
        return outcomes
