"""sloscope's PromQL engine side by side with Prometheus, through both HTTP APIs.

    python benchmarks/promql_bench.py [--series 1000] [--hours 24] [--runs 5]

Loads the store benchmark's dataset (classic histograms, counters with resets, gauges; 15 s
scrapes) into sloscope (SQLite) and, with ``promtool tsdb create-blocks-from openmetrics``,
into a Prometheus TSDB; starts ``sloscope server`` and ``prometheus`` on free loopback ports;
runs ten queries typical of SLO dashboards through each HTTP API and prints the median time of
``--runs`` runs, side by side, with the ratio. Target: sloscope at most 2x Prometheus.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import free_port, start_prometheus, start_server  # noqa: E402
from benchmarks.store_dataset import Dataset, generate, write_openmetrics  # noqa: E402
from collector.store.sql import SqlStore  # noqa: E402

ERRORS = 'http_requests_total{code="500"}'
TOTAL = "http_requests_total"
BUCKETS = "http_server_request_duration_seconds_bucket"


def burn(window: str) -> str:
    return f"(sum(rate({ERRORS}[{window}])) / sum(rate({TOTAL}[{window}])))"


QUERIES: list[tuple[str, str]] = [
    ("range", f"sum by (route) (rate({TOTAL}[5m]))"),
    ("range", f"histogram_quantile(0.95, sum by (le) (rate({BUCKETS}[5m])))"),
    ("instant", f"sum(increase({ERRORS}[30d])) / sum(increase({TOTAL}[30d]))"),
    ("range", f"topk(5, sum by (route) (rate({TOTAL}[5m])))"),
    ("range", f"{burn('1h')} / (1 - 0.999)"),
    ("range", f"({burn('1h')} > (14.4 * 0.001)) and ({burn('5m')} > (14.4 * 0.001))"),
    ("range", f"histogram_quantile(0.99, sum by (le, service) (rate({BUCKETS}[5m])))"),
    ("range", "avg_over_time(cache_hit_ratio[1h])"),
    ("range", "max by (service) (db_pool_connections_in_use) / 20"),
    (
        "range",
        "sum by (service) (rate(http_server_request_duration_seconds_sum[5m]))"
        " / sum by (service) (rate(http_server_request_duration_seconds_count[5m]))",
    ),
]


def load_sloscope(data: Dataset, data_dir: Path) -> None:
    with SqlStore(f"sqlite:///{data_dir / 'sloscope.db'}") as store:
        for labels, ts, vals in data.series:
            store.append_series(labels, ts, vals)


def time_query(base: str, kind: str, expr: str, data: Dataset, step_s: float) -> float:
    end_s = (data.end - 60_000) / 1000
    if kind == "instant":
        params = {"query": expr, "time": f"{end_s:.3f}"}
    else:
        start_s = (data.start + 3_600_000) / 1000
        params = {"query": expr, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}"}
        params["step"] = str(step_s)
    body = urllib.parse.urlencode(params).encode()
    url = f"{base}/api/v1/{'query' if kind == 'instant' else 'query_range'}"
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, data=body)) as response:
        payload = json.load(response)
    elapsed = time.perf_counter() - started
    if payload.get("status") != "success":
        raise RuntimeError(f"{base}: {expr}: {payload}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--step", type=float, default=15.0, help="range query step, seconds")
    args = parser.parse_args()
    data = generate(args.series, int(args.hours * 3_600_000), seed=42)
    print(f"dataset: {len(data.series)} series, {data.samples:,} samples over {args.hours} h")
    with tempfile.TemporaryDirectory(prefix="sloscope-promql-bench-") as tmp:
        work = Path(tmp)
        write_openmetrics(data, work / "data.om")
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "data.om", "prom"],
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        load_sloscope(data, work / "sloscope")
        prom, prom_base = start_prometheus(
            work, work / "prom", "--storage.tsdb.retention.time=100y"
        )
        ours_port = free_port()
        env = {**os.environ, "SLOSCOPE_SERVER_DATA_DIR": str(work / "sloscope")}
        ours = start_server(
            [sys.executable, "-m", "sloscope", "server", f"--listen=127.0.0.1:{ours_port}"],
            f"http://127.0.0.1:{ours_port}/-/ready",
            env=env,
        )
        try:
            rows = compare(data, args, f"http://127.0.0.1:{ours_port}", prom_base)
        finally:
            for server in (prom, ours):
                server.terminate()
                server.wait()
    report(rows, args.runs)


def compare(data: Dataset, args, ours: str, prom: str) -> list[tuple[str, str, float, float]]:
    rows = []
    for kind, expr in QUERIES:
        timings: dict[str, list[float]] = {"ours": [], "prom": []}
        for _ in range(args.runs):
            timings["ours"].append(time_query(ours, kind, expr, data, args.step))
            timings["prom"].append(time_query(prom, kind, expr, data, args.step))
        rows.append(
            (kind, expr, statistics.median(timings["ours"]), statistics.median(timings["prom"]))
        )
    return rows


def report(rows: list[tuple[str, str, float, float]], runs: int) -> None:
    print(f"\nmedian of {runs} runs, seconds per query")
    print(f"{'query':<72}{'sloscope':>10}{'prometheus':>12}{'ratio':>8}")
    for kind, expr, ours, prom in rows:
        label = f"[{kind}] {expr}"
        label = label if len(label) <= 70 else label[:67] + "..."
        print(f"{label:<72}{ours:>10.3f}{prom:>12.3f}{ours / prom:>8.2f}")
    worst = max(ours / prom for _, _, ours, prom in rows)
    print(f"\nworst ratio {worst:.2f} (target: at most 2.00)")


if __name__ == "__main__":
    main()
