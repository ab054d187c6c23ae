"""RED metrics (rate, errors, duration) from server and consumer spans.

Names, labels and buckets are those of the OpenTelemetry Collector's ``spanmetrics``
connector (namespace ``traces.span.metrics``, histogram unit ``s``) after Prometheus
translation, so dashboards and rules written for it work unchanged::

    traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code}
    traces_span_metrics_duration_seconds_bucket{..., le} / _sum / _count

``span_kind`` is e.g. ``SPAN_KIND_SERVER`` and ``status_code`` one of ``STATUS_CODE_UNSET``,
``STATUS_CODE_OK``, ``STATUS_CODE_ERROR``. Where we differ on purpose: only SERVER and
CONSUMER spans count (the entry points SLOs are about; the connector counts every kind),
and exemplars are not produced because the store has no exemplar storage yet.

The values are cumulative, so the accumulator keeps one state per series in memory. The
number of series is bounded: spans of a series beyond the bound are counted in one overflow
series labelled ``otel_metric_overflow="true"`` (the connector's convention) and in
:attr:`RedAccumulator.overflow_spans`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from collector.model import Labels
from collector.store.exemplars import Exemplar
from collector.store.spans import SpanKind, SpanRecord

__all__ = [
    "CALLS",
    "DEFAULT_BUCKETS_SECONDS",
    "DURATION",
    "RED_KINDS",
    "RedAccumulator",
]

CALLS = "traces_span_metrics_calls_total"
DURATION = "traces_span_metrics_duration_seconds"
#: The connector's ``defaultHistogramBucketsMs`` (2ms .. 15s) in seconds.
DEFAULT_BUCKETS_SECONDS: tuple[float, ...] = tuple(
    ms / 1000
    for ms in (2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000)
)
RED_KINDS = frozenset({SpanKind.SERVER, SpanKind.CONSUMER})
_OVERFLOW = (("otel_metric_overflow", "true"),)

Sample = tuple[Labels, int, float]


@dataclass
class _Series:
    """Cumulative state of one (service, span, kind, status) combination."""

    labels: tuple[tuple[str, str], ...]
    buckets: list[int]
    count: int = 0
    total_seconds: float = 0.0
    last_emit_ms: int = -(2**62)
    bucket_labels: list[Labels] = field(default_factory=list)


def format_le(bound: float) -> str:
    """``le`` as Prometheus' Go client writes it: ``0.002``, ``1``, ``1.4``, ``+Inf``."""
    if bound == float("inf"):
        return "+Inf"
    return str(int(bound)) if float(bound).is_integer() else repr(bound)


class RedAccumulator:
    """Thread-safe cumulative RED state; :meth:`observe` returns the samples to append.

    >>> red = RedAccumulator()
    >>> red.observe([])
    []
    """

    def __init__(
        self, max_series: int = 10_000, buckets: Sequence[float] = DEFAULT_BUCKETS_SECONDS
    ) -> None:
        if max_series < 1:
            raise ValueError(f"max_series must be positive, got {max_series}")
        if list(buckets) != sorted(set(buckets)):
            raise ValueError("buckets must be strictly increasing")
        self.max_series = max_series
        self.buckets = tuple(float(b) for b in buckets)
        self.overflow_spans = 0
        self._series: dict[tuple[tuple[str, str], ...], _Series] = {}
        self._lock = threading.Lock()

    @property
    def series_count(self) -> int:
        with self._lock:
            return len(self._series)

    def observe(self, records: Iterable[SpanRecord]) -> list[Sample]:
        """Count the SERVER and CONSUMER spans and return every touched series' samples."""
        return self.observe_batch(records)[0]

    def observe_batch(self, records: Iterable[SpanRecord]) -> tuple[list[Sample], list[Exemplar]]:
        """Count the SERVER and CONSUMER spans; every touched series' samples, and exemplars.

        Samples carry the batch's time: the latest end among the counted spans, in ms. A
        series never gets a time at or before its previous one (a late batch is stamped
        1 ms after it), so the store never rejects them as out of order or duplicate.
        """
        counted = [r for r in records if r.kind in RED_KINDS]
        if not counted:
            return [], []
        t_ms = max(r.end_time_unix_nano for r in counted) // 1_000_000
        with self._lock:
            touched: dict[int, _Series] = {}
            examples: dict[Labels, SpanRecord] = {}
            for record in counted:
                series = self._series_for(record)
                series.count += 1
                seconds = record.duration_ns / 1e9
                series.total_seconds += seconds
                bucket = bisect.bisect_left(self.buckets, seconds)
                series.buckets[bucket] += 1
                touched[id(series)] = series
                examples[series.bucket_labels[bucket]] = record
            samples = [s for series in touched.values() for s in self._samples(series, t_ms)]
        return samples, [_exemplar(labels, record) for labels, record in examples.items()]

    def _series_for(self, record: SpanRecord) -> _Series:
        """The state for a span's labels (caller holds the lock); overflow when full."""
        key = (
            ("service_name", record.service),
            ("span_kind", f"SPAN_KIND_{record.kind.name}"),
            ("span_name", record.name),
            ("status_code", f"STATUS_CODE_{record.status_code.name}"),
        )
        series = self._series.get(key)
        if series is None:
            # One slot stays free for the overflow series itself.
            if len(self._series) >= self.max_series - 1 and key != _OVERFLOW:
                self.overflow_spans += 1
                key = _OVERFLOW
                series = self._series.get(key)
            if series is None:
                series = self._new_series(key)
                self._series[key] = series
        return series

    def _new_series(self, key: tuple[tuple[str, str], ...]) -> _Series:
        series = _Series(key, [0] * (len(self.buckets) + 1))
        name = (("__name__", f"{DURATION}_bucket"),)
        series.bucket_labels = [
            Labels.of(key + name + (("le", format_le(b)),)) for b in (*self.buckets, float("inf"))
        ]
        return series

    def _samples(self, series: _Series, t_ms: int) -> list[Sample]:
        """The series' cumulative values at ``t_ms`` (caller holds the lock)."""
        t_ms = max(t_ms, series.last_emit_ms + 1)
        series.last_emit_ms = t_ms
        key = series.labels
        out: list[Sample] = [
            (Labels.of(key + (("__name__", CALLS),)), t_ms, float(series.count)),
            (Labels.of(key + (("__name__", f"{DURATION}_sum"),)), t_ms, series.total_seconds),
            (Labels.of(key + (("__name__", f"{DURATION}_count"),)), t_ms, float(series.count)),
        ]
        running = 0
        for labels, n in zip(series.bucket_labels, series.buckets, strict=True):
            running += n
            out.append((labels, t_ms, float(running)))
        return out


def _exemplar(bucket: Labels, record: SpanRecord) -> Exemplar:
    ids = Labels.of({"trace_id": record.trace_id.hex(), "span_id": record.span_id.hex()})
    return Exemplar(bucket, ids, record.end_time_unix_nano // 1_000_000, record.duration_ns / 1e9)
