"""The OpenTelemetry tracing pipeline: the stock batch processor and OTLP/HTTP exporter."""

from __future__ import annotations

from sloscope._options import Options

__all__ = ["build_tracer_provider"]


def build_tracer_provider(options: Options):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    attributes = {"service.name": options.service_name, **options.resource_attributes}
    if options.service_version:
        attributes["service.version"] = options.service_version
    if options.environment:
        attributes["deployment.environment.name"] = options.environment
    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES, as every OTel SDK does.
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=ParentBased(TraceIdRatioBased(options.traces_sample_rate)),
    )
    exporter = options.span_exporter
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{options.otlp_endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
