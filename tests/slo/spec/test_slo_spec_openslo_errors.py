"""OpenSLO v1 problems: windows, references, documents and alert policies."""

from __future__ import annotations

import pytest

from slo.spec import load_slo_texts
from slo.spec.model import Window

DAY = 86_400_000


HEADER = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec:\n  service: svc\n"
BODY = "  indicatorRef: i\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.9}]\n"
SLI_I = (
    "---\napiVersion: openslo/v1\nkind: SLI\nmetadata: {name: i}\nspec:\n  ratioMetric:\n"
    "    counter: true\n    bad: {metricSource: {type: Prometheus, spec: {query: b}}}\n"
    "    total: {metricSource: {type: Prometheus, spec: {query: t}}}\n"
)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (
            "  timeWindow: [{duration: 2M, isRolling: false}]\n",
            "x.yml:6:27: spec.timeWindow[0].duration: calendar windows must be 1w, 1M or 1Q",
        ),
        (
            "  timeWindow: [{duration: 1M, isRolling: true}]\n",
            "x.yml:6:27: spec.timeWindow[0].duration: expected minutes, hours, days or weeks "
            "(m, h, d, w), got 'M'",
        ),
        (
            "  timeWindow: [{duration: 30 days}]\n",
            "x.yml:6:27: spec.timeWindow[0].duration: expected a duration shorthand like 5m, "
            "28d or 1M, got '30 days'",
        ),
        (
            "  timeWindow: [{duration: 1w, isRolling: true, calendar: {timeZone: UTC}}]\n",
            "x.yml:6:58: spec.timeWindow[0].calendar: a rolling window has no calendar",
        ),
        (
            "  timeWindow: [{duration: 1Q, calendar: {timeZone: Europe/Atlantis}}]\n",
            "x.yml:6:52: spec.timeWindow[0].calendar.timeZone: unknown time zone "
            "'Europe/Atlantis' (expected an IANA name)",
        ),
        (
            "  timeWindow: [{duration: 1Q, calendar: {startTime: 'Jan 1st'}}]\n",
            "x.yml:6:53: spec.timeWindow[0].calendar.startTime: expected a time like "
            "2024-01-01 00:00:00, got 'Jan 1st'",
        ),
        (
            "  timeWindow: []\n",
            "x.yml:6:15: spec.timeWindow: expected exactly one time window, got 0",
        ),
    ],
)
def test_time_window_errors(window, expected):
    slos, errors = load_slo_texts({"x.yml": HEADER + window + BODY + SLI_I})
    assert slos == []
    assert [str(e) for e in errors] == [expected]


def test_calendar_quarter_and_week_windows():
    for duration, unit, days in (("1Q", "quarter", 90), ("1w", "week", 7)):
        window = f"  timeWindow: [{{duration: {duration}, calendar: {{timeZone: Asia/Tokyo}}}}]\n"
        slos, errors = load_slo_texts({"x.yml": HEADER + window + BODY + SLI_I})
        assert errors == []
        assert slos[0].window == Window("calendar", days * DAY, unit, "Asia/Tokyo")


def test_reference_errors_and_a_broken_sli_is_reported_once():
    broken_sli = SLI_I.replace("query: b", "query: 'sum(b'")
    second = HEADER.replace("name: s", "name: s2") + BODY
    unknown = HEADER.replace("name: s", "name: s3") + BODY.replace(
        "indicatorRef: i", "indicatorRef: nope"
    )
    text = HEADER + BODY + broken_sli + "---\n" + second + "---\n" + unknown
    slos, errors = load_slo_texts({"x.yml": text})
    assert slos == []
    assert [str(e) for e in errors] == [
        "x.yml:16:58: spec.ratioMetric.bad.metricSource.spec.query: invalid PromQL: unclosed "
        "left parenthesis",
        "x.yml:33:17: spec.indicatorRef: unknown SLI 'nope' (known: i)",
    ]


def test_document_level_errors():
    docs = [
        "apiVersion: openslo/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n",
        "apiVersion: openslo/v1alpha\nkind: SLO\n",
        "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: Bad Name}\nspec: {}\n",
        SLI_I.removeprefix("---\n"),
        SLI_I.removeprefix("---\n"),
        HEADER
        + "  indicatorRef: i\n  budgetingMethod: RatioTimeslices\n  objectives: [{target: 0.9}]\n",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\n",
    ]
    slos, errors = load_slo_texts({"d.yml": "---\n".join(docs)})
    assert slos == []
    assert [str(e) for e in errors] == [
        "d.yml:2:7: kind: unknown OpenSLO kind 'Widget' (expected one of: SLO, SLI, AlertPolicy, "
        "AlertCondition, AlertNotificationTarget, DataSource, Service)",
        "d.yml:6:1: apiVersion: unknown apiVersion 'openslo/v1alpha'; only openslo/v1 is supported",
        "d.yml:11:18: metadata.name: 'Bad Name' must start and end with a letter or digit and "
        "contain only letters, digits, '.', '_' and '-'",
        "d.yml:25:18: metadata.name: duplicate SLI 'i' (first at d.yml:16:18)",
        "d.yml:38:20: spec.budgetingMethod: expected Occurrences or Timeslices, got "
        "'RatioTimeslices' (RatioTimeslices is not supported yet)",
        "d.yml:41:1: spec: required key is missing",
    ]


def test_alert_policy_errors():
    policy = """\
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: p}
spec:
  conditions:
    - conditionRef: missing
    - kind: AlertCondition
      metadata: {name: c}
      spec:
        condition: {kind: budget, op: eq, threshold: 0, lookbackWindow: 1 hour}
  notificationTargets:
    - targetRef: nobody
"""
    body = BODY + "  alertPolicies: [{alertPolicyRef: p}]\n"
    slos, errors = load_slo_texts({"p.yml": HEADER + body + SLI_I + policy})
    assert slos == []
    assert [str(e) for e in errors] == [
        "p.yml:25:5: spec.conditions: expected exactly one condition, got 2",
        "p.yml:25:21: spec.conditions[0].conditionRef: unknown AlertCondition 'missing'",
        "p.yml:29:9: spec.conditions[1].spec.severity: required key is missing",
        "p.yml:29:27: spec.conditions[1].spec.condition.kind: only burnrate conditions are "
        "supported, got 'budget'",
        "p.yml:29:39: spec.conditions[1].spec.condition.op: expected one of lte, gte, lt, gt, "
        "got 'eq'",
        "p.yml:29:54: spec.conditions[1].spec.condition.threshold: a burn rate must be greater "
        "than 0",
        "p.yml:29:73: spec.conditions[1].spec.condition.lookbackWindow: expected a duration "
        "shorthand like 5m, 28d or 1M, got '1 hour'",
        "p.yml:31:18: spec.notificationTargets[0].targetRef: unknown AlertNotificationTarget "
        "'nobody'",
    ]
