"""OTLP/gRPC receiver: the ``MetricsService`` and ``TraceService`` Export methods.

Status codes follow the OTLP specification: a request that does not decode is
INVALID_ARGUMENT (requests are parsed here rather than by gRPC, which would answer INTERNAL);
too many exports in flight is RESOURCE_EXHAUSTED with a ``google.rpc.RetryInfo`` in
``grpc-status-details-bin``, the only form of RESOURCE_EXHAUSTED that exporters retry; a
failing store is UNAVAILABLE, also with RetryInfo. Rejected points go in
``partial_success``. gRPC itself inflates gzip and enforces ``max_message_bytes``.
"""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as mgrpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tgrpc

from collector.convert.otlp_delta import DeltaAccumulator
from collector.receivers.otlp_ingest import OtlpIngest, Overloaded, TracesSink
from collector.store.interfaces import Appender, StoreError

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MetricsService",
    "TraceService",
    "bind_grpc_server",
    "start_grpc_server",
]

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_STORE_RETRY_S = 5


def _abort_retryable(context: grpc.ServicerContext, code: grpc.StatusCode, text: str, s: int):
    """Abort with RetryInfo attached, as the OTLP spec asks for throttling answers."""
    detail = status_pb2.Status(code=code.value[0], message=text)
    detail.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=Duration(seconds=s)))
    context.set_trailing_metadata((("grpc-status-details-bin", detail.SerializeToString()),))
    context.abort(code, text)


def _run(context: grpc.ServicerContext, call):
    try:
        return call()
    except Overloaded as error:
        _abort_retryable(
            context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(error), error.retry_after_s
        )
    except StoreError as error:
        _abort_retryable(
            context, grpc.StatusCode.UNAVAILABLE, f"store unavailable: {error}", _STORE_RETRY_S
        )


class MetricsService(mgrpc.MetricsServiceServicer):
    """``opentelemetry.proto.collector.metrics.v1.MetricsService`` over an :class:`OtlpIngest`."""

    def __init__(self, ingest: OtlpIngest) -> None:
        self.ingest = ingest

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        def call():
            rejected, text = self.ingest.export_metrics(request)
            response = mpb.ExportMetricsServiceResponse()
            if rejected or text:
                response.partial_success.rejected_data_points = rejected
                response.partial_success.error_message = text
            return response

        return _run(context, call)


class TraceService(tgrpc.TraceServiceServicer):
    """``opentelemetry.proto.collector.trace.v1.TraceService``; UNIMPLEMENTED without a sink."""

    def __init__(self, ingest: OtlpIngest) -> None:
        self.ingest = ingest

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        if self.ingest.traces_sink is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "traces are not received here")

        def call():
            rejected, text = self.ingest.export_traces(request)
            response = tpb.ExportTraceServiceResponse()
            if rejected or text:
                response.partial_success.rejected_spans = rejected
                response.partial_success.error_message = text
            return response

        return _run(context, call)


def _raw_handler(service: str, request_type, response_type, export):
    """Receive bytes and parse them ourselves, so undecodable input is INVALID_ARGUMENT."""

    def handle(data: bytes, context: grpc.ServicerContext):
        request = request_type()
        try:
            request.ParseFromString(data)
        except DecodeError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode request: {error}")
        return export(request, context)

    method = grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=None, response_serializer=response_type.SerializeToString
    )
    return grpc.method_handlers_generic_handler(service, {"Export": method})


def bind_grpc_server(
    appender: Appender,
    address: str,
    traces_sink: TracesSink | None = None,
    *,
    max_workers: int = 8,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    accumulator: DeltaAccumulator | None = None,
    ingest: OtlpIngest | None = None,
) -> tuple[grpc.Server, int]:
    """A bound but not started server and its port (useful with ``127.0.0.1:0``).

    ``max_workers`` bounds the thread pool; at most twice as many RPCs may wait for a
    thread, beyond which gRPC answers RESOURCE_EXHAUSTED itself.
    """
    pipeline = ingest or OtlpIngest(
        appender, traces_sink=traces_sink, accumulator=accumulator, max_in_flight=max_workers
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="otlp-grpc"),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
        maximum_concurrent_rpcs=max_workers * 2,
    )
    server.add_generic_rpc_handlers(
        (
            _raw_handler(
                "opentelemetry.proto.collector.metrics.v1.MetricsService",
                mpb.ExportMetricsServiceRequest,
                mpb.ExportMetricsServiceResponse,
                MetricsService(pipeline).Export,
            ),
            _raw_handler(
                "opentelemetry.proto.collector.trace.v1.TraceService",
                tpb.ExportTraceServiceRequest,
                tpb.ExportTraceServiceResponse,
                TraceService(pipeline).Export,
            ),
        )
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind the OTLP gRPC receiver to {address}")
    return server, port


def start_grpc_server(
    appender: Appender,
    address: str,
    traces_sink: TracesSink | None = None,
    **options,
) -> grpc.Server:
    """Bind and start; the caller owns ``server.stop(grace)``. Options as
    :func:`bind_grpc_server`.

    >>> from collector.store.sql import SqlStore
    >>> server = start_grpc_server(SqlStore("sqlite:///:memory:"), "127.0.0.1:0")
    >>> server.stop(None).wait()
    True
    """
    server, _port = bind_grpc_server(appender, address, traces_sink, **options)
    server.start()
    return server
