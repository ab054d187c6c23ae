"""Compiled SLO rules: sloscope's engine against Debian's Prometheus on the same counters.

Recording rules in Prometheus only run at "now", and the data is history, so the rules'
expressions are compared instead: every recorded series a rule reads is replaced by its own
definition (wrapped in ``label_replace`` for the rule's labels), and a range over a recorded
series becomes a subquery at a 5m step, as if the rule ran every 5 minutes. Each rule's fully
inlined expression is then asked of both engines at four times; the results must have the
same label sets and values within 1e-9 (relative). Prometheus also loads the generated rule
file, and every group must come up healthy.

Differences of Prometheus 2.42 from the 3.x semantics sloscope follows are avoided as in
``tests/promql/test_differential.py``: samples never sit on a whole second (scrape offsets of
whole seconds plus 100..900 ms and jitter), query times are at :07 s, counters start large and
no scrape is missed (rate extrapolation agrees), and only a few series are summed.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine, EngineOptions
from collector.promql.result import Scalar
from collector.store.sql import SqlStore
from slo.compile import compile_slos, render_rule_file
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.spec.model import SLO, Alerting, EventsSLI, RatioSLI, SourcePosition, Window

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slo_compile_prometheus as prom  # noqa: E402

pytestmark = pytest.mark.prometheus

SEED = 20_240_301
T0_MS = 1_699_999_200_000  # 2023-11-14T22:00:00Z
HOURS = 6
SCRAPE_MS = 15_000
DAY_MS = 86_400_000
SUBQUERY_STEP = "5m"
QUERY_TIMES_S = tuple(T0_MS // 1000 + s for s in (7_207, 11_407, 12_607, 21_187))
REL_TOL, ABS_TOL = 1e-9, 1e-12
METRIC = "http_requests_total"
INCIDENT_MS = (3 * 3_600_000, 3 * 3_600_000 + 40 * 60_000)  # checkout fails, after T0


def _scrape_times(rng: np.random.Generator) -> np.ndarray:
    offset = int(rng.integers(0, 15)) * 1000 + int(rng.integers(100, 900))
    grid = np.arange(T0_MS + offset, T0_MS + HOURS * 3_600_000, SCRAPE_MS, dtype=np.int64)
    return grid + rng.integers(-50, 51, size=len(grid))


def _dataset() -> list[prom.Series]:
    """Two instances per service: a daily-ish traffic wave, checkout's incident, rare errors."""
    rng = np.random.default_rng(SEED)
    series = []
    for service, peak, error_share in (("checkout", 60.0, 0.0004), ("catalog", 8.0, 0.004)):
        for instance in ("a", "b"):
            ts = _scrape_times(rng)
            since = (ts - T0_MS) / 3_600_000
            requests = peak * (0.55 + 0.45 * np.sin(since / HOURS * math.pi))
            share = np.full(len(ts), error_share)
            if service == "checkout":
                share[(ts - T0_MS >= INCIDENT_MS[0]) & (ts - T0_MS < INCIDENT_MS[1])] = 0.05
            total = rng.poisson(requests * SCRAPE_MS / 1000)
            errors = rng.binomial(total, share)
            for code, increments in (("200", total - errors), ("500", errors)):
                labels = Labels.of(
                    {"__name__": METRIC, "service": service, "instance": instance, "code": code}
                )
                start = float(rng.integers(10**6, 10**7))
                series.append((labels, ts, start + np.cumsum(increments).astype(float)))
    return series


def _slos() -> list[SLO]:
    def rate(selector: str) -> str:
        return f"sum(rate({METRIC}{{{selector}}}[{{{{.window}}}}]))"

    checkout = SLO(
        service="checkout",
        name="availability",
        objective=0.999,
        window=Window("rolling", 30 * DAY_MS),
        sli=EventsSLI(rate('service="checkout",code="500"'), rate('service="checkout"')),
        alerting=Alerting(name="CheckoutBudgetBurn"),
        source=SourcePosition("slos.yml", 1, 1),
        labels={"team": "shop"},
        min_traffic=20.0,
    )
    catalog_errors, catalog_total = rate('service="catalog",code="500"'), rate('service="catalog"')
    catalog = SLO(
        service="catalog",
        name="availability",
        objective=0.99,
        window=Window("rolling", 28 * DAY_MS),
        sli=RatioSLI(catalog_errors + "\n/\n" + catalog_total),
        alerting=Alerting(name="CatalogBudgetBurn"),
        source=SourcePosition("slos.yml", 20, 1),
    )
    return [checkout, catalog]


_REFERENCE = re.compile(
    r'(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<sel>\{sloth_id="[^"]*", sloth_service="[^"]*", '
    r'sloth_slo="[^"]*"\})(?:\[(?P<range>\w+)\])?'
)


