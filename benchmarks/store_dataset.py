"""A realistic synthetic dataset for store benchmarks, and its OpenMetrics form.

What a 15 s scrape of web services looks like: classic latency histograms per service and route,
request counters per status code with restarts (counter resets), CPU-seconds counters (floats),
and gauges -- small integers (pool connections in use), large integers (resident memory) and
full-precision floats (ratios). Each target's scrape timestamps carry a few ms of jitter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from collector.model import Labels

STEP_MS = 15_000
START_MS = 1_700_000_000_000
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Dataset:
    start: int
    end: int
    series: list[tuple[Labels, np.ndarray, np.ndarray]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # family name -> OpenMetrics type

    @property
    def samples(self) -> int:
        return sum(len(ts) for _, ts, _ in self.series)


def _scrape_times(rng: np.random.Generator, n: int) -> np.ndarray:
    offset = int(rng.integers(0, STEP_MS))
    return START_MS + offset + np.arange(n, dtype=np.int64) * STEP_MS + rng.integers(-25, 26, n)


def _with_resets(rng: np.random.Generator, increments: np.ndarray) -> np.ndarray:
    """Cumulative sums that restart from zero at one or two random process restarts."""
    total = np.cumsum(increments, axis=0)
    for at in sorted(rng.integers(1, len(increments), size=int(rng.integers(1, 3)))):
        total[at:] -= total[at - 1]
    return total


def _histogram(rng, labels: dict[str, str], n: int) -> list[tuple[Labels, np.ndarray]]:
    rate = rng.lognormal(1.0, 1.0)
    requests = rng.poisson(rate * STEP_MS / 1000, n)
    median = rng.uniform(0.02, 0.3)
    edges = np.array((*BUCKETS, np.inf))
    cdf = 0.5 * (1 + _erf(np.log(edges / median) / (0.8 * np.sqrt(2))))
    probs = np.diff(np.concatenate(([0.0], cdf)))
    per_bucket = rng.multinomial(requests, probs / probs.sum())
    cumulative = _with_resets(rng, np.cumsum(per_bucket, axis=1))
    latency_sum = _with_resets(rng, requests * median * rng.uniform(0.9, 1.3, n))
    out = []
    name = "http_server_request_duration_seconds"
    for i, le in enumerate(edges):
        le_text = "+Inf" if np.isinf(le) else repr(float(le))
        out.append(
            (Labels.of({"__name__": f"{name}_bucket", **labels, "le": le_text}), cumulative[:, i])
        )
    out.append((Labels.of({"__name__": f"{name}_count", **labels}), cumulative[:, -1]))
    out.append((Labels.of({"__name__": f"{name}_sum", **labels}), latency_sum))
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    from math import erf

    return np.array([erf(v) for v in np.atleast_1d(x)])


def generate(n_series: int, span_ms: int, seed: int = 1) -> Dataset:
    """About ``n_series`` series (exactly, when n is large enough) over ``span_ms``."""
    rng = np.random.default_rng(seed)
    n = span_ms // STEP_MS
    data = Dataset(start=START_MS - STEP_MS, end=START_MS + span_ms + STEP_MS)
    services = [f"svc-{i}" for i in range(max(1, n_series // 250))]
    routes = [f"/api/v1/resource{i}" for i in range(10)]

    def add(labels: Labels, values: np.ndarray, ts: np.ndarray) -> None:
        if len(data.series) < n_series:
            data.series.append((labels, ts, values.astype(np.float64)))

    data.types["http_server_request_duration_seconds"] = "histogram"
    for service in services:
        for route in routes:
            ts = _scrape_times(rng, n)
            for labels, values in _histogram(rng, {"service": service, "route": route}, n):
                add(labels, values, ts)
    data.types["http_requests"] = "counter"
    data.types["process_cpu_seconds"] = "counter"
    for service in services:
        for route in routes:
            ts = _scrape_times(rng, n)
            for code, share in (("200", 0.95), ("404", 0.04), ("500", 0.01)):
                counts = _with_resets(rng, rng.poisson(rng.lognormal(1.0, 1.0) * share * 15, n))
                labels = {"__name__": "http_requests_total", "service": service}
                add(Labels.of({**labels, "route": route, "code": code}), counts, ts)
    data.types.update(
        {"db_pool_connections_in_use": "gauge", "process_resident_memory_bytes": "gauge"}
    )
    data.types["cache_hit_ratio"] = "gauge"
    instance = 0
    while len(data.series) < n_series:
        ts = _scrape_times(rng, n)
        target = {"service": services[instance % len(services)], "instance": f"10.0.0.{instance}"}
        cpu = _with_resets(rng, rng.gamma(2.0, 0.05, n))
        add(Labels.of({"__name__": "process_cpu_seconds_total", **target}), cpu, ts)
        pool = np.clip(rng.poisson(5, n), 0, 20)
        add(Labels.of({"__name__": "db_pool_connections_in_use", **target}), pool, ts)
        pages = 30_000 + np.cumsum(rng.integers(-50, 51, n))
        memory = pages * 4096
        add(Labels.of({"__name__": "process_resident_memory_bytes", **target}), memory, ts)
        ratio = np.clip(0.9 + np.cumsum(rng.normal(0, 0.001, n)), 0, 1)
        add(Labels.of({"__name__": "cache_hit_ratio", **target, "level": "l1"}), ratio, ts)
        instance += 1
    return data


def _family(metric: str, types: dict[str, str]) -> str:
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if metric.endswith(suffix) and metric[: -len(suffix)] in types:
            return metric[: -len(suffix)]
    return metric


def _format_value(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def write_openmetrics(data: Dataset, path: Path) -> None:
    """Write the dataset as OpenMetrics text: families contiguous, each series in time order."""
    families: dict[str, list[tuple[Labels, np.ndarray, np.ndarray]]] = {}
    for labels, ts, vals in data.series:
        families.setdefault(_family(labels.metric_name, data.types), []).append((labels, ts, vals))
    with open(path, "w", encoding="utf-8") as out:
        for family, members in families.items():
            out.write(f"# TYPE {family} {data.types.get(family, 'unknown')}\n")
            for labels, ts, vals in members:
                pairs = ",".join(
                    f'{k}="{v}"' for k, v in labels if k != "__name__"
                )  # generated values need no escaping
                prefix = f"{labels.metric_name}{{{pairs}}}"
                seconds = [f"{t // 1000}.{t % 1000:03d}" for t in ts.tolist()]
                values = [_format_value(v) for v in vals.tolist()]
                lines = zip(values, seconds, strict=True)
                out.write("".join(f"{prefix} {v} {s}\n" for v, s in lines))
        out.write("# EOF\n")
