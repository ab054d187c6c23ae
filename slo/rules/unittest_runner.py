"""Running rule unit tests (``promtool test rules`` semantics) on our own rule evaluator.

For each test group: the rule files are loaded, input series are written into a fresh
in-memory store as time passes, and every rule group is evaluated (in ``group_eval_order``)
at ``start, start + evaluation_interval, ...`` up to the largest ``eval_time``. An
``alert_rule_test`` at ``eval_time`` is checked after the evaluation at the last step not
after it, against the *firing* alerts of the rules with that name (pending ones do not
count), each with its labels (``alertname`` included) and expanded annotations. A
``promql_expr_test`` runs after the last evaluation, at ``start + eval_time``.

As in promtool, samples are loaded only up to the evaluation being run, so queries never see
the future; a rule that fails to evaluate stops its test group with the error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.errors import PromQLError
from collector.promql.result import Scalar, Vector
from collector.store.sql import SqlStore
from slo.rules.alerting import AlertState
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.loader import load_rule_files
from slo.rules.model import RuleGroup
from slo.rules.rule_health import RuleHealth
from slo.rules.unittest_format import (
    AlertTest,
    TestGroup,
    UnitTestFile,
    UnitTestFormatError,
    read_unittest_file,
    resolve_rule_files,
)
from slo.rules.unittest_report import (
    AlertView,
    alert_failure,
    format_go_duration,
    format_model_duration,
    format_samples,
    go_quote,
)

__all__ = ["FileOutcome", "run_test_group", "run_unittest_file"]


@dataclass
class FileOutcome:
    """What running one test file found: failures (promtool's texts) and warnings."""

    path: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors


def run_unittest_file(path: str) -> FileOutcome:
    """Read ``path`` and run every test group in it."""
    outcome = FileOutcome(path)
    try:
        test_file = read_unittest_file(path)
    except UnitTestFormatError as exc:
        outcome.errors += exc.problems
        return outcome
    rule_files, unmatched = resolve_rule_files(test_file.rule_files)
    outcome.warnings += [f"no file match pattern {pattern}" for pattern in unmatched]
    seen: set[str] = set()
    for name in test_file.group_eval_order:
        if name in seen:
            outcome.errors.append(f"group name repeated in evaluation order: {name}")
            return outcome
        seen.add(name)
    for group in test_file.tests:
        outcome.errors += run_test_group(test_file, group, rule_files)
    return outcome


def run_test_group(test_file: UnitTestFile, group: TestGroup, rule_files: list[str]) -> list[str]:
    """Run one entry of ``tests``; returns its failures (empty when it passed)."""
    for test in group.alert_tests:
        if not test.alertname:
            where = f" (in TestGroup {group.name})" if group.name else ""
            return [
                "an item under alert_rule_test misses required attribute alertname at "
                f"eval_time {format_model_duration(test.eval_time_ms)}{where}"
            ]
    rule_groups, load_errors = load_rule_files(rule_files)
    if load_errors:
        return [str(error) for error in load_errors]
    store = SqlStore("sqlite:///:memory:")
    store.open()
    try:
        return _GroupRun(test_file, group, _ordered(rule_groups, test_file), store).run()
    finally:
        store.close()


def _ordered(groups: list[RuleGroup], test_file: UnitTestFile) -> list[RuleGroup]:
    """Groups named in ``group_eval_order`` in that order; unnamed ones count as first
    (promtool gives them position 0), keeping file order among equals."""
    position = {name: i for i, name in enumerate(test_file.group_eval_order)}
    return sorted(groups, key=lambda g: position.get(g.name, 0))


class _GroupRun:
    def __init__(
        self, test_file: UnitTestFile, group: TestGroup, rules: list[RuleGroup], store: SqlStore
    ) -> None:
        self.test_file = test_file
        self.group = group
        self.store = store
        self.engine = Engine(store)
        query = engine_query(self.engine)
        self.evaluators = [
            GroupEvaluator(
                g,
                query=query,
                appender=store,
                external_labels=group.external_labels,
                external_url=group.external_url,
                default_interval_ms=group.interval_ms,
            )
            for g in rules
        ]
        self.pending = sorted(
            (group.start_ms + i * group.interval_ms, series.labels, value)
            for series in group.input_series
            for i, value in enumerate(series.values)
            if value is not None
        )
        self.loaded = 0

    def run(self) -> list[str]:
        errors: list[str] = []
        start, step = self.group.start_ms, self.test_file.evaluation_interval_ms
        alert_times = sorted({t.eval_time_ms for t in self.group.alert_tests})
        current, ts = 0, start
        while ts <= start + self.group.max_eval_time_ms:
            self._load_till(ts)
            eval_errors = self._evaluate(ts)
            if eval_errors:
                return errors + eval_errors
            while (
                current < len(alert_times)
                and ts - start <= alert_times[current] < ts - start + step
            ):
                errors += self._check_alerts(alert_times[current])
                current += 1
            ts += step
        for test in self.group.promql_tests:
            errors += self._check_promql(test.expr, test.eval_time_ms, test.exp_samples)
        return errors

    def _load_till(self, ts: int) -> None:
        end = self.loaded
        while end < len(self.pending) and self.pending[end][0] <= ts:
            end += 1
        batch = [(labels, t, v) for t, labels, v in self.pending[self.loaded : end]]
        if batch:
            self.store.append(batch)
        self.loaded = end

    def _evaluate(self, ts: int) -> list[str]:
        errors = []
        for evaluator in self.evaluators:
            evaluator.eval(ts)
        for evaluator in self.evaluators:
            for runtime, health in zip(evaluator.runtimes, evaluator.health, strict=True):
                if health.health is RuleHealth.ERR:
                    errors.append(
                        f"    rule: {runtime.name}, time: {format_go_duration(ts)}, "
                        f"err: {health.last_error}"
                    )
        return errors

    def _check_alerts(self, eval_time_ms: int) -> list[str]:
        tests = [t for t in self.group.alert_tests if t.eval_time_ms == eval_time_ms]
        wanted = {t.alertname for t in tests}
        got: dict[str, list[AlertView]] = {name: [] for name in wanted}
        for evaluator in self.evaluators:
            for runtime in evaluator.alerting():
                if runtime.name not in wanted:
                    continue
                got[runtime.name] += [
                    (tuple(a.labels), tuple(sorted(a.annotations.items())))
                    for a in runtime.active_alerts()
                    if a.state is AlertState.FIRING
                ]
        return [f for t in tests if (f := self._compare_alerts(t, got[t.alertname]))]

    def _compare_alerts(self, test: AlertTest, got: list[AlertView]) -> str | None:
        expected: list[AlertView] = [
            (
                tuple(Labels.of({**a.labels, "alertname": test.alertname})),
                tuple(sorted(a.annotations.items())),
            )
            for a in test.exp_alerts
        ]
        expected.sort()
        got = sorted(got)
        if expected == got:
            return None
        return alert_failure(self.group.name, test.alertname, test.eval_time_ms, expected, got)

    def _check_promql(self, expr: str, eval_time_ms: int, expected_samples) -> list[str]:
        where = f"    expr: {go_quote(expr)}, time: {format_model_duration(eval_time_ms)}"
        try:
            value = self.engine.instant_query(expr, self.group.start_ms + eval_time_ms).value
        except PromQLError as exc:
            return [f"{where}, err: {exc}"]
        if isinstance(value, Scalar):
            got = [((), value.value)]
        elif isinstance(value, Vector):
            got = [(tuple(s.labels), s.value) for s in value]
        else:
            return [f"{where}, err: rule result is not a vector or scalar"]
        expected = sorted(((tuple(s.labels), s.value) for s in expected_samples), key=_by_labels)
        got.sort(key=_by_labels)
        if self._same_samples(expected, got):
            return []
        return [
            f"{where},\n        exp: {format_samples(expected)}\n        got: {format_samples(got)}"
        ]

    def _same_samples(self, expected, got) -> bool:
        if len(expected) != len(got):
            return False
        for (exp_labels, exp_value), (got_labels, got_value) in zip(expected, got, strict=True):
            if exp_labels != got_labels:
                return False
            if exp_value == got_value:
                continue
            fuzzy = self.test_file.fuzzy_compare
            if not fuzzy or got_value not in (
                math.nextafter(exp_value, -math.inf),
                math.nextafter(exp_value, math.inf),
            ):
                return False
        return True


def _by_labels(sample):
    return sample[0]
