"""What sloscope's Flask instrumentation adds to a request, next to the usual peer pair.

    python benchmarks/sdk_overhead.py [--requests 3000] [--rounds 3]

Serves one small Flask app with waitress, in four variants, each in its own process: bare;
opentelemetry-instrumentation-flask + prometheus-flask-exporter (the peer pair); sloscope
metrics only; sloscope metrics and traces. This process sends the same fixed number of
keep-alive requests to each, one at a time, over loopback, in interleaved rounds, and prints
the median latency per request and what each variant adds over bare (median of the rounds).
Target: sloscope with metrics and traces adds at most 0.8x what the peer pair adds.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.peers import free_port, wait_ready  # noqa: E402

VARIANTS = ("bare", "peer", "sloscope-metrics", "sloscope-full")


def median_latency(port: int, requests: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    latencies = []
    try:
        for i in range(requests):
            started = time.perf_counter()
            conn.request("GET", f"/items/{i % 500}")
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"status {response.status}")
    finally:
        conn.close()
    return statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    servers, ports = {}, {}
    try:
        for variant in VARIANTS:
            ports[variant] = free_port()
            servers[variant] = subprocess.Popen(
                [sys.executable, str(HERE / "sdk_overhead_app.py"), variant, str(ports[variant])]
            )
        for variant in VARIANTS:
            wait_ready(f"http://127.0.0.1:{ports[variant]}/items/1", servers[variant])
            median_latency(ports[variant], 300)  # warm-up: imports, first requests
        results: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                results[variant].append(median_latency(ports[variant], args.requests))
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
    report({v: statistics.median(r) for v, r in results.items()}, args)


def report(latency: dict[str, float], args) -> None:
    bare = latency["bare"]
    print(
        f"{args.requests} requests x {args.rounds} rounds per variant; median latency per request"
    )
    print(f"{'variant':<20}{'latency us':>12}{'added us':>12}")
    for variant in VARIANTS:
        added = latency[variant] - bare
        print(f"{variant:<20}{latency[variant] * 1e6:>12.1f}{added * 1e6:>12.1f}")
    peer = latency["peer"] - bare
    ours = latency["sloscope-full"] - bare
    ratio = ours / peer
    print(
        f"\nsloscope (metrics + traces) adds {ratio:.2f}x what the peer pair adds (target <= 0.8)"
    )


if __name__ == "__main__":
    main()
