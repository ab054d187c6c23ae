"""Prometheus remote_write 1.0 receiver: ``POST /api/v1/write`` as a Flask blueprint.

A sender (Prometheus, Grafana Agent, vmagent, ...) posts a snappy-compressed (block format)
protobuf ``prometheus.WriteRequest``. Answers follow Prometheus' own handler, because senders
decide whether to retry from the status alone: 2xx and 4xx are never retried, 5xx always is.

* 204 when every sample was stored (exact repeats count as stored, as in Prometheus).
* 400 with a plain-text reason for undecodable bodies, and for samples the store refuses:
  ``out of order sample``, ``duplicate sample for timestamp``, ``too old sample`` and
  ``out of bounds`` (more than ten minutes in the future). Retrying would never help.
* 413 when the body, or what it says it decompresses to, is larger than allowed.
* 415 for a ``Content-Encoding`` other than snappy or a ``Content-Type`` other than protobuf
  (both may be absent: old 1.0 clients send neither).
* 503 when the store is unavailable, 500 for any other store failure: the sender retries.

Series without a metric name, with an empty label name or duplicate label names are skipped
and counted, and the rest of the request is stored (Prometheus 3 does the same for 1.0).
Exemplars, native histograms and metadata are dropped and counted: the store has no place
for them yet.

Where we differ on purpose: Prometheus rolls a request back when one sample is refused; our
store keeps what it accepted (it is durable per batch and has no rollback). The refused
samples are still answered with 400, so a sender never resends the good ones.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cramjam
from flask import Blueprint, Response, request
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from collector.model import Labels
from collector.store.interfaces import AppendResult, RejectReason, StoreError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "RemoteWriteStats",
    "create_remote_write_blueprint",
    "decode_write_request",
    "encode_write_request",
    "write_request_class",
]

log = logging.getLogger("collector.receivers.remote_write")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_AHEAD_MS = 10 * 60 * 1000  # Prometheus' timeLimitAppender: later samples are out of bounds
LABEL_CACHE_SIZE = 100_000  # series whose validated labels are remembered across requests
_READ_CHUNK = 64 * 1024

#: The error texts Prometheus' storage package uses, so senders' logs read the same.
_REJECT_TEXT = {
    RejectReason.OUT_OF_ORDER: "out of order sample",
    RejectReason.DUPLICATE_TIMESTAMP: "duplicate sample for timestamp",
    RejectReason.TOO_OLD: "too old sample",
}


class SampleAppender(Protocol):
    """The part of the store this receiver writes through."""

    def append(
        self, samples: Sequence[tuple[Labels, int, float]]
    ) -> AppendResult: ...  # pragma: no cover - protocol


class BadRequest(ValueError):
    """The request can never succeed; ``status`` is the 4xx to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RemoteWriteStats:
    """Counters a caller can export as metrics; updated under ``lock``."""

    requests: Counter[int] = field(default_factory=Counter)  # by HTTP status
    samples_appended: int = 0
    samples_rejected: Counter[str] = field(default_factory=Counter)  # by reason text
    samples_invalid_labels: int = 0
    exemplars_dropped: int = 0
    histograms_dropped: int = 0
    metadata_dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


@dataclass
class DecodedWrite:
    """A request turned into store samples, plus what was skipped on the way."""

    samples: list[tuple[Labels, int, float]]
    invalid_label_samples: int = 0
    exemplars: int = 0
    histograms: int = 0
    metadata: int = 0
    first_invalid: str | None = None


# -- the protobuf schema ----------------------------------------------------------------------


def _message(name: str, *fields: tuple[str, int, int, str | None, bool]):
    msg = descriptor_pb2.DescriptorProto(name=name)
    fd = descriptor_pb2.FieldDescriptorProto
    for field_name, number, type_, type_name, repeated in fields:
        label = fd.LABEL_REPEATED if repeated else fd.LABEL_OPTIONAL
        added = msg.field.add(name=field_name, number=number, type=type_, label=label)
        if type_name:
            added.type_name = type_name
    return msg


