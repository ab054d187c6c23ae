"""OTLP metrics -> Prometheus samples, per the OpenTelemetry "Prometheus and OpenMetrics
Compatibility" specification and the collector's ``prometheusremotewrite`` translator.

What becomes what:

* gauge -> one series; a unit of ``1`` adds ``_ratio``.
* sum, monotonic -> a counter named ``..._total``; non-monotonic -> a gauge-like series.
* histogram -> ``_bucket{le}`` with cumulative counts (``+Inf`` = count), ``_sum``, ``_count``.
* summary -> ``{quantile}`` series, ``_sum``, ``_count``.
* DELTA sums and histograms are added up per series by a :class:`DeltaAccumulator` owned by
  the receiver (reset rules in ``otlp_delta``); without one they are rejected.
* exponential histograms are rejected, reason ``exponential_histogram_unsupported``: the
  store has no native histograms, and converting them to classic buckets would make the set
  of ``le`` series change whenever the SDK rescales, which breaks ``rate()`` per bucket. The
  partial_success message tells users to configure explicit-bucket histograms.
* resource: ``job`` = ``service.namespace/service.name`` (or ``service.name``), ``instance`` =
  ``service.instance.id``; every other resource attribute goes on one ``target_info`` series
  (value 1) per resource, at the newest timestamp of that resource's points.
* scope: ``otel_scope_name`` and ``otel_scope_version`` labels, so that two libraries emitting
  the same metric name do not collide.
* a point flagged ``FLAG_NO_RECORDED_VALUE`` becomes Prometheus' stale marker; a NaN value
  without the flag is kept as an ordinary NaN (a real value in Prometheus).
* exemplars are kept (:attr:`ConversionResult.exemplars`) with ``trace_id``/``span_id`` in
  lowercase hex and their filtered attributes as labels (while the label set stays within
  OpenMetrics' 128 characters): on the ``_total`` (or gauge) series of a sum, and on the
  ``_bucket`` series of the first bucket whose bound holds the exemplar's value for a histogram,
  as the collector's Prometheus translator places them.
* timestamps: nanoseconds -> milliseconds (truncated); a zero timestamp is rejected.

The conversion is pure apart from the accumulator: no I/O, no clock.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from collector.convert.otlp_delta import DeltaAccumulator
from collector.convert.otlp_names import (
    attribute_labels,
    format_bound,
    metric_name,
    value_string,
)
from collector.model import METRIC_NAME, STALE_NAN, Labels
from collector.store.exemplars import MAX_EXEMPLAR_LABEL_CHARS, Exemplar

__all__ = ["ConversionResult", "PointRejection", "Sample", "convert_metrics"]

Sample = tuple[Labels, int, float]
_NO_RECORDED_VALUE = pb.DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_RESOURCE_KEYS = ("service.name", "service.namespace", "service.instance.id")
_CUMULATIVE = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
_DELTA = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA


class PointRejection(enum.Enum):
    """Why a data point was not converted; counted and reported in partial_success."""

    EXPONENTIAL_HISTOGRAM = "exponential_histogram_unsupported"
    UNSPECIFIED_TEMPORALITY = "unspecified_temporality"
    DELTA_UNSUPPORTED = "delta_temporality_unsupported"
    DELTA_OUT_OF_ORDER = "delta_out_of_order"
    MISSING_TIMESTAMP = "missing_timestamp"
    MISSING_VALUE = "missing_value"
    INVALID_HISTOGRAM = "invalid_histogram_buckets"
    INVALID_NAME = "invalid_metric_name"


_HINTS = {
    PointRejection.EXPONENTIAL_HISTOGRAM: " (use explicit bucket histograms, e.g. "
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=explicit_bucket_histogram)",
}


@dataclass
class ConversionResult:
    """Samples ready for an ``Appender`` plus what could not be converted, by reason."""

    samples: list[Sample] = field(default_factory=list)
    points: int = 0
    rejected: Counter[PointRejection] = field(default_factory=Counter)
    exemplars: list[Exemplar] = field(default_factory=list)
    #: exemplars without a timestamp or a value: not kept
    exemplars_invalid: int = 0

    @property
    def rejected_points(self) -> int:
        return sum(self.rejected.values())

    def message(self) -> str:
        """A one-line summary for ``partial_success.error_message`` ("" if none rejected)."""
        parts = [
            f"{count} {reason.value}{_HINTS.get(reason, '')}"
            for reason, count in sorted(self.rejected.items(), key=lambda kv: kv[0].value)
        ]
        return f"rejected data points: {'; '.join(parts)}" if parts else ""


def convert_metrics(
    request: ExportMetricsServiceRequest, accumulator: DeltaAccumulator | None = None
) -> ConversionResult:
    """Convert one export request. Samples come out sorted by timestamp, so that points of
    one series sent out of order in a request are not refused by the store.

    >>> convert_metrics(ExportMetricsServiceRequest()).samples
    []
    """
    converter = _Converter(accumulator)
    for resource_metrics in request.resource_metrics:
        converter.resource(resource_metrics)
    converter.result.samples.sort(key=lambda sample: sample[1])
    return converter.result


def _resource_labels(attributes: dict[str, str]) -> dict[str, str]:
    name = attributes.get("service.name", "")
    namespace = attributes.get("service.namespace", "")
    job = f"{namespace}/{name}" if namespace and name else name
    return {"job": job, "instance": attributes.get("service.instance.id", "")}


class _Converter:
    """One request's conversion; the state is the result being built."""

    def __init__(self, accumulator: DeltaAccumulator | None) -> None:
        self.accumulator = accumulator
        self.result = ConversionResult()

    def resource(self, resource_metrics: pb.ResourceMetrics) -> None:
        raw = {kv.key: kv for kv in resource_metrics.resource.attributes}
        identity = _resource_labels(
            {k: value_string(raw[k].value) for k in _RESOURCE_KEYS if k in raw}
        )
        first = len(self.result.samples)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            base = {"otel_scope_name": scope.name, "otel_scope_version": scope.version}
            base.update({k: v for k, v in identity.items() if v})
            for metric in scope_metrics.metrics:
                self.metric(metric, base)
        others = [kv for key, kv in raw.items() if key not in _RESOURCE_KEYS]
        emitted = self.result.samples[first:]
        if others and emitted:
            labels = attribute_labels(others)
            labels.update({k: v for k, v in identity.items() if v})
            labels[METRIC_NAME] = "target_info"
            newest = max(sample[1] for sample in emitted)
            self.result.samples.append((Labels.of(labels), newest, 1.0))

    def metric(self, metric: pb.Metric, base: dict[str, str]) -> None:
        kind = metric.WhichOneof("data")
        if kind is None:
            return
        data = getattr(metric, kind)
        points = data.data_points
        self.result.points += len(points)
        if kind == "exponential_histogram":
            self._reject(PointRejection.EXPONENTIAL_HISTOGRAM, len(points))
            return
        counter = kind == "sum" and data.is_monotonic
        name = metric_name(metric.name, metric.unit, counter=counter, is_gauge=kind == "gauge")
        if not name:
            self._reject(PointRejection.INVALID_NAME, len(points))
            return
        temporality = getattr(data, "aggregation_temporality", _CUMULATIVE)
        if temporality not in (_CUMULATIVE, _DELTA):
            self._reject(PointRejection.UNSPECIFIED_TEMPORALITY, len(points))
            return
        if temporality == _DELTA and self.accumulator is None:
            self._reject(PointRejection.DELTA_UNSUPPORTED, len(points))
            return
        handler = self._histogram if kind == "histogram" else self._summary
        for point in points:
            if point.time_unix_nano <= 0:
                self._reject(PointRejection.MISSING_TIMESTAMP)
                continue
            labels = attribute_labels(point.attributes)
            labels.update(base)
            if kind in ("gauge", "sum"):
                self._number(name, labels, point, temporality == _DELTA)
            else:
                handler(name, labels, point, temporality == _DELTA)

    def _reject(self, reason: PointRejection, count: int = 1) -> None:
        self.result.rejected[reason] += count

    def _emit(self, name: str, labels: dict[str, str], ts_ms: int, value: float) -> None:
        self.result.samples.append((Labels.of({**labels, METRIC_NAME: name}), ts_ms, value))

    def _accumulate(self, name: str, labels: dict[str, str], point, values, layout=()):
        """Totals for a delta point, or None after recording a rejection."""
        assert self.accumulator is not None  # checked per metric before any point
        key = (name, Labels.of(labels), layout)
        totals = self.accumulator.add(key, point.start_time_unix_nano, point.time_unix_nano, values)
        if totals is None:
            self._reject(PointRejection.DELTA_OUT_OF_ORDER)
        return totals

    def _number(self, name: str, labels: dict[str, str], point, delta: bool) -> None:
        ts_ms = point.time_unix_nano // 1_000_000
        if point.flags & _NO_RECORDED_VALUE:
            self._emit(name, labels, ts_ms, STALE_NAN)
            return
        which = point.WhichOneof("value")
        if which is None:
            self._reject(PointRejection.MISSING_VALUE)
            return
        value = float(getattr(point, which))
        if delta:
            totals = self._accumulate(name, labels, point, [value])
            if totals is None:
                return
            value = totals[0]
        self._emit(name, labels, ts_ms, value)
        for exemplar in point.exemplars:
            self._exemplar(name, labels, exemplar)

    def _histogram(self, name: str, labels: dict[str, str], point, delta: bool) -> None:
        bounds = list(point.explicit_bounds)
        counts = [float(c) for c in point.bucket_counts]
        ordered = all(a < b for a, b in zip(bounds, bounds[1:], strict=False))
        if (
            (counts and len(counts) != len(bounds) + 1)
            or not ordered
            or any(b != b for b in bounds)
        ):
            self._reject(PointRejection.INVALID_HISTOGRAM)
            return
        if not counts:
            bounds = []
        ts_ms = point.time_unix_nano // 1_000_000
        has_sum = point.HasField("sum")
        count, total = float(point.count), point.sum if has_sum else 0.0
        stale = bool(point.flags & _NO_RECORDED_VALUE)
        if delta and not stale:
            totals = self._accumulate(name, labels, point, [count, total, *counts], tuple(bounds))
            if totals is None:
                return
            count, total, counts = totals[0], totals[1], totals[2:]
        running = 0.0
        for bound, bucket in zip(bounds, counts, strict=False):
            running += bucket
            le = {**labels, "le": format_bound(bound)}
            self._emit(name + "_bucket", le, ts_ms, STALE_NAN if stale else running)
        inf = {**labels, "le": "+Inf"}
        self._emit(name + "_bucket", inf, ts_ms, STALE_NAN if stale else count)
        self._emit(name + "_count", labels, ts_ms, STALE_NAN if stale else count)
        if has_sum:
            self._emit(name + "_sum", labels, ts_ms, STALE_NAN if stale else total)
        for exemplar in point.exemplars:
            value = _exemplar_value(exemplar)
            bound = next((b for b in bounds if value <= b), None)
            le = "+Inf" if bound is None else format_bound(bound)
            self._exemplar(name + "_bucket", {**labels, "le": le}, exemplar)

    def _exemplar(self, name: str, labels: dict[str, str], exemplar: pb.Exemplar) -> None:
        if exemplar.time_unix_nano <= 0 or exemplar.WhichOneof("value") is None:
            self.result.exemplars_invalid += 1
            return
        own: dict[str, str] = {}
        if exemplar.trace_id:
            own["trace_id"] = exemplar.trace_id.hex()
        if exemplar.span_id:
            own["span_id"] = exemplar.span_id.hex()
        size = sum(len(k) + len(v) for k, v in own.items())
        for key, text in attribute_labels(exemplar.filtered_attributes).items():
            if key in own or size + len(key) + len(text) > MAX_EXEMPLAR_LABEL_CHARS:
                continue
            own[key] = text
            size += len(key) + len(text)
        series = Labels.of({**labels, METRIC_NAME: name})
        stamp = exemplar.time_unix_nano // 1_000_000
        self.result.exemplars.append(
            Exemplar(series, Labels.of(own), stamp, _exemplar_value(exemplar))
        )

    def _summary(self, name: str, labels: dict[str, str], point, delta: bool) -> None:
        ts_ms = point.time_unix_nano // 1_000_000
        stale = bool(point.flags & _NO_RECORDED_VALUE)
        for quantile in point.quantile_values:
            q = {**labels, "quantile": format_bound(quantile.quantile)}
            self._emit(name, q, ts_ms, STALE_NAN if stale else quantile.value)
        self._emit(name + "_count", labels, ts_ms, STALE_NAN if stale else float(point.count))
        self._emit(name + "_sum", labels, ts_ms, STALE_NAN if stale else point.sum)


def _exemplar_value(exemplar: pb.Exemplar) -> float:
    return float(getattr(exemplar, exemplar.WhichOneof("value") or "as_double"))
