"""Alert timing proof: an outage is scripted, and the exact minutes at which the generated
SLO alerts go pending, fire and resolve are asserted -- on sloscope's rule engine, and on
Debian's Prometheus (``promtool test rules``) for the same rule file and data.

The rule file is what ``sloscope slo generate`` writes for ``alert_timing/slos.yml``:

- ``checkout`` (99.9% over 30 days, budget 0.001) serves 2000 requests a minute, 0.05%
  failing, and fails every request for 20 minutes (increments 120..139): the fast burn.
- ``search`` (99% over 28 days, budget 0.01) serves 1000 a minute, 0.2% failing, and fails
  4% for four hours (increments 360..599): the slow burn, 4x its budget.

Counters are scraped at ``m:30`` and rules evaluated at every whole minute ``m``. At minute
``T`` a ``[w]`` range sees the increments ``T-w+1 .. T-1`` (see ``alert_timing_scenario``),
so each transition below can be worked out by hand:

1. **121, checkout page fires.** The 5m window first holds failing increment 120:
   2003/8000 = 25% > 14.4 x 0.001; the 1h window (increments 62..120) holds 2058/118000 =
   1.74% > 1.44%. At 120 the 5m window (116..119) was still 0.05%.
2. **169, checkout page resolves, and the ticket fires.** The 5m window is clean again from
   144 (T-4 > 139), but the 30m window (T-29 .. T-1) last holds increment 139 at 168
   ((2000 + 28)/58000 = 3.5% > 6 x 0.001) and is back at 0.05% at 169. The ticket's
   expression is ``unless`` the page condition, so it stayed quiet until now; at 169 its 2h
   window (50..168, 16.8% > 3 x 0.001) and 1d window (1..168, 11.9%) burn.
3. **499, checkout ticket resolves.** Its 1d/2h tier stopped at 259 (2h window clean), but
   the 3d/6h tier (1 x 0.001) holds while the 6h window (T-359 .. T-1) contains an outage
   minute: at 498 it holds increment 139 ((2000 + 358)/718000 = 0.33%); at 499 it is clean.
4. **446, search ticket fires.** The 6h window crosses 0.9333 x 0.01 at 430 already (70
   slow-burn minutes: (38 x 70 + 718)/359000 = 0.941%), but the 3d window (all data so far,
   increments 1..T-1) only at 446: (2 x 359 + 40 x 86)/445000 = 0.9344% > 0.9333% (at 445:
   4118/444000 = 0.9275%). The 1d/2h tier (2.8%) never burns (its 1d window peaks at 1.72%
   at 600), and neither does a page tier (4% < 5.6%).
5. **890, search ticket resolves.** The 6h window holds k slow-burn increments, 959 - T of
   them once the burn ends; (38k + 718)/359000 > 0.9333% needs k >= 70: true at 889, false
   at 890.

Generated alerts have no ``for`` (as in Sloth), so they fire at the first evaluation their
condition holds and are never pending. To prove pending timing too, the same rule file with
``for: 2m`` on the page and ``for: 15m`` on the ticket alert is run as well: each alert is
pending from the same minute and fires ``for`` later; resolution does not move.

Prometheus 2.42 (the oracle) reads ranges left-closed, Prometheus 3 and sloscope left-open.
No scrape sits on a range's left edge here, so the difference cannot move a transition; and
:func:`alert_timing_scenario.narrowest_margin` shows that no ratio is ever within 0.1% of a
threshold, so floating point rounding cannot either.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from slo.compile import render_rule_file
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvalResult, GroupEvaluator
from slo.rules.loader import load_rule_files
from slo.rules.model import AlertingRule, RuleGroup
from sloscope import cli

DATA = Path(__file__).resolve().parent / "alert_timing"
sys.path.insert(0, str(DATA))
import alert_timing_promtool as promtool  # noqa: E402
from alert_timing_scenario import (  # noqa: E402
    MINUTES,
    SERVICES,
    expected_transitions,
    narrowest_margin,
)

MINUTE_MS = 60_000
FOR_MINUTES = {"page": 2, "ticket": 15}
VARIANTS = ("as_generated", "with_for")

AS_GENERATED = [
    (121, "CheckoutAvailability", "page", "firing"),
    (169, "CheckoutAvailability", "page", "resolved"),
    (169, "CheckoutAvailability", "ticket", "firing"),
    (446, "SearchAvailability", "ticket", "firing"),
    (499, "CheckoutAvailability", "ticket", "resolved"),
    (890, "SearchAvailability", "ticket", "resolved"),
]
WITH_FOR = [
    (121, "CheckoutAvailability", "page", "pending"),
    (123, "CheckoutAvailability", "page", "firing"),  # active for 2m
    (169, "CheckoutAvailability", "page", "resolved"),
    (169, "CheckoutAvailability", "ticket", "pending"),
    (184, "CheckoutAvailability", "ticket", "firing"),  # active for 15m
    (446, "SearchAvailability", "ticket", "pending"),
    (461, "SearchAvailability", "ticket", "firing"),
    (499, "CheckoutAvailability", "ticket", "resolved"),
    (890, "SearchAvailability", "ticket", "resolved"),
]
EXPECTED = {"as_generated": AS_GENERATED, "with_for": WITH_FOR}

#: Budgets and burn rates are compared with Prometheus at these minutes: before, during and
#: after each burn, at each transition.
BUDGET_MINUTES = (30, 121, 169, 300, 446, 600, 890, MINUTES - 1)


@dataclass
class Evaluation:
    """What one minute-by-minute run of sloscope's rule engine over the scenario found."""

    work: Path
    rule_files: dict[str, Path]
    group_names: list[str]
    transitions: dict[str, list[promtool.Transition]]
    views: dict[promtool.AlertKey, promtool.AlertView]
    budgets: list[promtool.BudgetCheck]


