"""The traces sink the OTLP HTTP and gRPC receivers hand decoded requests to.

One request: convert (rejecting invalid spans) -> write the new spans (durable) -> count the
new SERVER/CONSUMER spans into RED metrics -> append those samples (durable). Only then is
the request acknowledged, so an acknowledged span is stored and counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.convert.otlp_spans import convert_request
from collector.convert.spans_to_red import RedAccumulator
from collector.store.exemplars import ExemplarStore
from collector.store.interfaces import Appender
from collector.store.spans import SpanRecord

__all__ = ["SpanWriter", "TracesSink", "make_traces_sink"]

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
) -> TracesSink:
    """Build the sink; it raises only what the stores raise (the receiver answers 503).
    With an ``exemplar_store``, the RED duration buckets get exemplars pointing at spans.

    Spans already stored (a client retrying a batch) are accepted again but counted into the
    RED metrics once. RED updates and their appends are serialised by one lock, so each
    series' samples reach the store in time order even with concurrent requests.
    """
    emit_lock = threading.Lock()

    def sink(request: ExportTraceServiceRequest) -> tuple[int, int, str]:
        result = convert_request(request)
        new = span_store.write_new(result.spans) if result.spans else []
        if new:
            with emit_lock:
                samples, exemplars = red.observe_batch(new)
                if samples:
                    appender.append(samples)
                if exemplars and exemplar_store is not None:
                    exemplar_store.append(exemplars)
        return len(result.spans), result.rejected_total, result.message

    return sink
