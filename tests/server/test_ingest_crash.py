"""``kill -9`` during ingest loses nothing that was acknowledged.

A real ``python -m sloscope server`` runs in a subprocess on free loopback ports with a temporary
data directory. A sender thread posts OTLP/HTTP protobuf gauge batches to the dedicated OTLP
port, remote_write batches to the main port and OTLP/gRPC span batches to the gRPC port, one
after another, noting every batch answered 2xx (gRPC: OK). Once enough are acknowledged the
server gets SIGKILL, with the sender still posting; the store is then opened directly and every
acknowledged point and span must be in it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from sqlalchemy import create_engine

from collector.receivers.remote_write import encode_write_request
from collector.store.matchers import Matcher
from collector.store.spans import SpanStore
from collector.store.sql import SqlStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

ACKS_BEFORE_KILL = 40
POINTS_PER_BATCH = 5
READY_ATTEMPTS = 600  # polls of /-/ready, 0.1 s apart; bounded by count, not by a clock
MAX_BATCHES = 10_000  # the sender stops here if the kill never comes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def otlp_batch(first_ms: int) -> bytes:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "crashtest"
    metric = resource.scope_metrics.add().metrics.add()
    metric.name = "crash.gauge"
    for i in range(POINTS_PER_BATCH):
        point = metric.gauge.data_points.add()
        point.time_unix_nano = (first_ms + i) * 1_000_000
        point.as_double = float(first_ms + i)
    return request.SerializeToString()


def span_batch(first_ms: int) -> ExportTraceServiceRequest:
    """One trace per batch (its id is the batch's first_ms), POINTS_PER_BATCH server spans."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "crashtest"
    scope = resource.scope_spans.add()
    for i in range(POINTS_PER_BATCH):
        span = scope.spans.add(name="GET /crash", kind=2)
        span.trace_id = first_ms.to_bytes(16, "big")
        span.span_id = (i + 1).to_bytes(8, "big")
        span.start_time_unix_nano = (first_ms + i) * 1_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
    return request


def remote_write_batch(first_ms: int) -> bytes:
    labels = {"__name__": "crash_rw", "job": "crashtest"}
    return encode_write_request(
        [(labels, [(first_ms + i, float(first_ms + i)) for i in range(POINTS_PER_BATCH)])]
    )


class Sender:
    """Posts batches in turn until told to stop or a post fails; records the acknowledged."""

    def __init__(self, otlp_url: str, write_url: str, grpc_target: str, start_ms: int) -> None:
        self.otlp_url, self.write_url, self.start_ms = otlp_url, write_url, start_ms
        self.grpc_target = grpc_target
        self.acked: dict[str, list[int]] = {"crash_gauge": [], "crash_rw": []}
        self.acked_traces: list[int] = []
        self.enough = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        with grpc.insecure_channel(self.grpc_target) as channel:
            self._run(TraceServiceStub(channel))

    def _run(self, traces: TraceServiceStub) -> None:
        try:
            for n in range(MAX_BATCHES):
                first_ms = self.start_ms + n * 1000
                self._post("crash_gauge", self.otlp_url, otlp_batch(first_ms), first_ms, {})
                self._post(
                    "crash_rw",
                    self.write_url,
                    remote_write_batch(first_ms),
                    first_ms,
                    {"Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"},
                )
                traces.Export(span_batch(first_ms), timeout=30)  # raises unless OK
                self.acked_traces.append(first_ms)
                if n + 1 == ACKS_BEFORE_KILL:
                    self.enough.set()
        except (OSError, urllib.error.HTTPError, grpc.RpcError) as exc:  # the kill ends the run
            self.error = exc
        finally:
            self.enough.set()

    def _post(self, name: str, url: str, body: bytes, first_ms: int, extra: dict) -> None:
        headers = {"Content-Type": "application/x-protobuf", **extra}
        with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as response:
            response.read()
            if response.status // 100 == 2:
                self.acked[name].extend(range(first_ms, first_ms + POINTS_PER_BATCH))


def start_server(tmp_path: Path, data_dir: Path, log) -> tuple[subprocess.Popen, str, str, str]:
    main, otlp_http, otlp_grpc = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOSCOPE_")}
    env.update(
        SLOSCOPE_SERVER_DATA_DIR=str(data_dir),
        SLOSCOPE_OTLP_HTTP_LISTEN=f"127.0.0.1:{otlp_http}",
        SLOSCOPE_OTLP_GRPC_LISTEN=f"127.0.0.1:{otlp_grpc}",
        PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path]),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "sloscope", "server", "--listen", f"127.0.0.1:{main}"],
        cwd=tmp_path,  # no ./sloscope.yml here: defaults plus the environment above
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    urls = f"http://127.0.0.1:{main}", f"http://127.0.0.1:{otlp_http}", f"127.0.0.1:{otlp_grpc}"
    return server, *urls


def wait_ready(server: subprocess.Popen, probe: str | urllib.request.Request, log: Path) -> None:
    for _ in range(READY_ATTEMPTS):
        assert server.poll() is None, f"server exited early:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(probe, timeout=5) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"server not ready after {READY_ATTEMPTS} polls:\n{log.read_text()}")


def stored_timestamps(db: Path, name: str) -> set[int]:
    store = SqlStore(f"sqlite:///{db}")
    store.open()  # replays the WAL, as the next server start would
    try:
        found = store.select([Matcher.equal("__name__", name)], 0, 2**62)
        return {int(t) for series in found for t in series.timestamps}
    finally:
        store.close()


def test_sigkill_during_ingest_keeps_every_acknowledged_point(tmp_path):
    data_dir, log_path = tmp_path / "data", tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server, main_url, otlp_url, grpc_target = start_server(tmp_path, data_dir, log)
    try:
        wait_ready(server, f"{main_url}/-/ready", log_path)
        # The OTLP port has no readiness path: an empty export answers 200 once it listens.
        probe = urllib.request.Request(
            f"{otlp_url}/v1/metrics", b"", {"Content-Type": "application/x-protobuf"}
        )
        wait_ready(server, probe, log_path)
        sender = Sender(
            f"{otlp_url}/v1/metrics",
            f"{main_url}/api/v1/write",
            grpc_target,
            int(time.time() * 1000) - 3_600_000,
        )
        thread = threading.Thread(target=sender.run)
        thread.start()
        sender.enough.wait()
        server.send_signal(signal.SIGKILL)  # while the sender is still posting
        thread.join()
    finally:
        server.kill()
        server.wait()
    assert server.returncode == -signal.SIGKILL
    assert sender.error is not None, "the sender should have seen the server die"
    for acked in sender.acked.values():
        assert len(acked) >= ACKS_BEFORE_KILL * POINTS_PER_BATCH
    db = data_dir / "sloscope.db"
    for name, acked in sender.acked.items():
        missing = set(acked) - stored_timestamps(db, name)
        assert not missing, f"{name}: {len(missing)} acknowledged points lost, e.g. {min(missing)}"
    assert len(sender.acked_traces) >= ACKS_BEFORE_KILL
    engine = create_engine(f"sqlite:///{db}")
    try:
        spans = SpanStore(engine)
        lost = [t for t in sender.acked_traces if len(spans.get_trace(f"{t:032x}") or []) < 5]
    finally:
        engine.dispose()
    assert not lost, f"{len(lost)} acknowledged span batches lost, e.g. trace {lost[0]:032x}"