def _generate_rule_file(work: Path) -> Path:
    rule_file = work / "slos.rules.yml"
    assert cli.main(["slo", "generate", "-o", str(rule_file), str(DATA / "slos.yml")]) == 0
    return rule_file


def _load(rule_file: Path) -> list[RuleGroup]:
    groups, errors = load_rule_files([str(rule_file)])
    assert errors == []
    return groups


def _with_for(groups: list[RuleGroup], work: Path) -> Path:
    """The generated rules with a ``for`` per severity on each alert."""

    def held(rule):
        if not isinstance(rule, AlertingRule):
            return rule
        return replace(rule, for_ms=FOR_MINUTES[rule.labels["sloth_severity"]] * MINUTE_MS)

    changed = [replace(g, rules=tuple(held(r) for r in g.rules)) for g in groups]
    rule_file = work / "slos.for.rules.yml"
    rule_file.write_text(render_rule_file(changed), encoding="utf-8")
    return rule_file


def _store_counters(store: SqlStore) -> None:
    scrapes = np.arange(MINUTES, dtype=np.int64) * MINUTE_MS + 30_000
    for service in SERVICES:
        for code in ("200", "500"):
            labels = Labels.of(
                {"__name__": "http_requests_total", "service": service.name, "code": code}
            )
            values = np.array(service.counter(code, MINUTES), dtype=float)
            assert store.append_series(labels, scrapes, values).appended == MINUTES


class _Recorder:
    """Keeps each alert's state between evaluations and notes every change."""

    def __init__(self) -> None:
        self.states: dict[promtool.AlertKey, str] = {}
        self.transitions: list[promtool.Transition] = []
        self.views: dict[promtool.AlertKey, promtool.AlertView] = {}

    def record(self, result: GroupEvalResult, minute: int) -> None:
        assert [r.health.last_error for r in result.rules if r.health.last_error] == []
        now = {}
        for alert in result.alerts:
            key = (alert.labels.get("alertname"), alert.labels.get("sloth_severity"))
            if alert.resolved_at_ms is None:
                now[key] = str(alert.state)
                labels = {k: v for k, v in alert.labels if k != "alertname"}
                self.views.setdefault(key, promtool.AlertView(labels, dict(alert.annotations)))
        for rule in result.rules:
            if isinstance(rule.rule, AlertingRule):
                key = (rule.rule.alert, rule.rule.labels["sloth_severity"])
                new = now.get(key, "inactive")
                if new != self.states.get(key, "inactive"):
                    state = "resolved" if new == "inactive" else new
                    self.transitions.append((minute, key[0], key[1], state))
                self.states[key] = new


def _budget_checks(engine: Engine) -> list[promtool.BudgetCheck]:
    checks = []
    for minute in BUDGET_MINUTES:
        for sample in engine.instant_query('{__name__=~"slo:.+"}', minute * MINUTE_MS).value:
            labels = dict(sample.labels)
            name = labels.pop("__name__")
            checks.append(promtool.BudgetCheck(minute, name, labels, sample.value))
    return checks


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evaluation]:
    """Both rule variants evaluated at every minute over one store (the with-``for`` alerts
    read the same recorded series and write nothing)."""
    work = tmp_path_factory.mktemp("alert_timing")
    generated = _generate_rule_file(work)
    groups = _load(generated)
    with_for = _with_for(groups, work)
    alert_groups_with_for = [g for g in _load(with_for) if g.name.startswith("sloth-slo-alerts")]
    store = SqlStore("sqlite:///:memory:")
    store.open()
    try:
        _store_counters(store)
        query = engine_query(Engine(store))
        runs = [(GroupEvaluator(g, query=query, appender=store), "as_generated") for g in groups]
        runs += [(GroupEvaluator(g, query=query), "with_for") for g in alert_groups_with_for]
        recorders = {variant: _Recorder() for variant in VARIANTS}
        for minute in range(MINUTES):
            for evaluator, variant in runs:
                recorders[variant].record(evaluator.eval(minute * MINUTE_MS), minute)
        yield Evaluation(
            work=work,
            rule_files={"as_generated": generated, "with_for": with_for},
            group_names=[g.name for g in groups],
            transitions={v: sorted(r.transitions) for v, r in recorders.items()},
            views=recorders["as_generated"].views,
            budgets=_budget_checks(Engine(store)),
        )
    finally:
        store.close()


