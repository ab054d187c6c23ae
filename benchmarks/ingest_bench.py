"""Ingest rates of sloscope's receivers, each beside a peer, medians of ``--runs`` runs.

    python benchmarks/ingest_bench.py [--runs 3] [--wrk-seconds 10]

- OTLP spans/s on one core into SQLite: batches of 512 realistic spans, serialized, then
  posted through the Flask test client to ``/v1/traces`` (HTTP decode + traces sink + span
  store + RED samples, all in-process, no socket), beside ``ExportTraceServiceRequest.FromString``
  alone on the same bytes (the limit: nothing can ingest faster than it decodes).
- RUM beacons/s and p99 latency: ``wrk`` (2 threads, 16 connections, ``--latency``) posting a
  realistic beacon to ``/rum/v1/beacons`` served by waitress on loopback.
- remote_write samples/s: the same snappy WriteRequests (200 requests x 500 series x 1 sample)
  posted one after another to sloscope's ``/api/v1/write`` (waitress) and to Debian's
  Prometheus with ``--web.enable-remote-write-receiver``.

Needs ``wrk`` (``apt-get install -y wrk``) and Debian's ``prometheus``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import start_prometheus  # noqa: E402

SPANS_PER_BATCH = 512
RW_REQUESTS, RW_SERIES = 200, 500
RUM_KEY = "pk_bench_1"
BEACON = {
    "app_key": RUM_KEY,
    "page": {
        "url": "https://shop.example/product/42?ref=mail",
        "route": "/product/<id>",
        "referrer": "https://www.google.com/",
        "navigation_type": "navigate",
        "timestamp_ms": 1700000000000,
    },
    "vitals": [
        {
            "name": "LCP",
            "value": 2130.5,
            "rating": "good",
            "delta": 2130.5,
            "id": "v4-1700000000000-123",
            "navigationType": "navigate",
            "attribution": {"element": "#hero", "url": "https://cdn.example/a.jpg"},
        },
        {
            "name": "CLS",
            "value": 0.04,
            "rating": "good",
            "delta": 0.04,
            "id": "v4-1700000000000-124",
            "navigationType": "navigate",
        },
        {
            "name": "TTFB",
            "value": 310.0,
            "rating": "good",
            "delta": 310.0,
            "id": "v4-1700000000000-125",
            "navigationType": "navigate",
        },
    ],
    "api_calls": [
        {
            "method": "GET",
            "url": "/api/cart/9",
            "route": "/api/cart/<id>",
            "status": 200,
            "duration_ms": 84.2,
        },
        {"method": "POST", "url": "/api/checkout", "status": 502, "duration_ms": 1210.0},
    ],
}


def _attrs(**values):
    """OTLP ``KeyValue``s; ``http_route`` becomes ``http.route``."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    return [
        KeyValue(key=k.replace("_", "."), value=AnyValue(int_value=v))
        if isinstance(v, int)
        else KeyValue(key=k.replace("_", "."), value=AnyValue(string_value=v))
        for k, v in values.items()
    ]


def _trace(trace_id: bytes, root: bytes, start: int, error: bool) -> list:
    """A SERVER span and seven children: database calls (CLIENT) and INTERNAL work."""
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    spans = [
        Span(
            trace_id=trace_id,
            span_id=root,
            name="POST /api/checkout",
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 48_000_000,
            attributes=_attrs(
                http_request_method="POST",
                http_route="/api/checkout",
                http_response_status_code=500 if error else 200,
                url_scheme="https",
                user_agent_original="Mozilla/5.0",
            ),
            status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
        )
    ]
    db = _attrs(
        db_system="postgresql",
        db_statement="SELECT * FROM orders WHERE id = $1",
        server_address="db-1",
        server_port=5432,
    )
    for c in range(7):
        client = c % 2 == 0
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=root[:4] + (c + 1).to_bytes(4, "big"),
                parent_span_id=root,
                name="SELECT orders" if client else "price cart",
                kind=Span.SPAN_KIND_CLIENT if client else Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start + c * 5_000_000,
                end_time_unix_nano=start + c * 5_000_000 + 4_000_000,
                attributes=db if client else _attrs(code_function="price_cart", cart_items=3),
            )
        )
    return spans


def span_batch(batch_no: int, now_ns: int) -> bytes:
    """512 spans like an instrumented web service sends: 64 traces of eight spans, HTTP and
    database attributes, one trace in sixteen failing."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _attrs(service_name="checkout", service_version="1.4.2", host_name="web-7")
    )
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.flask"
    for t in range(SPANS_PER_BATCH // 8):
        trace_id = (batch_no * 1000 + t + 1).to_bytes(16, "big")
        root = (t + 1).to_bytes(4, "big") + bytes(4)
        start = now_ns + (batch_no * 64 + t) * 1_000_000
        scope.spans.extend(_trace(trace_id, root, start, error=t % 16 == 0))
    return request.SerializeToString()


def bench_spans(workdir: Path, runs: int, batches: int) -> tuple[float, float]:
    from flask import Flask
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from collector.store.sql import SqlStore
    from sloscope.server.collector_role import build_collector

    now_ns = time.time_ns() - 3_600_000_000_000
    bodies = [span_batch(n, now_ns) for n in range(batches * runs)]
    store = SqlStore(f"sqlite:///{workdir / 'spans.db'}")
    store.open()
    app = Flask("bench")
    app.register_blueprint(build_collector(store).otlp_blueprint("otlp"))
    client = app.test_client()
    headers = {"Content-Type": "application/x-protobuf"}
    ingest, decode = [], []
    for r in range(runs):
        chunk = bodies[r * batches : (r + 1) * batches]
        started = time.perf_counter()
        for body in chunk:
            response = client.post("/v1/traces", data=body, headers=headers)
            assert response.status_code == 200, response.data
        ingest.append(batches * SPANS_PER_BATCH / (time.perf_counter() - started))
        started = time.perf_counter()
        for body in chunk:
            ExportTraceServiceRequest.FromString(body)
        decode.append(batches * SPANS_PER_BATCH / (time.perf_counter() - started))
    store.close()
    return statistics.median(ingest), statistics.median(decode)


class Served:
    """A WSGI app on a loopback port, served by waitress in a thread until closed."""

    def __init__(self, app) -> None:
        from waitress import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.base = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Let queued requests finish (wrk leaves some behind), then stop serving."""
        dispatcher = self.server.task_dispatcher
        deadline = time.monotonic() + 30
        while (dispatcher.queue or dispatcher.active_count) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.server.close()
        self.thread.join(timeout=10)


