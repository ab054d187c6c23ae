"""The collector's own ``/metrics``: what its receivers accepted and refused, how many OTLP
exports are in flight, how long durable writes take, and the process' own metrics.

The receivers keep plain counters (no prometheus_client objects), so tests and embedders can
build several collectors per process. :class:`SelfMetrics` reads them at scrape time, each
copied under its own lock, and turns them into metric families:

``sloscope_receiver_accepted_total{signal, receiver}``
    ``receiver="otlp"``: ``points`` converted, ``samples`` stored from them, ``spans``
    accepted. OTLP/HTTP (both ports) and OTLP/gRPC share one pipeline and one set of
    counters, so they are not told apart. ``receiver="remote_write"``: ``samples`` stored.
    ``receiver="rum"``: ``beacons`` stored.
``sloscope_receiver_refused_total{signal, receiver, reason}``
    OTLP: ``points`` the conversion refused (``reason`` is the ``PointRejection`` value),
    ``samples`` the store refused, ``exemplars`` dropped, ``spans`` that were invalid, and
    whole ``exports`` refused as ``overloaded``. remote_write: ``samples`` refused by the store
    or as ``out_of_bounds`` or ``invalid_labels``; ``exemplars``, ``histograms`` (native)
    and ``metadata`` dropped as unsupported. Bodies that cannot be decoded carry no count of
    samples; they show only in ``sloscope_receiver_requests_total``. RUM: ``beacons`` by the
    reasons listed in :mod:`collector.receivers.rum`.
``sloscope_receiver_requests_total{receiver="remote_write", code}``
    remote_write requests by HTTP status.
``sloscope_store_rejected_samples_total{reason}``
    Every sample the store refused, whichever receiver (or the traces' RED series) sent it.
``sloscope_otlp_exports_in_flight`` and ``sloscope_otlp_exports_max_in_flight``
    The OTLP queue: exports being converted or waiting to be appended, and the bound above
    which one more is refused.
``sloscope_store_append_duration_seconds``
    A histogram of durable ``append``/``append_series`` calls made through a
    :class:`TimedAppender`, failed calls included.

>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> _ = registry.register(SelfMetrics())
>>> registry.get_sample_value("sloscope_otlp_exports_in_flight") is None
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request
from prometheus_client import CollectorRegistry, GCCollector, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

__all__ = [
    "APPEND_BUCKETS",
    "SelfMetrics",
    "TimedAppender",
    "build_self_metrics_registry",
    "create_self_metrics_blueprint",
]

#: From half a millisecond (SQLite in WAL mode) to ten seconds (a struggling remote database).
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

#: remote_write counts refusals by the text Prometheus' senders log; we label them by code.
_REMOTE_WRITE_REASONS = {
    "out of order sample": "out_of_order",
    "duplicate sample for timestamp": "duplicate_sample_for_timestamp",
    "too old sample": "too_old",
    "out of bounds": "out_of_bounds",
}
_OTLP_REASONS = {"spans_rejected": "invalid"}


class TimedAppender:
    """Wraps a store: times each ``append`` and ``append_series`` into a histogram, and
    forwards every other attribute, so it can stand in for the store wherever receivers are
    built (``build_collector(TimedAppender(store))``).

    :param histogram: where to observe; by default a registry-free
        ``sloscope_store_append_duration_seconds`` that :class:`SelfMetrics` exposes.
    """

    def __init__(self, store: Any, histogram: Histogram | None = None) -> None:
        self.store = store
        self.histogram = histogram or Histogram(
            "sloscope_store_append_duration_seconds",
            "Time to append one batch of samples durably to the store.",
            buckets=APPEND_BUCKETS,
            registry=None,
        )

    def append(self, samples, *, sync: bool = True):
        with self.histogram.time():
            # Only rule results ask for sync=False; every other writer keeps the default.
            if sync:
                return self.store.append(samples)
            return self.store.append(samples, sync=False)

    def append_series(self, labels, timestamps, values):
        with self.histogram.time():
            return self.store.append_series(labels, timestamps, values)

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found on the proxy itself.
        return getattr(self.store, name)


class SelfMetrics:
    """A prometheus_client collector over the collector's counters; every part is optional.

    :param ingest: the shared :class:`~collector.receivers.otlp_ingest.OtlpIngest`.
    :param remote_write: a :class:`~collector.receivers.remote_write.RemoteWriteStats`
        (``blueprint.stats``).
    :param rum: a :class:`~collector.receivers.rum.RumStats`.
    :param store: anything with a ``rejected`` Counter keyed by ``RejectReason``
        (:class:`~collector.store.sql.SqlStore`); its expensive ``stats()`` is never called.
    :param appender: a :class:`TimedAppender` whose histogram to expose (anything else, such
        as the bare store a test built the collector over, is ignored).
    """

    def __init__(
        self,
        *,
        ingest: Any = None,
        remote_write: Any = None,
        rum: Any = None,
        store: Any = None,
        appender: TimedAppender | None = None,
    ) -> None:
        self.ingest = ingest
        self.remote_write = remote_write
        self.rum = rum
        self.store = store
        self.appender = appender

    def collect(self) -> Iterator[Metric]:
        accepted = CounterMetricFamily(
            "sloscope_receiver_accepted",
            "Spans, data points, samples and beacons the receivers accepted.",
            labels=["signal", "receiver"],
        )
        refused = CounterMetricFamily(
            "sloscope_receiver_refused",
            "What the receivers refused or dropped, by signal and reason.",
            labels=["signal", "receiver", "reason"],
        )
        if self.ingest is not None:
            yield from self._otlp(accepted, refused)
        if self.remote_write is not None:
            yield self._remote_write(accepted, refused)
        if self.rum is not None:
            self._rum(accepted, refused)
        yield accepted
        yield refused
        if self.store is not None:
            yield self._store_rejected()
        if isinstance(self.appender, TimedAppender):  # a bare store has no timings to show
            yield from self.appender.histogram.collect()

    def _otlp(self, accepted, refused) -> Iterator[Metric]:
        counts = self.ingest.counts()
        for signal in sorted({"points", "samples", "spans", *counts.accepted}):
            accepted.add_metric([signal, "otlp"], counts.accepted.get(signal, 0))
        for (signal, reason), n in sorted(counts.refused.items()):
            refused.add_metric([signal, "otlp", _OTLP_REASONS.get(reason, reason)], n)
        yield GaugeMetricFamily(
            "sloscope_otlp_exports_in_flight",
            "OTLP exports being converted or waiting for the store.",
            value=counts.in_flight,
        )
        yield GaugeMetricFamily(
            "sloscope_otlp_exports_max_in_flight",
            "OTLP exports allowed in flight; one more is refused as overloaded.",
            value=self.ingest.max_in_flight,
        )

    def _remote_write(self, accepted, refused) -> Metric:
        stats = self.remote_write
        with stats.lock:
            appended, rejected = stats.samples_appended, dict(stats.samples_rejected)
            requests = dict(stats.requests)
            dropped = {
                ("samples", "invalid_labels"): stats.samples_invalid_labels,
                ("exemplars", "unsupported"): stats.exemplars_dropped,
                ("histograms", "native_histograms_unsupported"): stats.histograms_dropped,
                ("metadata", "unsupported"): stats.metadata_dropped,
            }
        accepted.add_metric(["samples", "remote_write"], appended)
        for text, n in sorted(rejected.items()):
            reason = _REMOTE_WRITE_REASONS.get(text, text.replace(" ", "_"))
            refused.add_metric(["samples", "remote_write", reason], n)
        for (signal, reason), n in dropped.items():
            if n:
                refused.add_metric([signal, "remote_write", reason], n)
        family = CounterMetricFamily(
            "sloscope_receiver_requests",
            "Requests the receivers answered, by HTTP status.",
            labels=["receiver", "code"],
        )
        for code, n in sorted(requests.items()):
            family.add_metric(["remote_write", str(code)], n)
        return family

    def _rum(self, accepted, refused) -> None:
        snapshot = self.rum.snapshot()
        accepted.add_metric(["beacons", "rum"], snapshot["accepted"])
        for reason, n in sorted(snapshot["refused"].items()):
            refused.add_metric(["beacons", "rum", reason], n)

    def _store_rejected(self) -> Metric:
        # dict() of a Counter is one C-level copy under the GIL; the store updates it under
        # its write lock, which a scrape must not wait for.
        rejected = dict(self.store.rejected)
        family = CounterMetricFamily(
            "sloscope_store_rejected_samples",
            "Samples the store refused, by reason, from every receiver.",
            labels=["reason"],
        )
        for reason, n in sorted(rejected.items(), key=lambda kv: kv[0].value):
            family.add_metric([reason.value], n)
        return family


def build_self_metrics_registry(**parts: Any) -> CollectorRegistry:
    """A fresh registry with :class:`SelfMetrics` over ``parts`` (its keyword arguments) and
    the process and garbage collector metrics (``process_*``, ``python_gc_*``)."""
    registry = CollectorRegistry()
    registry.register(SelfMetrics(**parts))
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def create_self_metrics_blueprint(
    registry: CollectorRegistry, name: str = "self_metrics"
) -> Blueprint:
    """``GET /metrics`` over *registry*: Prometheus text, or OpenMetrics when the scraper's
    ``Accept`` header asks for it."""
    bp = Blueprint(name, __name__)

    @bp.get("/metrics")
    def metrics() -> Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    return bp
