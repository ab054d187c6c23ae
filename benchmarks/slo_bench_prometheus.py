"""The SLO benchmark's peer: Debian's Prometheus evaluating the same rule file on the same data.

The data (counters and backfilled 5m rates) goes in through ``promtool tsdb
create-blocks-from openmetrics``, in 486h blocks as a compacted 30-day TSDB would hold it;
Prometheus then loads the rule file generated from the same SLOs and evaluates every group
each ``spacing`` seconds at the wall clock (Prometheus has no other clock), so the data ends
at the moment the benchmark started. ``/api/v1/rules`` gives each group's ``lastEvaluation``
and ``evaluationTime``; a round is the k-th evaluation of every group, its time the sum of
the groups' evaluation times (the work of one round done one group after another, as
sloscope does; Prometheus runs groups concurrently, so its wall time per round is less).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks.peers import free_port, start_server
from benchmarks.slo_dataset import Dataset, openmetrics
from slo.compile import render_rule_file

__all__ = ["PrometheusRounds", "prometheus_rounds"]

_RFC3339 = re.compile(r"([0-9-]+T[0-9:]+)(?:\.([0-9]+))?(Z|[+-][0-9:]+)")
BLOCK_DURATION = "486h"  # the largest block Prometheus itself compacts to under 31 days


@dataclass
class PrometheusRounds:
    durations_s: list[float]  # per round: the sum of every group's evaluation time
    timestamps_ms: list[int]  # per round: when its first group was evaluated
    rules_ok: int
    rules_total: int
    backfill_s: float
    cpu_per_round_s: float  # Prometheus' process CPU over the warm rounds, per round


def _backfill(data: Dataset, work: Path) -> float:
    om_file = work / "data.om"
    openmetrics(data.series, om_file)
    started = time.perf_counter()
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            f"--max-block-duration={BLOCK_DURATION}",
            "openmetrics",
            str(om_file),
            str(work / "tsdb"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    om_file.unlink()
    return elapsed


def _rule_groups(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=60) as response:
        return json.load(response)["data"]["groups"]


def _parse_time(text: str) -> int:
    """Go's RFC 3339 time with up to nanoseconds (``...T14:47:12.123456789Z``) in ms."""
    found = _RFC3339.fullmatch(text)
    if found is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    whole, fraction, zone = found.groups()
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return int(stamp.timestamp()) * 1000 + int((fraction or "0").ljust(3, "0")[:3])


def _cpu_seconds(base: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=60) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("process_cpu_seconds_total "):
                return float(line.split()[1])
    raise RuntimeError("Prometheus exposes no process_cpu_seconds_total")


def _collect(base: str, rounds: int, spacing_s: float) -> tuple[dict[str, dict[int, float]], list]:
    """Poll until every group has ``rounds`` evaluations; (group -> {ts: seconds}, last).

    Also notes Prometheus' CPU seconds from the end of the first round to the end of the
    last one, under the key ``""``: {rounds - 1: seconds}.
    """
    seen: dict[str, dict[int, float]] = {}
    cpu_after_first: float | None = None
    deadline = time.monotonic() + (rounds + 4) * spacing_s + 120
    groups: list[dict] = []
    while time.monotonic() < deadline:
        groups = _rule_groups(base)
        for group in groups:
            if group.get("lastEvaluation", "").startswith("0001-"):
                continue  # not evaluated yet
            evaluations = seen.setdefault(group["name"], {})
            evaluations[_parse_time(group["lastEvaluation"])] = float(group["evaluationTime"])
        done = [len(seen.get(g["name"], {})) for g in groups]
        if groups and cpu_after_first is None and min(done) >= 1:
            cpu_after_first = _cpu_seconds(base)
        if groups and min(done) >= rounds and cpu_after_first is not None:
            seen[""] = {rounds - 1: _cpu_seconds(base) - cpu_after_first}
            return seen, groups
        time.sleep(spacing_s / 4)  # a benchmark waits for the peer's clock; tests never do
    raise RuntimeError(f"Prometheus did not evaluate every group {rounds} times in time")


def prometheus_rounds(data: Dataset, work: Path, rounds: int, spacing_s: int) -> PrometheusRounds:
    """Backfill, start Prometheus with the SLO rules, and time ``rounds`` evaluation rounds."""
    work.mkdir(parents=True, exist_ok=True)
    backfill_s = _backfill(data, work)
    rule_file = work / "slos.rules.yml"
    rule_file.write_text(render_rule_file(data.groups), encoding="utf-8")
    # Blocks may not reach past "now" when Prometheus opens them (the head would refuse the
    # rules' samples as too old), and the data was generated to end a little ahead.
    time.sleep(max(0.0, data.end_ms / 1000 + 2 - time.time()))
    config = work / "prometheus.yml"
    config.write_text(
        f"global:\n  evaluation_interval: {spacing_s}s\n"
        f"rule_files:\n  - {json.dumps(str(rule_file))}\n"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        f"{base}/-/ready",
    )
    try:
        seen, groups = _collect(base, rounds, spacing_s)
    finally:
        server.terminate()
        server.wait()
    cpu = seen.pop("")
    per_group = [sorted(evaluations.items())[:rounds] for evaluations in seen.values()]
    durations = [sum(g[k][1] for g in per_group) for k in range(rounds)]
    stamps = [min(g[k][0] for g in per_group) for k in range(rounds)]
    rules = [rule for group in groups for rule in group["rules"]]
    healthy = sum(1 for rule in rules if rule.get("health") == "ok")
    cpu_per_round = cpu[rounds - 1] / max(1, rounds - 1)
    return PrometheusRounds(durations, stamps, healthy, len(rules), backfill_s, cpu_per_round)
