"""A full SLO evaluation round: sloscope's rule evaluation side by side with Prometheus.

    python benchmarks/slo_bench.py [--slos 100] [--days 30] [--rounds 10] [--spacing 15]
                                   [--no-prometheus] [--profile FILE]

Generates ``--slos`` event SLOs (30-day rolling windows, ten services, routes of a shop) and
30 days of their request counters at a 1-minute scrape interval (see
:mod:`benchmarks.slo_dataset`), compiles them to Sloth-named rules (SLI, meta and alert
groups) and backfills the 5m event rates the period ratio sums over 30 days (the SLI rules'
own expressions as range queries at a 1-minute step, so a round reads 30 days of them as it
would in production).

Prometheus (Debian's) loads the generated rule file over the same data backfilled with
``promtool`` and evaluates it every ``--spacing`` seconds at the wall clock; its groups'
evaluation times are read from ``/api/v1/rules``. sloscope then loads the data into a SQLite
store and evaluates every group of every SLO, in order (SLI, meta, alerts), at the same
timestamps through :class:`slo.rules.group.GroupEvaluator`, recorded results written back
to the store. The first round of each is reported apart (cold caches); the others give the
median and p95. Target: under 1 s per round for 100 SLOs.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.slo_bench_prometheus import PrometheusRounds, prometheus_rounds  # noqa: E402
from benchmarks.slo_dataset import PERIOD_INPUTS, Dataset, generate  # noqa: E402
from collector.promql.engine import Engine  # noqa: E402
from collector.store.sql import SqlStore  # noqa: E402
from slo.rules.engine_query import engine_query  # noqa: E402
from slo.rules.group import GroupEvaluator  # noqa: E402
from slo.rules.model import AlertingRule, Rule  # noqa: E402

ALERT_WINDOWS = {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
RULE_KINDS = (
    "error ratios 5m..3d",
    "5m event rates",
    "period ratio (30d)",
    "meta recordings",
    "alerts",
)


def rule_kind(rule: Rule) -> str:
    if isinstance(rule, AlertingRule):
        return "alerts"
    if rule.record in PERIOD_INPUTS:
        return "5m event rates"
    if rule.record.startswith("slo:sli_error:ratio_rate"):
        if rule.labels.get("sloth_window") in ALERT_WINDOWS:
            return "error ratios 5m..3d"
        return "period ratio (30d)"
    return "meta recordings"


class SloscopeRounds:
    """Loads the data into a SQLite store and times evaluation rounds over it."""

    def __init__(self, data: Dataset, work: Path) -> None:
        self.data = data
        self.store = SqlStore(f"sqlite:///{work / 'sloscope.db'}")
        self.load_s = 0.0
        self.durations: list[float] = []
        self.cpu: list[float] = []  # process CPU seconds per round: less swayed by neighbours
        self.by_kind: list[dict[str, float]] = []
        self.alerts: dict[str, int] = defaultdict(int)
        self.written = 0

    def load(self) -> None:
        self.store.open()
        started = time.perf_counter()
        for labels, ts, vals in self.data.series:
            self.store.append_series(labels, ts, vals)
        self.store.flush()
        self.load_s = time.perf_counter() - started

    def run(self, timestamps: list[int], profile: Path | None) -> None:
        query = engine_query(Engine(self.store))
        evaluators = [
            # As the rule manager builds them: rules read the store they write to.
            GroupEvaluator(group, query=query, appender=self.store, querier=self.store)
            for group in self.data.groups
        ]
        profiler = cProfile.Profile() if profile else None
        for i, ts in enumerate(timestamps):
            if profiler and i == 1:  # profile the warm rounds only
                profiler.enable()
            self._round(evaluators, ts)
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(str(profile))
        for evaluator in evaluators:
            for alert in evaluator.alerting():
                for instance in alert.alerts():
                    self.alerts[str(instance.state)] += 1

    def _round(self, evaluators: list[GroupEvaluator], ts: int) -> None:
        kinds: dict[str, float] = defaultdict(float)
        written = 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        for evaluator in evaluators:
            result = evaluator.eval(ts)
            for rule in result.rules:
                if rule.health.last_error:
                    raise RuntimeError(f"{rule.rule}: {rule.health.last_error}")
                kinds[rule_kind(rule.rule)] += rule.health.eval_duration_s
                written += len(rule.samples)
        self.durations.append(time.perf_counter() - started)
        self.cpu.append(time.process_time() - cpu_started)
        self.by_kind.append(kinds)
        self.written = written

    def close(self) -> None:
        self.store.close()


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(data: Dataset, ours: SloscopeRounds, prom: PrometheusRounds | None) -> None:
    rules = sum(len(g.rules) for g in data.groups)
    print(
        f"\n{len(data.slos)} SLOs -> {len(data.groups)} groups, {rules} rules; "
        f"{len(data.raw)} counter series + {len(data.recorded)} recorded 5m-rate series, "
        f"{data.samples:,} samples over {(data.end_ms - data.start_ms) / 86_400_000:.1f} days"
    )
    print(f"sloscope: load {ours.load_s:.1f} s ({data.samples / ours.load_s:,.0f} samples/s)")
    if prom is not None:
        print(f"promtool: backfill {prom.backfill_s:.1f} s")
        print(f"Prometheus rules healthy: {prom.rules_ok}/{prom.rules_total}")
    print(f"sloscope: {ours.written} samples written per round; alerts: {dict(ours.alerts)}")
    warm = ours.durations[1:]
    print(f"\nseconds per full evaluation round ({len(warm)} warm rounds; first round apart)")
    print(f"{'':<26}{'sloscope':>10}{'prometheus':>12}{'ratio':>8}")
    rows = [("first round (cold)", ours.durations[0], prom.durations_s[0] if prom else None)]
    rows.append(("median", _med(warm), _med(prom.durations_s[1:]) if prom else None))
    rows.append(("p95", _p95(warm), _p95(prom.durations_s[1:]) if prom else None))
    for name, mine, theirs in rows:
        peer = f"{theirs:>12.3f}" if theirs is not None else f"{'-':>12}"
        ratio = f"{mine / theirs:>8.1f}" if theirs else f"{'-':>8}"
        print(f"{name:<26}{mine:>10.3f}{peer}{ratio}")
    peer_cpu = f"{prom.cpu_per_round_s:>12.3f}" if prom else f"{'-':>12}"
    print(f"{'CPU seconds per round':<26}{_med(ours.cpu[1:]):>10.3f}{peer_cpu}")
    print("\nsloscope, median per round by rule kind (seconds)")
    for kind in RULE_KINDS:
        count = sum(1 for g in data.groups for r in g.rules if rule_kind(r) == kind)
        print(f"  {kind:<24}{count:>6} rules{_med([k[kind] for k in ours.by_kind[1:]]):>10.3f}")
    print(f"\ntarget: under 1 s per round -> {'met' if _med(warm) < 1.0 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slos", type=int, default=100)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--instances", type=int, default=1, help="scraped instances per SLO")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--spacing", type=int, default=15, help="seconds between rounds")
    parser.add_argument("--no-prometheus", action="store_true")
    parser.add_argument(
        "--lead", type=int, default=240, help="seconds the data ends ahead of the start"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the warm rounds")
    args = parser.parse_args()
    # Prometheus evaluates at the wall clock only: the data ends when it will have started
    # (writing the OpenMetrics file and promtool take a few minutes), so that its 5m windows
    # hold data as in production; it starts once the clock has passed the data's end.
    lead_s = 0 if args.no_prometheus else args.lead
    end_ms = (int(time.time()) + lead_s) // 60 * 60_000
    started = time.perf_counter()
    data = generate(args.slos, args.services, end_ms, days=args.days, instances=args.instances)
    print(f"generated in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="sloscope-slo-bench-") as tmp:
        work = Path(tmp)
        prom = None
        if not args.no_prometheus:
            prom = prometheus_rounds(data, work / "prom", args.rounds, args.spacing)
            timestamps = prom.timestamps_ms
        else:
            timestamps = [end_ms + 60_000 + k * args.spacing * 1000 for k in range(args.rounds)]
        ours = SloscopeRounds(data, work)
        try:
            ours.load()
            ours.run(timestamps, args.profile)
        finally:
            ours.close()
    report(data, ours, prom)


if __name__ == "__main__":
    main()
