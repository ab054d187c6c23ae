"""Debian's ``promtool test rules`` as the oracle: our ALERTS / ALERTS_FOR_STATE series over a
scripted outage (``for``, ``keep_firing_for``, flapping) must be exactly Prometheus'."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
import yaml

from collector.model import Labels
from collector.promql.engine import Engine
from collector.store.sql import SqlStore
from slo.rules.engine_query import engine_query
from slo.rules.group import GroupEvaluator
from slo.rules.model import AlertingRule, RuleGroup

pytestmark = pytest.mark.prometheus

MINUTE = 60_000
MINUTES = 40
# up{job="api"} per minute: down 10..19, flapping at 25 and 27..28.
UP_VALUES = [0.0 if 10 <= m < 20 or m in (25, 27, 28) else 1.0 for m in range(MINUTES + 1)]
RULES = [
    {"alert": "ApiDown", "expr": "up == 0", "for": "3m", "labels": {"severity": "page"}},
    {"alert": "ApiDownSticky", "expr": "up == 0", "for": "2m", "keep_firing_for": "4m"},
    {"alert": "ApiDownNow", "expr": "up == 0"},
]


def our_group() -> RuleGroup:
    return RuleGroup(
        "api",
        "rules.yml",
        (
            AlertingRule("ApiDown", "up == 0", for_ms=3 * MINUTE, labels={"severity": "page"}),
            AlertingRule(
                "ApiDownSticky", "up == 0", for_ms=2 * MINUTE, keep_firing_for_ms=4 * MINUTE
            ),
            AlertingRule("ApiDownNow", "up == 0"),
        ),
    )


def our_series_by_minute() -> dict[int, list[dict]]:
    """Evaluate every minute as promtool does, then query ALERTS* at each minute."""
    store = SqlStore("sqlite:///:memory:")
    store.open()
    try:
        up = Labels.of({"__name__": "up", "job": "api"})
        store.append([(up, m * MINUTE, v) for m, v in enumerate(UP_VALUES)])
        engine = Engine(store)
        evaluator = GroupEvaluator(our_group(), query=engine_query(engine), appender=store)
        for minute in range(MINUTES + 1):
            evaluator.eval(minute * MINUTE)
        return {
            minute: [
                {"labels": _promtool_labels(s.labels), "value": s.value}
                for s in engine.instant_query(
                    '{__name__=~"ALERTS|ALERTS_FOR_STATE"}', minute * MINUTE
                ).value
            ]
            for minute in range(MINUTES + 1)
        }
    finally:
        store.close()


def _promtool_labels(labels: Labels) -> str:
    rest = ", ".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
    return f"{labels.metric_name}{{{rest}}}"


def test_alert_series_match_promtool(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "Debian's promtool is needed (apt-get install prometheus)"
    ours = our_series_by_minute()
    assert any(s["labels"].startswith("ALERTS{") for rows in ours.values() for s in rows)
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "api", "rules": RULES}]})
    )
    values = " ".join(str(int(v)) for v in UP_VALUES)
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": 'up{job="api"}', "values": values}],
                "promql_expr_test": [
                    {
                        "expr": '{__name__=~"ALERTS|ALERTS_FOR_STATE"}',
                        "eval_time": f"{minute}m",
                        "exp_samples": [
                            {"labels": s["labels"], "value": _number(s["value"])} for s in rows
                        ],
                    }
                    for minute, rows in ours.items()
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _number(value: float) -> float | int:
    assert math.isfinite(value)
    return int(value) if value == int(value) else value


TEMPLATED = {
    "alert": "ErrorsHigh",
    "expr": "errors > 0.5",
    "for": "1m",
    "labels": {"severity": "{{ if gt $value 0.8 }}page{{ else }}ticket{{ end }}"},
    "annotations": {
        "summary": "{{ $labels.job }} at {{ $value | humanizePercentage }}",
        "value": "{{ $value }}",
    },
}
ERRORS = [0.1, 0.6, 0.7, 0.9, 0.95, 0.2, 0.85, 0.9, 0.9]


def our_firing_alerts() -> dict[int, list[dict]]:
    store = SqlStore("sqlite:///:memory:")
    store.open()
    try:
        errors = Labels.of({"__name__": "errors", "job": "api"})
        store.append([(errors, m * MINUTE, v) for m, v in enumerate(ERRORS)])
        rule = AlertingRule(
            "ErrorsHigh",
            TEMPLATED["expr"],
            for_ms=MINUTE,
            labels=TEMPLATED["labels"],
            annotations=TEMPLATED["annotations"],
        )
        group = RuleGroup("errors", "templated.yml", (rule,))
        evaluator = GroupEvaluator(group, query=engine_query(Engine(store)), appender=store)
        firing = {}
        for minute in range(len(ERRORS)):
            evaluator.eval(minute * MINUTE)
            firing[minute] = [
                {"exp_labels": dict(a.labels), "exp_annotations": dict(a.annotations)}
                for a in evaluator.alerting()[0].active_alerts()
                if str(a.state) == "firing"
            ]
        return firing
    finally:
        store.close()


def test_templated_firing_alerts_match_promtool(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "Debian's promtool is needed (apt-get install prometheus)"
    ours = our_firing_alerts()
    assert sum(len(alerts) for alerts in ours.values()) >= 4
    (tmp_path / "templated.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "errors", "rules": [TEMPLATED]}]})
    )
    for alerts in ours.values():
        for alert in alerts:
            alert["exp_labels"].pop("alertname")  # promtool adds it
    tests = {
        "rule_files": ["templated.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'errors{job="api"}', "values": " ".join(map(str, ERRORS))}
                ],
                "alert_rule_test": [
                    {"eval_time": f"{m}m", "alertname": "ErrorsHigh", "exp_alerts": alerts}
                    for m, alerts in ours.items()
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
