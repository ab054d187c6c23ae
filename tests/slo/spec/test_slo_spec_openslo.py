"""OpenSLO v1: multi-document files, references across files, objectives, windows, alerts."""

from __future__ import annotations

import pytest

from slo.spec import load_slo_texts
from slo.spec.model import (
    AlertTier,
    BoolGaugeSLI,
    EventsSLI,
    RatioSLI,
    SourcePosition,
    Window,
)

DAY = 86_400_000
SLI_DOC = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: ok-requests
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        metricSourceRef: prom
        spec:
          query: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
    total:
      metricSource:
        metricSourceRef: prom
        spec:
          query: http_requests_total{job="shop"}
---
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: prom
spec:
  type: Prometheus
  connectionDetails: {url: "http://prometheus:9090"}
"""

SLO_DOC = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
  labels:
    team: [shop, payments]
    cost-centre: c1
spec:
  service: shop
  indicatorRef: ok-requests
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: 2024-01-01 00:00:00
        timeZone: Europe/Berlin
  budgetingMethod: Occurrences
  objectives:
    - displayName: Standard
      target: 0.99
    - displayName: Stretch goal
      targetPercent: 99.9
  alertPolicies:
    - alertPolicyRef: fast-burn
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast-burn
spec:
  alertWhenBreaching: true
  conditions:
    - conditionRef: burn-14
  notificationTargets:
    - targetRef: oncall
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: burn-14
spec:
  severity: page
  description: Budget burns fast
  condition:
    kind: burnrate
    op: gte
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 5m
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata:
  name: oncall
spec:
  target: pagerduty
"""

EXPECTED_EVENTS = EventsSLI(
    error_query=None,
    total_query='sum(rate(http_requests_total{job="shop"}[{{.window}}]))',
    good_query='sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))',
)


def test_several_objectives_with_references_across_files():
    slos, errors = load_slo_texts({"sli.yml": SLI_DOC, "slo.yml": SLO_DOC})
    assert errors == []
    standard, stretch = slos
    assert [standard.id, stretch.id] == [
        "shop-availability-standard",
        "shop-availability-stretch-goal",
    ]
    assert (standard.objective, stretch.objective) == (0.99, 0.999)
    assert standard.source == SourcePosition("slo.yml", 19, 7)
    assert stretch.source == SourcePosition("slo.yml", 21, 7)
    assert standard.window == Window("calendar", 30 * DAY, "month", "Europe/Berlin")
    assert standard.sli == EXPECTED_EVENTS  # the counter selector is wrapped in rate()
    assert standard.labels == {"team": "shop,payments", "cost_centre": "c1"}
    assert standard.spec_format == "openslo"
    assert standard.budgeting == "occurrences"
    alerting = standard.alerting
    assert alerting.name == "FastBurn"
    assert alerting.page == AlertTier(
        True, {"severity": "page"}, {"description": "Budget burns fast"}
    )
    assert not alerting.ticket.enabled
    assert alerting.labels == {"notification_targets": "oncall"}


def test_one_objective_keeps_the_slo_name_and_inline_indicator():
    text = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: errors}
spec:
  service: shop
  indicator:
    metadata: {name: inline}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(e[{{.window}}]))'}}}
        total: {metricSource: {type: prometheus, spec: {query: 'sum(rate(t[{{.window}}]))'}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives:
    - target: 0.995
      timeSliceTarget: 0.9
      timeSliceWindow: 5m
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: slow-burn}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: c}
            spec:
              severity: ticket
              condition: {op: gte, threshold: 1, lookbackWindow: 3d}