def test_the_hand_derived_tables_follow_from_the_traffic():
    """An exact (fractions) model of the windows and Prometheus' state machine gives the
    same tables, and no ratio comes within 0.1% of a threshold at any evaluation."""
    assert expected_transitions({"page": 0, "ticket": 0}) == AS_GENERATED
    assert expected_transitions(FOR_MINUTES) == WITH_FOR
    assert narrowest_margin() > 1e-3


@pytest.mark.parametrize("variant", VARIANTS)
def test_sloscope_alerts_change_state_at_the_expected_minutes(evaluation, variant):
    assert evaluation.transitions[variant] == EXPECTED[variant]


def test_alerts_carry_the_slo_labels_and_expanded_annotations(evaluation):
    page = evaluation.views[("CheckoutAvailability", "page")]
    assert dict(page.labels) == {
        "severity": "page",
        "sloth_id": "checkout-availability",
        "sloth_service": "checkout",
        "sloth_severity": "page",
        "sloth_slo": "availability",
        "team": "shop",
    }
    assert page.annotations["title"] == (
        "(page) checkout availability SLO error budget burn rate is too fast."
    )
    assert set(evaluation.views) == {
        ("CheckoutAvailability", "page"),
        ("CheckoutAvailability", "ticket"),
        ("SearchAvailability", "ticket"),
    }


def _timing_file(evaluation: Evaluation, variant: str) -> Path:
    rule_tests, expr_tests = promtool.alert_tests(EXPECTED[variant], evaluation.views)
    return promtool.write_test_file(
        evaluation.work / f"timing_{variant}.test.yml",
        evaluation.rule_files[variant],
        evaluation.group_names,
        rule_tests,
        expr_tests,
    )


def _budget_file(evaluation: Evaluation, checks, name: str) -> Path:
    return promtool.write_test_file(
        evaluation.work / name,
        evaluation.rule_files["as_generated"],
        evaluation.group_names,
        [],
        promtool.budget_tests(checks),
    )


def _sloscope_rules_test(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["rules", "test", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.prometheus
@pytest.mark.parametrize("variant", VARIANTS)
def test_prometheus_alerts_at_the_same_minutes(evaluation, variant):
    """promtool checks the firing alerts (labels, annotations) and the ``ALERTS`` series
    (pending ones too) at every transition and the minute before it."""
    test_file = _timing_file(evaluation, variant)
    result = promtool.run_promtool(test_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_sloscope_rules_test_gives_the_same_verdict(evaluation, variant, capsys):
    code, output = _sloscope_rules_test(_timing_file(evaluation, variant), capsys)
    assert code == 0, output
    assert "SUCCESS" in output


@pytest.mark.prometheus
def test_budgets_and_burn_rates_equal_prometheus_within_1e_9(evaluation):
    """Every ``slo:*`` series (error ratios per window, event rates, burn rates, budget
    remaining) at every minute of BUDGET_MINUTES, for both SLOs."""
    names = {check.name for check in evaluation.budgets}
    assert {
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "slo:sli_error:ratio_rate30d",
        "slo:sli_error:ratio_rate4w",
    } <= names
    assert len(evaluation.budgets) == len(BUDGET_MINUTES) * 2 * 16  # 10 SLI + 6 meta series per SLO
    result = promtool.run_promtool(_budget_file(evaluation, evaluation.budgets, "budgets.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _one_budget(evaluation: Evaluation, scale: float) -> list[promtool.BudgetCheck]:
    """Checkout's budget remaining at minute 121 (a minute into the outage), scaled."""
    (check,) = [
        c
        for c in evaluation.budgets
        if c.minute == 121
        and c.name == "slo:period_error_budget_remaining:ratio"
        and c.labels["sloth_id"] == "checkout-availability"
    ]
    assert check.value < 0.99  # the outage has spent part of the budget already
    return [replace(check, value=check.value * scale)]


@pytest.mark.prometheus
@pytest.mark.parametrize(("scale", "passes"), [(1 + 1e-6, False), (1 + 1e-10, True)])
def test_the_budget_comparison_catches_a_millionth(evaluation, capsys, scale, passes):
    """A value off by 1e-6 (relative) fails on both tools; one off by 1e-10 passes, so the
    comparison is the 1e-9 tolerance and not an exact match."""
    test_file = _budget_file(evaluation, _one_budget(evaluation, scale), f"one_{scale!r}.yml")
    result = promtool.run_promtool(test_file)
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    code, output = _sloscope_rules_test(test_file, capsys)
    assert (code == 0) is passes, output
    if not passes:
        assert "slo:period_error_budget_remaining:ratio" in result.stderr + result.stdout
        assert "slo:period_error_budget_remaining:ratio" in output
