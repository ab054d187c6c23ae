"""OTLP/HTTP receiver: ``POST /v1/metrics`` and ``POST /v1/traces`` as a Flask blueprint.

Per the OTLP/HTTP specification:

* bodies are ``application/x-protobuf`` or ``application/json`` (OTLP JSON: lowerCamelCase or
  snake_case fields, enums as integers or names, 64-bit integers as strings, trace and span
  ids as hex, unknown fields ignored); anything else is 415;
* ``Content-Encoding: gzip`` or ``deflate`` is inflated with the size limit enforced while
  inflating, so a small zip bomb stops at the limit (413) instead of filling memory;
* a body that cannot be decoded is 400 with a ``google.rpc.Status``; nothing of it is stored;
* the answer is an ``Export*ServiceResponse`` in the request's content type, with
  ``partial_success`` when some points or spans were rejected;
* overload is 429 (too many exports in flight, see ``otlp_ingest``) and a failing store 503,
  both with ``Retry-After``, which the stock exporters honour.

``/v1/traces`` answers 404 when no traces sink is configured.
"""

from __future__ import annotations

import json
import zlib

from flask import Blueprint, Response, request
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collector.convert.otlp_delta import DeltaAccumulator
from collector.receivers.otlp_ingest import OtlpIngest, Overloaded, TracesSink
from collector.receivers.otlp_json import hex_ids_to_base64
from collector.store.interfaces import Appender, StoreError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_otlp_blueprint"]

#: The largest body accepted, before and after decompression.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class _HttpError(Exception):
    """An OTLP error answer: HTTP status, google.rpc code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_otlp_blueprint(
    appender: Appender,
    *,
    traces_sink: TracesSink | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_in_flight: int = 16,
    retry_after_s: int = 5,
    accumulator: DeltaAccumulator | None = None,
    ingest: OtlpIngest | None = None,
    name: str = "otlp",
) -> Blueprint:
    """Build the blueprint; register it at the root so the stock exporters' default paths
    work. Pass ``ingest`` to share delta totals and the in-flight bound with gRPC.

    >>> from flask import Flask
    >>> from collector.store.sql import SqlStore
    >>> app = Flask(__name__)
    >>> app.register_blueprint(create_otlp_blueprint(SqlStore("sqlite:///:memory:")))
    """
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
    pipeline = ingest or OtlpIngest(
        appender,
        traces_sink=traces_sink,
        accumulator=accumulator,
        max_in_flight=max_in_flight,
        retry_after_s=retry_after_s,
    )
    blueprint = Blueprint(name, __name__)

    @blueprint.post("/v1/metrics")
    def metrics() -> Response:
        def run(message: Message) -> Message:
            rejected, text = pipeline.export_metrics(message)
            response = ExportMetricsServiceResponse()
            if rejected or text:
                response.partial_success.rejected_data_points = rejected
                response.partial_success.error_message = text
            return response

        return _handle(ExportMetricsServiceRequest, run, max_body_bytes)

    @blueprint.post("/v1/traces")
    def traces() -> Response:
        if pipeline.traces_sink is None:
            return _status_response(404, code_pb2.NOT_FOUND, "traces are not received here")

        def run(message: Message) -> Message:
            rejected, text = pipeline.export_traces(message)
            response = ExportTraceServiceResponse()
            if rejected or text:
                response.partial_success.rejected_spans = rejected
                response.partial_success.error_message = text
            return response

        return _handle(ExportTraceServiceRequest, run, max_body_bytes)

    return blueprint


def _handle(message_type: type[Message], run, limit: int) -> Response:
    """Decode -> run -> encode, turning every failure into an OTLP error answer."""
    try:
        content_type = request.mimetype
        if content_type not in (PROTOBUF, JSON):
            raise _HttpError(415, code_pb2.INVALID_ARGUMENT, f"unsupported {content_type=}")
        message = _decode(_read_body(limit), content_type, message_type)
        return _message_response(200, run(message), content_type)
    except _HttpError as error:
        return _status_response(error.status, error.code, error.message)
    except Overloaded as error:
        response = _status_response(429, code_pb2.RESOURCE_EXHAUSTED, str(error))
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    except StoreError as error:
        response = _status_response(503, code_pb2.UNAVAILABLE, f"store unavailable: {error}")
        response.headers["Retry-After"] = "5"
        return response


def _read_body(limit: int) -> bytes:
    """The body, inflated, never more than ``limit`` bytes in memory at any stage."""
    if request.content_length is not None and request.content_length > limit:
        raise _HttpError(413, code_pb2.RESOURCE_EXHAUSTED, f"body exceeds {limit} bytes")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _HttpError(413, code_pb2.RESOURCE_EXHAUSTED, f"body exceeds {limit} bytes")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        return _inflate(data, 16 + zlib.MAX_WBITS, limit)
    if encoding == "deflate":
        # RFC 9110 deflate is zlib-wrapped; some clients send raw deflate, so accept both.
        wbits = zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
        return _inflate(data, wbits, limit)
    raise _HttpError(415, code_pb2.INVALID_ARGUMENT, f"unsupported Content-Encoding {encoding}")


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Inflate every member (gzip allows several), stopping as soon as ``limit`` is passed."""
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits)
            pending = rest
            while pending:
                # max_length keeps each step at most one byte past the limit (0 = unlimited,
                # which cannot happen here since len(out) <= limit inside the loop).
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise _HttpError(
                        413, code_pb2.RESOURCE_EXHAUSTED, f"inflated body exceeds {limit} bytes"
                    )
                pending = inflater.unconsumed_tail
            if not inflater.eof:
                raise _HttpError(400, code_pb2.INVALID_ARGUMENT, "truncated compressed body")
            rest = inflater.unused_data if wbits > 16 else b""
    except zlib.error as error:
        raise _HttpError(400, code_pb2.INVALID_ARGUMENT, f"bad compressed body: {error}") from None
    return bytes(out)


def _decode(data: bytes, content_type: str, message_type: type[Message]) -> Message:
    message = message_type()
    try:
        if content_type == PROTOBUF:
            message.ParseFromString(data)
        else:
            document = json.loads(data)
            if not isinstance(document, dict):
                raise ValueError("the body is not a JSON object")
            hex_ids_to_base64(document)
            json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, ValueError, RecursionError) as error:
        raise _HttpError(400, code_pb2.INVALID_ARGUMENT, f"cannot decode body: {error}") from None
    return message


def _message_response(status: int, message: Message, content_type: str) -> Response:
    if content_type == JSON:
        body = json_format.MessageToJson(message, indent=None).encode("utf-8")
    else:
        body = message.SerializeToString()
    return Response(body, status=status, content_type=content_type)


def _status_response(status: int, code: int, text: str) -> Response:
    """A ``google.rpc.Status`` body, in the request's content type (protobuf otherwise)."""
    content_type = JSON if request.mimetype == JSON else PROTOBUF
    return _message_response(status, status_pb2.Status(code=code, message=text), content_type)