def rum_app(store):
    from flask import Flask

    from collector.receivers.rum import RumApp, RumEventStore, create_rum_blueprint

    events = RumEventStore(store.engine)
    events.create()
    apps = {"shop": RumApp("shop", RUM_KEY, ["*"], 1e9, 1e9)}
    app = Flask("bench-rum")
    app.register_blueprint(create_rum_blueprint(store, events, apps))
    return app


def run_wrk(url: str, workdir: Path, seconds: int) -> tuple[float, float, int]:
    """Requests/s, p99 latency in ms and the count of non-2xx answers."""
    script = workdir / "beacon.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(BEACON))}\n"
        'wrk.headers["Content-Type"] = "text/plain"\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99_value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99_ms = float(p99_value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, p99_ms, int(errors.group(1)) if errors else 0


def bench_rum(workdir: Path, runs: int, seconds: int) -> tuple[float, float, int]:
    from collector.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{workdir / 'rum.db'}")
    store.open()
    served = Served(rum_app(store))
    try:
        results = [
            run_wrk(f"{served.base}/rum/v1/beacons?key={RUM_KEY}", workdir, seconds)
            for _ in range(runs)
        ]
    finally:
        served.close()
        store.close()
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        sum(r[2] for r in results),
    )


def write_payloads(start_ms: int) -> list[bytes]:
    """200 requests, each one sample of the same 500 series, 15 s apart."""
    from collector.receivers.remote_write import encode_write_request

    labels = [
        {
            "__name__": "http_requests_total",
            "job": "api",
            "instance": f"web-{i // 50}:9100",
            "handler": f"/api/v{i % 50}",
            "code": "200",
        }
        for i in range(RW_SERIES)
    ]
    return [
        encode_write_request(
            [(lbl, [(start_ms + r * 15_000, float(r * 10 + i))]) for i, lbl in enumerate(labels)]
        )
        for r in range(RW_REQUESTS)
    ]


def post_all(url: str, payloads: list[bytes]) -> float:
    """Samples/s posting every payload in turn; each must be answered 2xx."""
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    started = time.perf_counter()
    for body in payloads:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as response:
            assert response.status // 100 == 2, response.status
    return RW_REQUESTS * RW_SERIES / (time.perf_counter() - started)


def bench_remote_write(workdir: Path, runs: int) -> tuple[float, float]:
    from flask import Flask

    from collector.receivers.remote_write import create_remote_write_blueprint
    from collector.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{workdir / 'rw.db'}")
    store.open()
    app = Flask("bench-rw")
    app.register_blueprint(create_remote_write_blueprint(store))
    served = Served(app)
    prometheus, prom_base = start_prometheus(
        workdir, workdir / "tsdb", "--web.enable-remote-write-receiver"
    )
    # Both receivers get the same bytes; each run continues where the last one stopped.
    # Every run's samples lie in the past: a later one would be "out of bounds" for both.
    start_ms = int(time.time() * 1000) - runs * RW_REQUESTS * 15_000 - 600_000
    ours, theirs = [], []
    try:
        for r in range(runs):
            payloads = write_payloads(start_ms + r * RW_REQUESTS * 15_000)
            ours.append(post_all(f"{served.base}/api/v1/write", payloads))
            theirs.append(post_all(f"{prom_base}/api/v1/write", payloads))
    finally:
        prometheus.terminate()
        prometheus.wait()
        served.close()
        store.close()
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    # wrk keeps 16 requests queued on purpose; waitress warns about every one of them.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20, help="span batches per run")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        workdir = Path(tmp)
        spans, decode = bench_spans(workdir, args.runs, args.batches)
        beacons, p99_ms, refused = bench_rum(workdir, args.runs, args.wrk_seconds)
        ours, prom = bench_remote_write(workdir, args.runs)
    print(f"medians of {args.runs} runs")
    print(f"{'figure':<46}{'sloscope':>14}{'peer':>14}{'ratio':>9}")
    rows = [
        ("OTLP spans/s, 1 core, test client (peer: decode)", spans, decode),
        ("remote_write samples/s (peer: Prometheus)", ours, prom),
    ]
    for name, value, peer in rows:
        print(f"{name:<46}{value:>14,.0f}{peer:>14,.0f}{value / peer:>8.2f}x")
    print(f"{'RUM beacons/s, wrk -t2 -c16, waitress':<46}{beacons:>14,.0f}")
    print(f"{'RUM p99 latency (ms)':<46}{p99_ms:>14.2f}")
    print(f"{'RUM non-2xx answers (all runs)':<46}{refused:>14,d}")
    print("targets: spans >= 50,000/s; remote_write >= 0.5x Prometheus")


if __name__ == "__main__":
    main()