@functools.cache
def _classes() -> dict[str, Any]:
    """Build the remote_write 1.0 messages (prompb ``remote.proto`` and ``types.proto``).

    Built at run time in a private pool, so no generated code is vendored and other receivers'
    protobuf schemas cannot clash with ours. Exemplar, Histogram and MetricMetadata are opaque
    (no fields): we only count them, and their contents are skipped as unknown fields.
    """
    fd = descriptor_pb2.FieldDescriptorProto
    msg = fd.TYPE_MESSAGE

    def many(name: str, number: int, type_name: str) -> tuple[str, int, int, str, bool]:
        return name, number, msg, f".prometheus.{type_name}", True

    samples, metadata = many("samples", 2, "Sample"), many("metadata", 3, "MetricMetadata")
    dropped = (many("exemplars", 3, "Exemplar"), many("histograms", 4, "Histogram"))
    proto = descriptor_pb2.FileDescriptorProto(
        name="sloscope/prometheus_remote_write_v1.proto", package="prometheus", syntax="proto3"
    )
    proto.message_type.extend(
        [
            _message("WriteRequest", many("timeseries", 1, "TimeSeries"), metadata),
            _message("TimeSeries", many("labels", 1, "Label"), samples, *dropped),
            _message(
                "Label",
                ("name", 1, fd.TYPE_STRING, None, False),
                ("value", 2, fd.TYPE_STRING, None, False),
            ),
            _message(
                "Sample",
                ("value", 1, fd.TYPE_DOUBLE, None, False),
                ("timestamp", 2, fd.TYPE_INT64, None, False),
            ),
            _message("Exemplar"),
            _message("Histogram"),
            _message("MetricMetadata"),
            # Views of the same bytes for decoding: a series' labels as raw Label messages
            # (the label cache's key), and only what is dropped from each series.
            _message("RawWriteRequest", many("timeseries", 1, "RawTimeSeries"), metadata),
            _message("RawTimeSeries", ("labels", 1, fd.TYPE_BYTES, None, True), samples, *dropped),
            _message("DroppedWriteRequest", many("timeseries", 1, "Dropped")),
            _message("Dropped", *dropped),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto.SerializeToString())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
        for name in ("WriteRequest", "TimeSeries", "Label", "Sample")
        + ("RawWriteRequest", "DroppedWriteRequest")
    }


def write_request_class() -> type:
    """The ``prometheus.WriteRequest`` message class (for senders and tests)."""
    return _classes()["WriteRequest"]


def encode_write_request(series: Sequence[tuple[dict[str, str], Sequence[tuple[int, float]]]]):
    """Snappy-compressed WriteRequest bytes for ``[(labels, [(ts_ms, value), ...]), ...]``."""
    req = write_request_class()()
    for labels, samples in series:
        ts = req.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for t_ms, value in samples:
            ts.samples.add(timestamp=t_ms, value=value)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


# -- decoding -----------------------------------------------------------------------------------


