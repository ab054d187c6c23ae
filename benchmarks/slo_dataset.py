"""The SLO benchmark's data: SLOs, 30 days of request counters and the recorded 5m rates.

Each SLO is an events SLI over ``http_requests_total`` of one route of one service: errors
are the ``code="500"`` series, the total is the sum over codes (and over instances, with more
than one). Traffic follows a daily wave with noise; each SLO has its own request rate and
error share, and a few have an incident in the last hours so that burn-rate alerts really go
pending and fire during the measured rounds.

The recorded series the rules read over the whole period (``slo:sli_error_events:rate5m``
and ``slo:sli_total_events:rate5m``, which the event-weighted period ratio sums over 30 days)
are backfilled by evaluating the SLI group's own expressions as range queries with
sloscope's PromQL engine over the generated counters, at the evaluation interval: exactly
the samples the rules would have written had they run for 30 days, at a fraction of the cost
of 43,200 evaluation rounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from collector.model import METRIC_NAME, Labels
from collector.promql.engine import Engine
from collector.store.interfaces import SeriesData
from collector.store.matchers import Matcher
from slo.compile import compile_slos
from slo.rules.model import RecordingRule, RuleGroup
from slo.spec.model import SLO, Alerting, EventsSLI, SourcePosition, Window

__all__ = ["Dataset", "MemoryQuerier", "Series", "backfill_recorded", "generate", "openmetrics"]

DAY_MS = 86_400_000
METRIC = "http_requests_total"
ROUTES = ("/", "/search", "/product", "/cart", "/checkout", "/login", "/orders", "/api/stock")
OBJECTIVES = (0.99, 0.995, 0.999, 0.9995)
#: The recorded rates the period ratio sums over the whole SLO window.
PERIOD_INPUTS = ("slo:sli_error_events:rate5m", "slo:sli_total_events:rate5m")

Series = tuple[Labels, np.ndarray, np.ndarray]


@dataclass
class Dataset:
    slos: list[SLO]
    groups: list[RuleGroup]
    raw: list[Series]  # the counters
    recorded: list[Series]  # the backfilled 5m rates
    start_ms: int
    end_ms: int  # the last scrape is at or before this

    @property
    def series(self) -> list[Series]:
        return self.raw + self.recorded

    @property
    def samples(self) -> int:
        return sum(len(ts) for _, ts, _ in self.series)


def _service_route(index: int, services: int) -> tuple[str, str]:
    return f"svc{index % services:02d}", ROUTES[(index // services) % len(ROUTES)]


def make_slos(count: int, services: int) -> list[SLO]:
    """``count`` SLOs spread over ``services`` services, one route each."""
    slos = []
    for i in range(count):
        service, route = _service_route(i, services)
        variant = i // (services * len(ROUTES))
        name = f"{route.strip('/').replace('/', '-') or 'home'}-availability"
        name += f"-{variant}" if variant else ""
        selector = f'job="shop",service="{service}",route="{route}"'
        slos.append(
            SLO(
                service=service,
                name=name,
                objective=OBJECTIVES[i % len(OBJECTIVES)],
                window=Window("rolling", 30 * DAY_MS),
                sli=EventsSLI(
                    error_query=f'sum(rate({METRIC}{{{selector},code=~"5.."}}[{{{{.window}}}}]))',
                    total_query=f"sum(rate({METRIC}{{{selector}}}[{{{{.window}}}}]))",
                ),
                alerting=Alerting(
                    name="ShopAvailabilityBurn",
                    labels={"team": f"team-{i % 4}"},
                    annotations={"runbook": f"https://runbooks.example/{service}{route}"},
                ),
                source=SourcePosition("bench-slos.yml", 1 + 12 * i, 3),
                labels={"tier": "1" if i % 3 == 0 else "2", "owner": f"team-{i % 4}"},
            )
        )
    return slos


def _counters(
    rng: np.random.Generator, slo_index: int, ts: np.ndarray, end_ms: int, scrape_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """(good, bad) request counts per scrape for one instance of one SLO."""
    peak = float(rng.uniform(2.0, 200.0))
    hours = (ts % DAY_MS) / 3_600_000
    wave = 0.55 + 0.45 * np.sin((hours - 8.0) / 24.0 * 2 * math.pi)
    share = np.full(len(ts), float(rng.uniform(0.0002, 0.004)))
    if slo_index % 10 == 3:  # an incident in the last two hours: pages and tickets
        share[ts > end_ms - 2 * 3_600_000] = 0.08
    elif slo_index % 10 == 7:  # a slow burn over the last day: tickets
        share[ts > end_ms - DAY_MS] *= 4.0
    total = rng.poisson(peak * wave * scrape_ms / 1000)
    bad = rng.binomial(total, np.minimum(share, 1.0))
    return total - bad, bad


def generate_raw(
    count: int, services: int, span: tuple[int, int], scrape_ms: int, instances: int, seed: int
) -> list[Series]:
    """Counters of every SLO: per instance a ``code="200"`` and a ``code="500"`` series."""
    rng = np.random.default_rng(seed)
    start_ms, end_ms = span
    raw = []
    for i in range(count):
        service, route = _service_route(i, services)
        for instance in range(instances):
            # Scrapes off the whole second, as real targets are.
            offset = int(rng.integers(1, scrape_ms // 1000)) * 1000 + int(rng.integers(100, 900))
            ts = np.arange(start_ms + offset, end_ms + 1, scrape_ms, dtype=np.int64)
            good, bad = _counters(rng, i, ts, end_ms, scrape_ms)
            for code, counts in (("200", good), ("500", bad)):
                labels = Labels.of(
                    {
                        METRIC_NAME: METRIC,
                        "job": "shop",
                        "service": service,
                        "route": route,
                        "instance": f"10.0.{i % 250}.{instance + 1}:8000",
                        "code": code,
                    }
                )
                begin = float(rng.integers(1_000, 1_000_000))
                raw.append((labels, ts, begin + np.cumsum(counts).astype(np.float64)))
    return raw


class MemoryQuerier:
    """A read-only :class:`~collector.store.interfaces.Querier` over arrays, for backfilling."""

    def __init__(self, series: Sequence[Series]) -> None:
        self._series = sorted(series, key=lambda s: s[0])

    def select(self, matchers: Sequence[Matcher], start: int, end: int) -> list[SeriesData]:
        out = []
        for labels, ts, vals in self._series:
            if all(m.matches(labels.get(m.name) or "") for m in matchers):
                lo, hi = np.searchsorted(ts, [start, end + 1])
                if lo < hi:
                    out.append(SeriesData(labels, ts[lo:hi], vals[lo:hi]))
        return out

    def series(self, matchers, start=None, end=None) -> list[Labels]:
        return [d.labels for d in self.select(matchers, -(2**62), 2**62)]

    def label_names(self, matchers=()) -> list[str]:
        return sorted({name for labels, _, _ in self._series for name, _ in labels})

    def label_values(self, name, matchers=()) -> list[str]:
        return sorted({labels.get(name) for labels, _, _ in self._series} - {None, ""})


def _period_input_rules(groups: Sequence[RuleGroup]) -> Iterator[tuple[RuleGroup, RecordingRule]]:
    for group in groups:
        for rule in group.rules:
            if isinstance(rule, RecordingRule) and rule.record in PERIOD_INPUTS:
                yield group, rule


def backfill_recorded(
    groups: Sequence[RuleGroup], raw: Sequence[Series], start_ms: int, end_ms: int, step_ms: int
) -> list[Series]:
    """What the SLI groups' 5m event-rate rules would have recorded at every step of
    [start, end]: their expressions as range queries, relabelled as the rules do."""
    by_service: dict[str, Engine] = {}
    recorded = []
    for _group, rule in _period_input_rules(groups):
        # One small querier per service keeps each range query's selectors cheap.
        service = rule.labels.get("sloth_service", "")
        if service not in by_service:
            mine = [s for s in raw if s[0].get("service") == service]
            by_service[service] = Engine(MemoryQuerier(mine))
        engine = by_service[service]
        matrix = engine.range_query(rule.expr, start_ms, end_ms, step_ms).value
        for item in matrix:
            labels = Labels.of({**dict(item.labels), METRIC_NAME: rule.record, **rule.labels})
            recorded.append((labels, np.asarray(item.timestamps), np.asarray(item.values)))
    return recorded


def generate(
    count: int,
    services: int,
    end_ms: int,
    *,
    days: int = 30,
    scrape_ms: int = 60_000,
    interval_ms: int = 60_000,
    instances: int = 1,
    seed: int = 7,
) -> Dataset:
    """Counters over ``days`` (plus the 5m the first rates need) ending at ``end_ms``."""
    slos = make_slos(count, services)
    groups = compile_slos(slos)
    start_ms = end_ms - days * DAY_MS - 10 * 60_000
    raw = generate_raw(count, services, (start_ms, end_ms), scrape_ms, instances, seed)
    first = (start_ms + 10 * 60_000) // interval_ms * interval_ms + interval_ms
    last = end_ms // interval_ms * interval_ms
    recorded = backfill_recorded(groups, raw, first, last, interval_ms)
    return Dataset(slos, groups, raw, recorded, start_ms, end_ms)


def openmetrics(series: Sequence[Series], path: Path) -> None:
    """Write ``series`` as one OpenMetrics file (timestamps in seconds) for promtool."""
    families: dict[str, list[Series]] = {}
    for item in series:
        families.setdefault(item[0].metric_name, []).append(item)
    with path.open("w", encoding="utf-8") as out:
        for name, members in families.items():
            counter = name.endswith("_total")
            family = name.removesuffix("_total") if counter else name
            out.write(f"# TYPE {family} {'counter' if counter else 'gauge'}\n")
            for labels, ts, vals in members:
                pairs = ",".join(f'{k}="{v}"' for k, v in labels if k != METRIC_NAME)
                prefix = f"{name}{{{pairs}}} "
                seconds = [f"{t // 1000}.{t % 1000:03d}" for t in ts.tolist()]
                lines = [
                    f"{prefix}{v!r} {s}\n" for v, s in zip(vals.tolist(), seconds, strict=True)
                ]
                out.write("".join(lines))
        out.write("# EOF\n")
