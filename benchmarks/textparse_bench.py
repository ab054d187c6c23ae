"""Parse speed of collector.textparse against prometheus_client's OpenMetrics parser.

Generates a realistic backfill file (the shape `promtool tsdb create-blocks-from openmetrics`
reads): a counter and a gauge family whose series have one sample per 15 s step, and a
histogram family with labelled buckets; then parses the same text with both parsers and
prints lines/s (median of the runs) and the throughput ratio.

    python benchmarks/textparse_bench.py [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from collector.textparse import TextFormat, TextSample, parse

START_S = 1_700_000_000
STEP_S = 15
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf")
ROUTES = ("/", "/api/orders", "/api/orders/{id}", "/api/cart", "/api/login", "/healthz")
METHODS = ("GET", "POST", "PUT", "DELETE")
CODES = ("200", "201", "404", "500")


def _counter(series: int, steps: int) -> list[str]:
    out = ["# TYPE http_requests counter\n", "# HELP http_requests Requests handled.\n"]
    for i in range(series):
        labels = (
            f'method="{METHODS[i // 6 % 4]}",route="{ROUTES[i % 6]}",code="{CODES[i // 24 % 4]}",'
            f'instance="web-{i // 96}:8000"'
        )
        total = 0
        for t in range(steps):
            total += (i * 7 + t) % 13
            out.append(f"http_requests_total{{{labels}}} {total} {START_S + t * STEP_S}\n")
    return out


def _gauge(series: int, steps: int) -> list[str]:
    name = "process_resident_memory_bytes"
    out = [f"# TYPE {name} gauge\n", f"# UNIT {name} bytes\n"]
    for i in range(series):
        for t in range(steps):
            value = 1.5e8 + (i * 1_000_003 + t * 4096) % 9_000_000
            ts = f"{START_S + t * STEP_S}.{(i * 37 + t) % 1000:03d}"
            out.append(f'{name}{{instance="web-{i}:8000"}} {value} {ts}\n')
    return out


def _histogram(series: int) -> list[str]:
    # One MetricPoint per histogram series: prometheus_client 0.26 drops the buckets of a
    # series' second timestamp (it mistakes them for duplicates), so a fair comparison keeps
    # histograms to one point each; counters and gauges carry the long series.
    out = ["# TYPE http_request_duration_seconds histogram\n"]
    name = "http_request_duration_seconds"
    for i in range(series):
        labels = (
            f'method="{METHODS[i // 6 % 4]}",route="{ROUTES[i % 6]}",instance="web-{i // 24}:8000"'
        )
        ts = START_S + i % 1000 * STEP_S
        count = 0
        for j, le in enumerate(BUCKETS):
            count += (i + j) % 5
            out.append(f'{name}_bucket{{{labels},le="{le}"}} {count} {ts}\n')
        out.append(f"{name}_count{{{labels}}} {count} {ts}\n")
        out.append(f"{name}_sum{{{labels}}} {count * 0.137:.3f} {ts}\n")
    return out


def generate(total_lines: int) -> str:
    """About ``total_lines`` lines: 40% counter, 20% gauge, 40% histogram samples."""
    steps = 1000
    lines = _counter(max(1, total_lines * 2 // 5 // steps), steps)
    lines += _gauge(max(1, total_lines // 5 // steps), steps)
    lines += _histogram(max(1, total_lines * 2 // 5 // (len(BUCKETS) + 2)))
    lines.append("# EOF\n")
    return "".join(lines)


def _ours(text: str) -> int:
    lines = io.StringIO(text, newline="\n")  # what reading the file gives
    return sum(1 for item in parse(lines, TextFormat.OPENMETRICS) if type(item) is TextSample)


def _client_python(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def _median_seconds(fn: Callable[[str], int], text: str, runs: int) -> tuple[float, int]:
    times, samples = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        samples = fn(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times), samples


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--lines", type=int, default=1_000_000)
    args.add_argument("--runs", type=int, default=3)
    opts = args.parse_args()
    text = generate(opts.lines)
    n_lines = text.count("\n")
    print(f"input: {n_lines:,} lines, {len(text) / 1e6:.1f} MB, median of {opts.runs} runs")
    ours_s, ours_n = _median_seconds(_ours, text, opts.runs)
    peer_s, peer_n = _median_seconds(_client_python, text, opts.runs)
    print(f"{'parser':<48} {'lines/s':>12} {'us/line':>8} {'samples':>10}")
    for label, secs, n in (
        ("sloscope collector.textparse.parse", ours_s, ours_n),
        ("prometheus_client text_string_to_metric_families", peer_s, peer_n),
    ):
        print(f"{label:<48} {n_lines / secs:>12,.0f} {secs / n_lines * 1e6:>8.2f} {n:>10,}")
    print(f"ratio (sloscope / prometheus_client throughput): {peer_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
