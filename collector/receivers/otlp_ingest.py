"""What the OTLP HTTP and gRPC receivers share: convert, bound the work in flight, append.

Overload: at most ``max_in_flight`` exports are converted or waiting to be appended at once.
One more is refused at once with :class:`Overloaded` (HTTP 429, gRPC RESOURCE_EXHAUSTED, both
with a retry delay) instead of queueing without bound behind a slow store; the stock
exporters retry those after the delay. A :class:`~collector.store.interfaces.StoreError`
passes through (HTTP 503, gRPC UNAVAILABLE, also retryable).

Metric exports are converted and appended one at a time under a lock, so that the running
totals of DELTA series reach the store in time order. A store failure after a delta point
was added to its total is not undone: the client's retry counts that delta twice. Cumulative
series are unaffected (a retried sample is an exact duplicate, which the store ignores).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.convert.otlp_delta import DeltaAccumulator
from collector.convert.otlp_metrics import convert_metrics
from collector.store.exemplars import Exemplar, ExemplarStore
from collector.store.interfaces import Appender

__all__ = ["IngestCounts", "OtlpIngest", "Overloaded", "TracesSink"]

#: ``sink(request) -> (accepted spans, rejected spans, partial_success message)``.
TracesSink = Callable[[ExportTraceServiceRequest], tuple[int, int, str]]


class Overloaded(RuntimeError):
    """Too many exports in flight; the client should retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many exports in flight, retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class IngestCounts:
    """A copy of :class:`OtlpIngest`'s counters: ``accepted`` by signal, ``refused`` by
    ``(signal, reason)`` and the exports ``in_flight`` when it was taken."""

    accepted: dict[str, int]
    refused: dict[tuple[str, str], int]
    in_flight: int


class OtlpIngest:
    """One receiver-wide pipeline; share one instance between the HTTP and gRPC receivers
    so that they share the delta totals and the in-flight bound.

    ``dropped`` counts what was not stored, by reason (conversion rejections, store
    rejections, exemplars with no exemplar store, overload refusals). For ``/metrics``,
    :meth:`counts` copies the same refusals keyed by ``(signal, reason)``, what was accepted
    by signal (``points`` converted, ``samples`` stored, ``spans`` accepted) and how many
    exports are in flight.
    """

    def __init__(
        self,
        appender: Appender,
        *,
        traces_sink: TracesSink | None = None,
        accumulator: DeltaAccumulator | None = None,
        exemplar_store: ExemplarStore | None = None,
        max_in_flight: int = 16,
        retry_after_s: int = 5,
    ) -> None:
        if max_in_flight < 1 or retry_after_s < 1:
            raise ValueError("max_in_flight and retry_after_s must be positive")
        self.appender = appender
        self.traces_sink = traces_sink
        self.exemplar_store = exemplar_store
        self.accumulator = accumulator if accumulator is not None else DeltaAccumulator()
        self.retry_after_s = retry_after_s
        self.dropped: Counter[str] = Counter()
        self.max_in_flight = max_in_flight
        self._accepted: Counter[str] = Counter()
        self._refused: Counter[tuple[str, str]] = Counter()
        self._in_flight = 0
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._metrics_lock = threading.Lock()
        self._dropped_lock = threading.Lock()

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(blocking=False):
            self._count("exports", {"overloaded": 1})
            raise Overloaded(self.retry_after_s)
        self._add_in_flight(1)
        try:
            yield
        finally:
            self._add_in_flight(-1)
            self._slots.release()

    def _add_in_flight(self, delta: int) -> None:
        with self._dropped_lock:
            self._in_flight += delta

    def _count(self, signal: str, reasons: dict[str, int]) -> None:
        nonzero = {k: v for k, v in reasons.items() if v}
        with self._dropped_lock:
            self.dropped.update(nonzero)
            self._refused.update({(signal, k): v for k, v in nonzero.items()})

    def _accept(self, signals: dict[str, int]) -> None:
        with self._dropped_lock:
            self._accepted.update({k: v for k, v in signals.items() if v})

    def counts(self) -> IngestCounts:
        """A consistent copy of the counters, taken under their lock."""
        with self._dropped_lock:
            return IngestCounts(dict(self._accepted), dict(self._refused), self._in_flight)

    def export_metrics(self, request: ExportMetricsServiceRequest) -> tuple[int, str]:
        """Store what converts; ``(rejected data points, message)`` for partial_success.

        Samples the store refuses (out of order, too old) count as rejected points: OTLP
        has no finer unit, and the client must not think everything was kept.
        """
        with self._slot(), self._metrics_lock:
            result = convert_metrics(request, self.accumulator)
            stored = self.appender.append(result.samples) if result.samples else None
            kept = self._store_exemplars(result.exemplars)
        store_rejected = stored.rejected if stored is not None else {}
        self._accept(
            {
                "points": result.points - result.rejected_points,
                "samples": stored.appended if stored is not None else 0,
                "exemplars": kept,
            }
        )
        self._count("points", {reason.value: n for reason, n in result.rejected.items()})
        self._count("samples", {reason.value: n for reason, n in store_rejected.items()})
        unstored = len(result.exemplars) if self.exemplar_store is None else 0
        self._count(
            "exemplars",
            {"exemplar_storage_disabled": unstored, "invalid_exemplar": result.exemplars_invalid},
        )
        messages = [result.message()] if result.rejected_points else []
        if store_rejected:
            detail = ", ".join(f"{n} {r.value}" for r, n in store_rejected.items())
            messages.append(f"samples refused by the store: {detail}")
        return result.rejected_points + sum(store_rejected.values()), "; ".join(messages)

    def _store_exemplars(self, exemplars: list[Exemplar]) -> int:
        """Exemplars are kept after their samples; a repeat of a stored one is not counted."""
        if self.exemplar_store is None or not exemplars:
            return 0
        return self.exemplar_store.append(exemplars)

    def export_traces(self, request: ExportTraceServiceRequest) -> tuple[int, str]:
        """Hand spans to the traces sink; ``(rejected spans, message)``."""
        if self.traces_sink is None:
            raise LookupError("no traces sink configured")
        with self._slot():
            accepted, rejected, message = self.traces_sink(request)
        self._accept({"spans": accepted})
        self._count("spans", {"spans_rejected": rejected})
        return rejected, message
