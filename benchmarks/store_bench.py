"""sloscope's store side by side with Prometheus' TSDB on the same realistic data.

    python benchmarks/store_bench.py [--series 1000] [--hours 24] [--runs 3]

Generates 1,000 series over 24 h at a 15 s scrape interval with jittered timestamps (classic
histograms, counters with resets, gauges), writes them as one OpenMetrics file, and then for
each store, median of ``--runs`` runs:

- append rate: sloscope's ``append_series`` from arrays (what ``tsdb import`` does after
  parsing) and scrape-shaped batches (one sample of every series per append); end-to-end
  import of the file by ``sloscope tsdb import`` and by ``promtool tsdb create-blocks-from
  openmetrics``;
- bytes per sample on disk;
- read rate: every sample of every series, through ``SqlStore.select`` for sloscope and through
  ``sum(count_over_time(...[2d]))`` per metric name on a Prometheus server opened on the TSDB.

Needs Debian's ``prometheus`` package for the Prometheus side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import start_prometheus  # noqa: E402
from benchmarks.store_dataset import Dataset, generate, write_openmetrics  # noqa: E402
from collector.store.matchers import Matcher  # noqa: E402
from collector.store.sql import SqlStore  # noqa: E402

ALL_SERIES = [Matcher.regex("__name__", ".+")]


def checkpointed_size(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def sloscope_bulk(data: Dataset, workdir: Path) -> dict[str, float]:
    db = workdir / "bulk.db"
    store = SqlStore(f"sqlite:///{db}")
    store.open()
    started = time.perf_counter()
    for labels, ts, vals in data.series:
        store.append_series(labels, ts, vals)
    store.flush()
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    read = sum(len(d.timestamps) for d in store.select(ALL_SERIES, data.start, data.end))
    read_s = time.perf_counter() - started
    store.close()
    assert read == data.samples, (read, data.samples)
    return {
        "append": data.samples / append_s,
        "bytes": checkpointed_size(db) / data.samples,
        "read": read / read_s,
    }


def sloscope_scrapes(data: Dataset, workdir: Path, scrapes: int) -> float:
    store = SqlStore(f"sqlite:///{workdir / 'scrape.db'}")
    store.open()
    labels = [labels for labels, _, _ in data.series]
    columns = [(ts.tolist(), vals.tolist()) for _, ts, vals in data.series]
    batches = [
        [(lbl, ts[i], vals[i]) for lbl, (ts, vals) in zip(labels, columns, strict=True)]
        for i in range(scrapes)
    ]
    started = time.perf_counter()
    for batch in batches:
        store.append(batch)
    store.flush()
    elapsed = time.perf_counter() - started
    store.close()
    return len(labels) * scrapes / elapsed


def sloscope_import(om_file: Path, workdir: Path, samples: int) -> float:
    env = {**os.environ, "SLOSCOPE_SERVER_DATA_DIR": str(workdir / "import")}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sloscope", "tsdb", "import", str(om_file)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        cwd=workdir,
    )
    return samples / (time.perf_counter() - started)


def promtool_import(om_file: Path, workdir: Path, samples: int) -> tuple[float, float, Path]:
    out = workdir / "prom"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om_file), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return samples / elapsed, size / samples, out


def prometheus_read(tsdb: Path, workdir: Path, data: Dataset, runs: int) -> float:
    server, base = start_prometheus(workdir, tsdb, "--storage.tsdb.retention.time=100y")
    try:
        # One query per metric name: count_over_time drops the name, and series differing
        # only by it (a histogram's _sum and _count) would collide in a single query.
        names = sorted({labels.metric_name for labels, _, _ in data.series})
        urls = [
            f"{base}/api/v1/query?time={data.end / 1000}&query="
            + urllib.request.quote(f'sum(count_over_time({{__name__="{name}"}}[2d]))')
            for name in names
        ]
        rates = []
        for _ in range(runs):
            counted = 0
            started = time.perf_counter()
            for url in urls:
                with urllib.request.urlopen(url) as response:
                    counted += int(json.load(response)["data"]["result"][0]["value"][1])
            elapsed = time.perf_counter() - started
            assert counted == data.samples, (counted, data.samples)
            rates.append(counted / elapsed)
        return statistics.median(rates)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200, help="scrape-shaped batches to time")
    args = parser.parse_args()

    data = generate(args.series, int(args.hours * 3600 * 1000), seed=42)
    print(f"dataset: {len(data.series)} series, {data.samples:,} samples over {args.hours} h")
    with tempfile.TemporaryDirectory(prefix="sloscope-bench-") as tmp:
        workdir = Path(tmp)
        om_file = workdir / "data.om"
        write_openmetrics(data, om_file)
        print(f"OpenMetrics file: {om_file.stat().st_size / 1e6:.0f} MB")
        figures: dict[str, list[float]] = {}
        for run in range(args.runs):
            run_dir = workdir / f"run{run}"
            run_dir.mkdir()
            bulk = sloscope_bulk(data, run_dir)
            for key, value in bulk.items():
                figures.setdefault(f"sloscope {key}", []).append(value)
            figures.setdefault("sloscope scrape append", []).append(
                sloscope_scrapes(data, run_dir, args.scrapes)
            )
            figures.setdefault("sloscope import", []).append(
                sloscope_import(om_file, run_dir, data.samples)
            )
            rate, size, tsdb = promtool_import(om_file, workdir, data.samples)
            figures.setdefault("prometheus import", []).append(rate)
            figures.setdefault("prometheus bytes", []).append(size)
            shutil.rmtree(run_dir)
        prom_read = prometheus_read(tsdb, workdir, data, args.runs)
    report(figures, prom_read, args.runs)


def report(figures: dict[str, list[float]], prom_read: float, runs: int) -> None:
    med = {key: statistics.median(values) for key, values in figures.items()}
    rows = [
        ("append, arrays (samples/s)", med["sloscope append"], None),
        ("append, scrape batches (samples/s)", med["sloscope scrape append"], None),
        ("import file end to end (samples/s)", med["sloscope import"], med["prometheus import"]),
        ("bytes per sample on disk", med["sloscope bytes"], med["prometheus bytes"]),
        ("read (samples/s)", med["sloscope read"], prom_read),
    ]
    print(f"\nmedian of {runs} runs")
    print(f"{'figure':<38}{'sloscope':>14}{'prometheus':>14}{'ratio':>9}")
    for name, ours, theirs in rows:
        peer = f"{theirs:>14,.2f}" if theirs is not None else f"{'-':>14}"
        ratio = f"{ours / theirs:>9.2f}" if theirs else f"{'-':>9}"
        print(f"{name:<38}{ours:>14,.2f}{peer}{ratio}")
    print("\ntargets: append >= 200,000 samples/s on SQLite; <= 4 bytes per sample")


if __name__ == "__main__":
    main()
