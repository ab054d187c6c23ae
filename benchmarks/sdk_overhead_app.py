"""The app that benchmarks/sdk_overhead.py measures, in one of four instrumentation variants.

    python benchmarks/sdk_overhead_app.py VARIANT PORT

VARIANT: bare | peer (opentelemetry-instrumentation-flask + prometheus-flask-exporter) |
sloscope-metrics | sloscope-full (metrics and traces). Spans go to an exporter that drops
them, the same for the peer and for sloscope, so only the instrumentation's cost differs.
"""

from __future__ import annotations

import sys

from flask import Flask, jsonify
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class DroppingExporter(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def build(variant: str) -> Flask:
    app = Flask("bench")

    @app.get("/items/<int:item_id>")
    def item(item_id: int):
        return jsonify(id=item_id, name=f"item {item_id}", price=item_id * 1.5)

    if variant == "peer":
        from opentelemetry import trace
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from prometheus_flask_exporter import PrometheusMetrics

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
        trace.set_tracer_provider(provider)
        FlaskInstrumentor().instrument_app(app)
        PrometheusMetrics(app)
    elif variant.startswith("sloscope"):
        import sloscope
        import sloscope.flask

        traces = variant == "sloscope-full"
        sloscope.init(service_name="bench", traces=traces, span_exporter=DroppingExporter())
        sloscope.flask.init_app(app)
    elif variant != "bare":
        raise SystemExit(f"unknown variant {variant!r}")
    return app


if __name__ == "__main__":
    from waitress import serve

    serve(build(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), threads=4, _quiet=True)