def _selector(labels) -> str:
    return (
        f'{{sloth_id="{labels["sloth_id"]}", sloth_service="{labels["sloth_service"]}", '
        f'sloth_slo="{labels["sloth_slo"]}"}}'
    )


def inlined_rules(groups: list[RuleGroup]) -> list[tuple[str, str]]:
    """(rule name, its expression with every recorded series replaced by its definition)."""
    definitions: dict[tuple[str, str], str] = {}

    def inline(expr: str) -> str:
        def definition(match: re.Match) -> str:
            body = definitions[(match["name"], match["sel"])]
            return f"({body})[{match['range']}:{SUBQUERY_STEP}]" if match["range"] else body

        return _REFERENCE.sub(definition, expr)

    out = []
    for group in groups:
        for rule in group.rules:
            text = inline(rule.expr)
            if isinstance(rule, RecordingRule):
                out.append((f"{group.name}/{rule.record}", text))
                for name, value in sorted(rule.labels.items()):
                    text = f"label_replace({text}, {json.dumps(name)}, {json.dumps(value)}, '', '')"
                definitions[(rule.record, _selector(rule.labels))] = text
            else:
                assert isinstance(rule, AlertingRule)
                out.append((f"{group.name}/{rule.alert}/{rule.labels['sloth_severity']}", text))
    return out


@pytest.fixture(scope="module")
def groups() -> list[RuleGroup]:
    return compile_slos(_slos())


@pytest.fixture(scope="module")
def sloscope(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('sloscope') / 'store.db'}")
    store.open()
    try:
        for labels, ts, values in _dataset():
            assert store.append_series(labels, ts, values).appended == len(ts)
        store.flush()
        yield Engine(store, EngineOptions(lookback_ms=5 * 60_000))
    finally:
        store.close()


@pytest.fixture(scope="module")
def prometheus(groups, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prometheus")
    rule_file = work / "slos.rules.yml"
    rule_file.write_text(render_rule_file(groups), encoding="utf-8")
    with prom.running_prometheus(work, prom.openmetrics(_dataset(), {METRIC}), rule_file) as url:
        yield url


def _ours(engine: Engine, expr: str, time_s: int):
    value = engine.instant_query(expr, time_s * 1000).value
    if isinstance(value, Scalar):
        return [((), value.value)]
    return [(tuple(sorted(dict(s.labels).items())), s.value) for s in value]


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _differences(ours, theirs) -> str | None:
    if isinstance(theirs, str):
        return f"prometheus rejected it: {theirs}"
    ours_by, theirs_by = dict(ours), dict(theirs)
    if ours_by.keys() != theirs_by.keys():
        return f"label sets differ: sloscope {sorted(ours_by)}, prometheus {sorted(theirs_by)}"
    for key, value in ours_by.items():
        if not _same(value, theirs_by[key]):
            return f"{dict(key)}: sloscope {value!r}, prometheus {theirs_by[key]!r}"
    return None


def test_prometheus_loads_every_generated_group(prometheus: str, groups):
    loaded = {g["name"]: g["rules"] for g in prom.api_get(prometheus, "rules")["data"]["groups"]}
    assert {name: len(rules) for name, rules in loaded.items()} == {
        g.name: len(g.rules) for g in groups
    }
    assert [r["name"] for r in loaded["sloth-slo-meta-recordings-checkout-availability"]] == [
        r.record for r in groups[1].rules if isinstance(r, RecordingRule)
    ]


def test_rule_expressions_agree_with_prometheus(sloscope: Engine, prometheus: str, groups):
    problems, nonempty = [], 0
    for name, expr in inlined_rules(groups):
        for time_s in QUERY_TIMES_S:
            ours = _ours(sloscope, expr, time_s)
            nonempty += bool(ours)
            problem = _differences(ours, prom.query(prometheus, expr, time_s))
            if problem:
                problems.append(f"{name} at {time_s}: {problem}")
    assert problems == [], "\n".join(problems[:10])
    assert nonempty > 100  # the comparison is about values, not about two empty answers


def test_the_incident_pages_and_the_quiet_times_do_not(sloscope: Engine, prometheus: str, groups):
    """The data means something: checkout's page fires in the incident only, on both."""
    page = dict(inlined_rules(groups))[
        "sloth-slo-alerts-checkout-availability/CheckoutBudgetBurn/page"
    ]
    firing = [bool(prom.query(prometheus, page, t)) for t in QUERY_TIMES_S]
    assert firing == [False, False, True, False]
    assert [bool(_ours(sloscope, page, t)) for t in QUERY_TIMES_S] == firing