def _decompress(body: bytes, max_decompressed_bytes: int) -> bytes:
    """Snappy block decode, refusing before allocation when the header claims too much."""
    try:
        size = cramjam.snappy.decompress_raw_len(body)
    except cramjam.DecompressionError as exc:
        raise BadRequest(str(exc)) from None
    if size > max_decompressed_bytes:
        raise BadRequest(
            f"decompressed size {size} exceeds the limit of {max_decompressed_bytes} bytes", 413
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise BadRequest(str(exc)) from None


@functools.lru_cache(maxsize=LABEL_CACHE_SIZE)
def _series_labels(raw_pairs: tuple[bytes, ...]) -> tuple[Labels | None, str]:
    """Validated labels of one series, or None and why (Prometheus 3's UTF-8 rules).

    Cached: senders resend the same series in every request, so each is parsed, validated and
    sorted once (a hit's bytes are the very ones validated then). Errors are not cached.

    :raise DecodeError: a pair is not a valid ``Label`` message.
    """
    parse = _classes()["Label"].FromString
    pairs = [(label.name, label.value) for label in map(parse, raw_pairs)]
    if any(name == "" for name, _ in pairs):
        return None, "empty label name"
    try:
        labels = Labels.of(pairs)
    except ValueError as exc:
        return None, str(exc)
    if not labels.metric_name:
        return None, f"no metric name in {labels}"
    return labels, ""


def _count_dropped(raw: bytes) -> tuple[int, int]:
    """Exemplars and histograms in a parsable request, without touching each series when
    there are none (every series is then an empty ``Dropped``: two bytes, tag and length)."""
    view = _classes()["DroppedWriteRequest"].FromString(raw)
    view.DiscardUnknownFields()
    if view.ByteSize() == 2 * len(series := view.timeseries):
        return 0, 0
    return sum(len(ts.exemplars) for ts in series), sum(len(ts.histograms) for ts in series)


def _decode(raw: bytes) -> DecodedWrite:
    """:raise DecodeError: ``raw`` is not a WriteRequest."""
    req = _classes()["RawWriteRequest"].FromString(raw)
    out = DecodedWrite(samples=[], metadata=len(req.metadata))
    append = out.samples.append
    for ts in req.timeseries:
        labels, why = _series_labels(tuple(ts.labels[:]))  # slices: C-speed copies
        if labels is None:
            out.invalid_label_samples += len(ts.samples) + len(ts.histograms)
            out.first_invalid = out.first_invalid or why
            continue
        for s in ts.samples[:]:
            append((labels, s.timestamp, s.value))
    out.exemplars, out.histograms = _count_dropped(raw)
    return out


def decode_write_request(
    body: bytes, max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
) -> DecodedWrite:
    """Decompress and parse one request body into store samples.

    :raise BadRequest: the body is not snappy, not a WriteRequest, or too large.
    """
    raw = _decompress(body, max_decompressed_bytes)
    try:
        return _decode(raw)
    except DecodeError as exc:
        error = exc
    try:  # the full schema's own complaint, as senders have always been told
        write_request_class()().ParseFromString(raw)
    except DecodeError as exc:
        error = exc
    raise BadRequest(f"unmarshal WriteRequest: {error}") from None


# -- the endpoint -------------------------------------------------------------------------------


def _read_body(max_body_bytes: int) -> bytes:
    """The request body, refusing early (Content-Length) or while reading (chunked)."""
    length = request.content_length
    if length is not None and length > max_body_bytes:
        raise BadRequest(f"body of {length} bytes exceeds the limit of {max_body_bytes}", 413)
    stream, chunks, total = request.stream, [], 0
    while chunk := stream.read(_READ_CHUNK):
        total += len(chunk)
        if total > max_body_bytes:
            raise BadRequest(f"body exceeds the limit of {max_body_bytes} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_headers() -> None:
    """Accept what Prometheus accepts for 1.0: snappy protobuf, or no headers at all."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding and encoding != "snappy":
        raise BadRequest(f"{encoding} encoding (compression) is not accepted by this server", 415)
    content_type = request.headers.get("Content-Type", "").strip()
    media, _, params = content_type.partition(";")
    if content_type and media.strip().lower() != "application/x-protobuf":
        raise BadRequest(f"expected application/x-protobuf, got {content_type}", 415)
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key == "proto" and value != "prometheus.WriteRequest":
            raise BadRequest(f"{value} protobuf message is not accepted by this server", 415)


def _split_future(decoded: DecodedWrite, now_ms: int) -> int:
    """Drop samples too far ahead of ``now_ms`` (Prometheus: out of bounds); returns how many."""
    limit = now_ms + MAX_AHEAD_MS
    kept = [s for s in decoded.samples if s[1] <= limit]
    dropped = len(decoded.samples) - len(kept)
    decoded.samples = kept
    return dropped


def _text(body: str, status: int) -> Response:
    return Response(body + "\n", status=status, mimetype="text/plain")


def _handle(
    appender: SampleAppender, stats: RemoteWriteStats, limits: tuple[int, int], now_ms: int
) -> Response:
    _check_headers()
    decoded = decode_write_request(_read_body(limits[0]), limits[1])
    out_of_bounds = _split_future(decoded, now_ms)
    try:
        result = appender.append(decoded.samples)
    except StoreError as exc:
        log.error("remote write: store unavailable: %s", exc)
        return _text(f"store unavailable: {exc}", 503)
    rejected = Counter({_REJECT_TEXT.get(r, r.value): n for r, n in result.rejected.items()})
    if out_of_bounds:
        rejected["out of bounds"] += out_of_bounds
    with stats.lock:
        stats.samples_appended += result.appended
        stats.samples_rejected.update(rejected)
        stats.samples_invalid_labels += decoded.invalid_label_samples
        stats.exemplars_dropped += decoded.exemplars
        stats.histograms_dropped += decoded.histograms
        stats.metadata_dropped += decoded.metadata
    if decoded.invalid_label_samples:
        log.warning(
            "remote write: skipped %d samples with invalid labels (%s)",
            decoded.invalid_label_samples,
            decoded.first_invalid,
        )
    if rejected:
        reason, count = rejected.most_common(1)[0]
        return _text(f"{reason} ({sum(rejected.values())} samples refused)", 400)
    return Response(status=204)


def create_remote_write_blueprint(
    appender: SampleAppender,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    stats: RemoteWriteStats | None = None,
    clock: Callable[[], float] = time.time,
    name: str = "remote_write",
) -> Blueprint:
    """A blueprint serving ``POST /api/v1/write`` into *appender*.

    :param appender: the store; ``append`` must return only once samples are durable.
    :param max_body_bytes: largest compressed body accepted (413 above it).
    :param max_decompressed_bytes: largest decompressed size, checked from the snappy header
        before decompressing, so a small body cannot make us allocate gigabytes.
    :param stats: counters to update; pass your own to export them.
    :param clock: seconds since the epoch, for the ten-minutes-ahead bound.
    """
    bp = Blueprint(name, __name__)
    counters = stats if stats is not None else RemoteWriteStats()
    bp.stats = counters  # type: ignore[attr-defined]  # for callers that did not pass one
    limits = (max_body_bytes, max_decompressed_bytes)

    @bp.post("/api/v1/write")
    def write() -> Response:
        try:
            response = _handle(appender, counters, limits, int(clock() * 1000))
        except BadRequest as exc:
            log.warning("remote write: %s", exc)
            response = _text(str(exc), exc.status)
        except Exception as exc:  # noqa: BLE001 - the sender must retry whatever went wrong
            log.exception("remote write: store failure")
            response = _text(f"store failure: {exc}", 500)
        with counters.lock:
            counters.requests[response.status_code] += 1
        return response

    return bp
