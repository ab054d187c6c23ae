"""The collector role's parts, built once over the store and shared by every listener.

One ``OtlpIngest`` serves the main port's ``/v1/*`` paths, the dedicated OTLP/HTTP port and
OTLP/gRPC, so delta totals and the in-flight bound are shared; one traces sink writes spans and
their RED series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CollectorParts", "build_collector"]


@dataclass
class CollectorParts:
    ingest: Any  # collector.receivers.otlp_ingest.OtlpIngest
    span_store: Any  # collector.store.spans.SpanStore
    traces_sink: Any

    def otlp_blueprint(self, name: str):
        from collector.receivers.otlp_http import create_otlp_blueprint

        return create_otlp_blueprint(
            self.ingest.appender, traces_sink=self.traces_sink, ingest=self.ingest, name=name
        )

    def trace_blueprint(self):
        from collector.trace_api import create_trace_blueprint

        return create_trace_blueprint(self.span_store)


def build_collector(store) -> CollectorParts:
    from collector.convert.spans_to_red import RedAccumulator
    from collector.receivers.otlp_ingest import OtlpIngest
    from collector.receivers.traces import make_traces_sink
    from collector.store.spans import SpanStore

    span_store = SpanStore(store.engine)
    span_store.create()
    sink = make_traces_sink(span_store, store, RedAccumulator())
    return CollectorParts(OtlpIngest(store, traces_sink=sink), span_store, sink)