"""
    slos, errors = load_slo_texts({"o.yml": text})
    assert errors == []
    (slo,) = slos
    assert slo.id == "shop-errors"
    assert slo.source == SourcePosition("o.yml", 1, 1)
    assert slo.sli == EventsSLI("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))")
    assert slo.window == Window("rolling", 28 * DAY)
    assert (slo.budgeting, slo.timeslice_target, slo.timeslice_window_ms) == (
        "timeslices",
        0.9,
        300_000,
    )
    assert not slo.alerting.page.enabled
    assert slo.alerting.ticket == AlertTier(True, {"severity": "ticket"})
    assert slo.alerting.name == "SlowBurn"


def _slo_with(sli_spec: str, objective: str = "    - target: 0.99\n") -> str:
    return (
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec:\n  service: svc\n"
        f"  indicator:\n    metadata: {{name: i}}\n    spec:\n{sli_spec}"
        f"  budgetingMethod: Occurrences\n  objectives:\n{objective}"
    )


def test_threshold_metric_becomes_a_bool_gauge_and_no_policy_means_no_alerts():
    sli = (
        "      thresholdMetric:\n        metricSource:\n          type: Prometheus\n"
        "          spec: {query: 'histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))'}\n"
    )
    slos, errors = load_slo_texts(
        {"t.yml": _slo_with(sli, "    - {op: lte, value: 0.5, target: 0.9}\n")}
    )
    assert errors == []
    assert slos[0].sli == BoolGaugeSLI(
        "(histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))) <= bool 0.5"
    )
    assert slos[0].window == Window("rolling", 30 * DAY)
    assert not slos[0].alerting.page.enabled and not slos[0].alerting.ticket.enabled


@pytest.mark.parametrize(
    ("raw_type", "expected"),
    [
        ("failure", "avg_over_time((slo:error_ratio)[{{.window}}:])"),
        ("success", "1 - (avg_over_time((slo:error_ratio)[{{.window}}:]))"),
    ],
)
def test_raw_ratio_metric(raw_type, expected):
    sli = (
        f"      ratioMetric:\n        rawType: {raw_type}\n        raw:\n          metricSource:\n"
        "            type: Prometheus\n            spec: {query: 'slo:error_ratio'}\n"
    )
    slos, errors = load_slo_texts({"r.yml": _slo_with(sli)})
    assert errors == []
    assert slos[0].sli == RatioSLI(expected)


def _ratio(good: str, total: str = "'sum(rate(t[{{.window}}]))'", counter: str = "true") -> str:
    return (
        f"      ratioMetric:\n        counter: {counter}\n"
        f"        good: {{metricSource: {{type: Prometheus, spec: {{query: {good}}}}}}}\n"
        f"        total: {{metricSource: {{type: Prometheus, spec: {{query: {total}}}}}}}\n"
    )


GOOD = _ratio("'sum(rate(g[{{.window}}]))'")


@pytest.mark.parametrize(
    ("sli", "objective", "expected"),
    [
        (
            _ratio("'sum(g)'"),
            "    - target: 0.99\n",
            "x.yml:11:63: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: without "
            "{{.window}} the query must be a series selector of a counter (counter: true)",
        ),
        (
            _ratio("g", counter="false"),
            "    - target: 0.99\n",
            "x.yml:11:63: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: without "
            "{{.window}} the query must be a series selector of a counter (counter: true)",
        ),
        (
            GOOD.replace("type: Prometheus", "type: Datadog", 1),
            "    - target: 0.99\n",
            "x.yml:11:37: spec.indicator.spec.ratioMetric.good.metricSource.type: only "
            "Prometheus metric sources are supported, got 'Datadog'",
        ),
        (
            GOOD,
            "    - target: 99\n",
            "x.yml:15:15: spec.objectives[0].target: expected a fraction between 0 and 1, got "
            "99; for a percent write targetPercent: 99",
        ),
        (
            GOOD,
            "    - {target: 0.9, targetPercent: 90}\n",
            "x.yml:15:7: spec.objectives[0].target: expected exactly one of target (0-1) or "
            "targetPercent (0-100)",
        ),
        (
            GOOD,
            "    - targetPercent: 100\n",
            "x.yml:15:22: spec.objectives[0].targetPercent: an objective of 100% leaves no "
            "error budget",
        ),
        (
            GOOD,
            "    - {target: 0.9, op: lte}\n",
            "x.yml:15:25: spec.objectives[0].op: only for thresholdMetric indicators",
        ),
        (
            GOOD,
            "    - {target: 0.9, timeSliceWindow: 1m}\n",
            "x.yml:15:38: spec.objectives[0].timeSliceWindow: only with budgetingMethod: "
            "Timeslices",
        ),
        (
            GOOD,
            "    - {target: 0.9, indicatorRef: other}\n",
            "x.yml:15:7: spec.objectives[0]: the SLO already has an indicator; give it on the "
            "SLO or on each objective",
        ),
        (
            "      ratioMetric: {counter: true}\n",
            "    - target: 0.9\n",
            "x.yml:9:20: spec.indicator.spec.ratioMetric: expected good or bad (not both) with "
            "total, or raw with rawType",
        ),
        (
            "      ratioMetric:\n"
            "        raw: {metricSource: {type: Prometheus, spec: {query: x}}}\n",
            "    - target: 0.9\n",
            "x.yml:10:9: spec.indicator.spec.ratioMetric.rawType: required with raw (success or "
            "failure)",
        ),
        (
            "      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: x}}}\n",
            "    - target: 0.9\n",
            "x.yml:12:7: spec.objectives[0].op: required for a thresholdMetric indicator",
        ),
    ],
)
def test_indicator_and_objective_errors(sli, objective, expected):
    slos, errors = load_slo_texts({"x.yml": _slo_with(sli, objective)})
    assert slos == []
    assert str(errors[0]) == expected
