"""Ingest rates of sloscope's receivers, each beside a peer, medians of ``--runs`` runs.

    python benchmarks/ingest_bench.py [--runs 3] [--wrk-seconds 10]

- OTLP spans/s on one core into SQLite: batches of 512 realistic spans, serialized, then
  posted through the Flask test client to ``/v1/traces`` (HTTP decode + traces sink + span
  store + RED samples, all in-process, no socket), by one exporter after another and by four
  exporters at once (threads of one process: one core's worth of Python), beside
  ``ExportTraceServiceRequest.FromString`` alone on the same bytes (the limit: nothing can
  ingest faster than it decodes).
- RUM beacons/s and p99 latency: ``wrk`` (2 threads, 16 connections, ``--latency``) posting a
  realistic beacon to ``/rum/v1/beacons`` served by waitress on loopback (4 threads, as
  ``sloscope server``), beside the same server and framework answering 204 after parsing the
  JSON and nothing else: the ceiling of this stack on this machine.
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

from benchmarks.ingest_payloads import (  # noqa: E402
    BEACON,
    RUM_KEY,
    RW_REQUESTS,
    RW_SERIES,
    SPANS_PER_BATCH,
    span_batch,
    write_payloads,
)
from benchmarks.peers import start_prometheus  # noqa: E402


def bench_spans(workdir: Path, runs: int, batches: int, exporters: int) -> float:
    """Spans/s posting ``batches`` batches per run, split among ``exporters`` threads (each
    its own client, as several services export at once), into one collector."""
    from flask import Flask

    from collector.store.sql import SqlStore
    from sloscope.server.collector_role import build_collector

    now_ns = time.time_ns() - 3_600_000_000_000
    bodies = [span_batch(n, now_ns) for n in range(batches * runs)]
    store = SqlStore(f"sqlite:///{workdir / f'spans-{exporters}.db'}")
    store.open()
    app = Flask("bench")
    app.register_blueprint(build_collector(store).otlp_blueprint("otlp"))
    headers = {"Content-Type": "application/x-protobuf"}

    def export(part: list[bytes]) -> None:
        client = app.test_client()
        for body in part:
            response = client.post("/v1/traces", data=body, headers=headers)
            assert response.status_code == 200, response.data

    rates = []
    for r in range(runs):
        chunk = bodies[r * batches : (r + 1) * batches]
        threads = [
            threading.Thread(target=export, args=(chunk[i::exporters],)) for i in range(exporters)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rates.append(batches * SPANS_PER_BATCH / (time.perf_counter() - started))
    store.close()
    return statistics.median(rates)


def bench_decode(runs: int, batches: int) -> float:
    """Spans/s of ``ExportTraceServiceRequest.FromString`` alone on the same bytes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    bodies = [span_batch(n, 0) for n in range(batches)]
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for body in bodies:
            ExportTraceServiceRequest.FromString(body)
        rates.append(batches * SPANS_PER_BATCH / (time.perf_counter() - started))
    return statistics.median(rates)


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


def bench_rum(workdir: Path, runs: int, seconds: int, app=None) -> tuple[float, float, int]:
    """wrk against the RUM receiver on waitress, or against ``app`` (the ceiling: the same
    server and framework answering with no work)."""
    from collector.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{workdir / 'rum.db'}")
    store.open()
    served = Served(app or rum_app(store))
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


def ceiling_app():
    """waitress + Flask doing nothing but reading and parsing the beacon: what this stack
    serves at most with wrk's settings on this machine."""
    from flask import Flask, Response, request

    app = Flask("bench-ceiling")

    @app.post("/rum/v1/beacons")
    def beacon() -> Response:
        json.loads(request.get_data())
        return Response(status=204)

    return app


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
        spans = bench_spans(workdir, args.runs, args.batches, exporters=1)
        spans_4 = bench_spans(workdir, args.runs, args.batches, exporters=4)
        decode = bench_decode(args.runs, args.batches)
        rum = bench_rum(workdir, args.runs, args.wrk_seconds)
        ceiling = bench_rum(workdir, args.runs, args.wrk_seconds, app=ceiling_app())
        ours, prom = bench_remote_write(workdir, args.runs)
    print(f"medians of {args.runs} runs")
    print(f"{'figure':<50}{'sloscope':>12}{'peer':>14}{'ratio':>9}")
    rows = [
        ("OTLP spans/s, 1 exporter (peer: decode alone)", spans, decode),
        ("OTLP spans/s, 4 exporters (peer: decode alone)", spans_4, decode),
        ("remote_write samples/s (peer: Prometheus)", ours, prom),
        ("RUM beacons/s, wrk -t2 -c16 (peer: empty Flask)", rum[0], ceiling[0]),
    ]
    for name, value, peer in rows:
        print(f"{name:<50}{value:>12,.0f}{peer:>14,.0f}{value / peer:>8.2f}x")
    print(f"{'RUM p99 latency ms (peer: empty Flask)':<50}{rum[1]:>12.2f}{ceiling[1]:>14.2f}")
    print(f"{'RUM non-2xx answers, all runs':<50}{rum[2]:>12,d}{ceiling[2]:>14,d}")
    print("targets: spans >= 50,000/s; beacons >= 5,000/s with p99 < 10 ms;")
    print("         remote_write >= 0.5x Prometheus")


if __name__ == "__main__":
    main()
