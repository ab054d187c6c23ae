"""The alert timing scenario as ``promtool test rules`` files, and running Debian's promtool.

The same file is also run by ``sloscope rules test``. Counters are scraped at ``m:30``, so the
input series use a 30 s interval with every other value missing (``_``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from alert_timing_scenario import MINUTES, SERVICES

__all__ = [
    "AlertView",
    "BudgetCheck",
    "alert_tests",
    "budget_tests",
    "input_series",
    "run_promtool",
    "states_at",
    "write_test_file",
]

PROMTOOL = "/usr/bin/promtool"
Transition = tuple[int, str, str, str]  # minute, alertname, severity, new state
AlertKey = tuple[str, str]  # alertname, severity


@dataclass(frozen=True)
class AlertView:
    """An alert's labels (without ``alertname``) and expanded annotations, as sloscope made
    them; promtool must produce the same."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class BudgetCheck:
    """One recorded series at one minute, with the value sloscope's evaluation recorded."""

    minute: int
    name: str
    labels: Mapping[str, str]  # without __name__
    value: float


def series_text(name: str, labels: Mapping[str, str]) -> str:
    body = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def input_series() -> list[dict[str, str]]:
    """Both services' counters: slot ``2m+1`` of a 30 s interval is the scrape at ``m:30``."""
    series = []
    for service in SERVICES:
        for code in ("200", "500"):
            labels = {"service": service.name, "code": code}
            values = service.counter(code, MINUTES)
            text = " ".join(f"_ {v}" for v in values)
            series.append({"series": series_text("http_requests_total", labels), "values": text})
    return series


def states_at(transitions: Sequence[Transition], minute: int) -> dict[AlertKey, str]:
    """Each alert's state after the evaluation at ``minute`` (inactive ones left out)."""
    states: dict[AlertKey, str] = {}
    for at, alertname, severity, state in sorted(transitions):
        if at > minute:
            break
        states[(alertname, severity)] = state
    return {key: state for key, state in states.items() if state != "resolved"}


def check_minutes(transitions: Sequence[Transition]) -> list[int]:
    """Every transition, the evaluation before it, and the last evaluation."""
    minutes = {MINUTES - 1}
    for at, *_ in transitions:
        minutes |= {at - 1, at}
    return sorted(minutes)


def alert_tests(
    transitions: Sequence[Transition], views: Mapping[AlertKey, AlertView]
) -> tuple[list[dict], list[dict]]:
    """``alert_rule_test`` entries (firing alerts only, as promtool checks them) and
    ``promql_expr_test`` entries on ``ALERTS`` (which shows pending alerts too) at every
    minute of :func:`check_minutes`."""
    alertnames = sorted({service.alertname for service in SERVICES})
    rule_tests, expr_tests = [], []
    for minute in check_minutes(transitions):
        states = states_at(transitions, minute)
        for alertname in alertnames:
            firing = [
                {
                    "exp_labels": dict(views[key].labels),
                    "exp_annotations": dict(views[key].annotations),
                }
                for key, state in sorted(states.items())
                if key[0] == alertname and state == "firing"
            ]
            rule_tests.append(
                {"eval_time": f"{minute}m", "alertname": alertname, "exp_alerts": firing}
            )
        samples = [
            {
                "labels": series_text(
                    "ALERTS", {**views[key].labels, "alertname": key[0], "alertstate": state}
                ),
                "value": 1,
            }
            for key, state in sorted(states.items())
        ]
        expr_tests.append({"expr": "ALERTS", "eval_time": f"{minute}m", "exp_samples": samples})
    return rule_tests, expr_tests


def budget_tests(checks: Iterable[BudgetCheck], rel_tol: float = 1e-9) -> list[dict]:
    """``promql_expr_test`` entries asserting, in PromQL, that Prometheus' value of each
    recorded series is within ``rel_tol`` (relative) of sloscope's.

    promtool 2.42 compares ``exp_samples`` values exactly; the two engines may differ in
    the last bits (summation order), so the comparison is written as a query instead:
    ``abs(series - ours) <= bool tolerance`` must give 1.
    """
    tests = []
    for check in checks:
        selector = series_text(check.name, check.labels)
        tolerance = max(abs(check.value) * rel_tol, 1e-15)
        tests.append(
            {
                "expr": f"abs({selector} - {check.value!r}) <= bool {tolerance!r}",
                "eval_time": f"{check.minute}m",
                "exp_samples": [{"labels": series_text("", check.labels), "value": 1}],
            }
        )
    return tests


def write_test_file(
    path: Path,
    rule_file: Path,
    group_names: Sequence[str],
    alert_rule_tests: list[dict],
    promql_tests: list[dict],
) -> Path:
    """One test group over the whole scenario. ``group_eval_order`` is the rule file's order:
    without it promtool 2.42 evaluates groups in an unspecified order, and an alert group
    run before its recording groups would see the previous minute's ratios."""
    document = {
        "rule_files": [str(rule_file)],
        "evaluation_interval": "1m",
        "group_eval_order": list(group_names),
        "tests": [
            {
                "name": "alert timing",
                "interval": "30s",
                "input_series": input_series(),
                "alert_rule_test": alert_rule_tests,
                "promql_expr_test": promql_tests,
            }
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1 << 30), encoding="utf-8")
    return path


def run_promtool(test_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=test_file.parent,
    )
