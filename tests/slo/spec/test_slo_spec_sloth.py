"""Sloth ``prometheus/v1`` and ``PrometheusServiceLevel`` specs."""

from __future__ import annotations

import pytest

from slo.spec import load_slo_texts
from slo.spec.model import AlertTier, EventsSLI, RatioSLI, SourcePosition, Window

PLAIN = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    labels:
      category: availability
    sli:
      events:
        error_query: >-
          sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}
          [{{ .window }}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-myteam"
  - name: "requests-latency"
    objective: 95
    sli:
      raw:
        error_ratio_query: |
          1 - sum(rate(http_request_duration_seconds_bucket{le="0.5"}[{{.window}}]))
          / sum(rate(http_request_duration_seconds_count[{{.window}}]))
    alerting:
      page_alert:
        disable: true
      ticket_alert:
        disable: true
"""

K8S = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: svc
  namespace: test-ns
spec:
  service: "svc01"
  labels:
    global01k1: global01v1
  slos:
    - name: "slo1"
      objective: 99.95
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total[{{.window}}]))
      alerting:
        name: myServiceAlert
        pageAlert:
          labels:
            alert03k1: "alert03v1"
        ticketAlert:
          disable: true
    - name: "slo02"
      objective: 95
      sli:
        raw:
          errorRatioQuery: sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))
      alerting:
        pageAlert:
          disable: true
        ticketAlert:
          disable: true
"""


def test_plain_sloth_spec():
    slos, errors = load_slo_texts({"sloth.yml": PLAIN})
    assert errors == []
    avail, latency = slos
    assert avail.id == "myservice-requests-availability"
    assert avail.objective == 0.999
    assert avail.window == Window("rolling", 30 * 86_400_000)
    assert avail.source == SourcePosition("sloth.yml", 6, 5)
    assert avail.spec_format == "sloth"
    assert avail.labels == {"owner": "myteam", "category": "availability"}
    assert avail.description.startswith("Common SLO")
    assert avail.sli == EventsSLI(
        error_query='sum(rate(http_request_duration_seconds_count{job="myservice",'
        'code=~"(5..|429)"} [{{.window}}]))',
        total_query='sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))',
    )
    alerting = avail.alerting
    assert alerting.name == "MyServiceHighErrorRate"
    assert alerting.labels == {"category": "availability"}
    assert alerting.annotations == {"summary": "High error rate on 'myservice' requests responses"}
    assert alerting.page == AlertTier(True, {"severity": "pageteam", "routing_key": "myteam"})
    assert alerting.ticket.labels["slack_channel"] == "#alerts-myteam"
    assert latency.objective == 0.95
    assert isinstance(latency.sli, RatioSLI)
    assert latency.sli.error_ratio_query.startswith("1 - sum(rate(")
    assert not latency.alerting.page.enabled and not latency.alerting.ticket.enabled


def test_kubernetes_sloth_spec():
    slos, errors = load_slo_texts({"k8s.yml": K8S})
    assert errors == []
    assert [s.id for s in slos] == ["svc01-slo1", "svc01-slo02"]
    assert slos[0].objective == 0.9995
    assert slos[0].labels == {"global01k1": "global01v1"}
    assert slos[0].sli == EventsSLI(
        'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
        "sum(rate(http_requests_total[{{.window}}]))",
    )
    assert slos[0].alerting.page.labels == {"alert03k1": "alert03v1"}
    assert not slos[0].alerting.ticket.enabled
    assert slos[1].sli == RatioSLI("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))")


HEAD = "version: prometheus/v1\nservice: svc\nslos:\n  - name: s\n"
SLI = (
    "    sli:\n      events:\n        error_query: sum(rate(e[{{.window}}]))\n"
    "        total_query: sum(rate(t[{{.window}}]))\n"
)
NO_ALERTS = "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    objective: 100\n" + SLI + NO_ALERTS,
            ["s.yml:5:16: slos[0].objective: an objective of 100% leaves no error budget"],
        ),
        (
            "    objective: 0\n" + SLI + NO_ALERTS,
            ["s.yml:5:16: slos[0].objective: expected a percent between 0 and 100, got 0"],
        ),
        (
            "    objective: 120\n" + SLI + NO_ALERTS,
            ["s.yml:5:16: slos[0].objective: expected a percent between 0 and 100, got 120"],
        ),
        (
            "    objective: 99\n" + SLI,
            [
                "s.yml:4:5: slos[0].alerting.name: an alert name is required unless both "
                "alerts are disabled"
            ],
        ),
        (
            "    objective: 99\n    sli:\n      plugin:\n        id: sloth-common/x\n" + NO_ALERTS,
            [
                "s.yml:8:9: slos[0].sli.plugin: Sloth SLI plugins are not supported; write "
                "the queries as events or raw"
            ],
        ),
        (
            "    objective: 99\n    plugins: {chain: []}\n" + SLI + NO_ALERTS,
            ["s.yml:6:14: slos[0].plugins: Sloth SLO plugins are not supported"],
        ),
        (
            "    objective: 99\n    sli:\n      events:\n"
            "        error_query: sum(rate(e[{{.window}}]))\n"
            "        total_query: sum(rate(e[{{.window}}]))\n" + NO_ALERTS,
            ["s.yml:8:9: slos[0].sli.events: both error and total queries can't be the same"],
        ),
        (
            "    objective: 99\n    sli:\n      raw: {error_ratio_query: 'sum(rate(e[1m]))'}\n"
            + NO_ALERTS,
            [
                "s.yml:7:32: slos[0].sli.raw.error_ratio_query: the query must contain "
                "{{.window}} (the range of rate())"
            ],
        ),
        (
            "    objective: 99\n    sli: {raw: {error_ratio_query: x}, events: {}}\n" + NO_ALERTS,
            ["s.yml:6:10: slos[0].sli: expected exactly one SLI type (events, raw or plugin)"],
        ),
        (
            "    objective: 99\n" + SLI + "    alerting: {name: A, page_alert: {disable: no}}\n",
            [],
        ),
        (
            "    objective: 99\n" + SLI + "    alerting: {name: A, pageAlert: {}}\n",
            ["s.yml:10:25: slos[0].alerting.pageAlert: unknown key; did you mean 'page_alert'?"],
        ),
        (
            "    objective: '99.9'\n" + SLI + NO_ALERTS,
            ["s.yml:5:16: slos[0].objective: expected a number, got '99.9'"],
        ),
    ],
)
def test_sloth_errors(body, expected):
    slos, errors = load_slo_texts({"s.yml": HEAD + body})
    assert [str(e) for e in errors] == expected
    assert len(slos) == (0 if expected else 1)


def test_sloth_names_must_be_label_safe_and_plugins_are_refused():
    text = (
        "version: prometheus/v1\nservice: -svc\nslo_plugins: {chain: []}\nslos:\n"
        "  - name: 'my slo'\n    objective: 99\n" + SLI + NO_ALERTS
    )
    _, errors = load_slo_texts({"s.yml": text})
    assert [str(e) for e in errors] == [
        "s.yml:2:10: service: '-svc' must start and end with a letter or digit and contain "
        "only letters, digits, '.', '_' and '-'",
        "s.yml:3:14: slo_plugins: Sloth SLO plugins are not supported",
        "s.yml:5:11: slos[0].name: 'my slo' must start and end with a letter or digit and "
        "contain only letters, digits, '.', '_' and '-'",
    ]


def test_kubernetes_kind_must_be_prometheus_service_level():
    _, errors = load_slo_texts({"k.yml": "apiVersion: sloth.slok.dev/v1\nkind: Other\nspec: {}\n"})
    assert [str(e) for e in errors] == [
        "k.yml:1:1: kind: expected PrometheusServiceLevel for sloth.slok.dev/v1, got 'Other'"
    ]


def test_unknown_sloth_version():
    _, errors = load_slo_texts({"v.yml": "version: prometheus/v2\nservice: a\nslos: []\n"})
    assert [str(e) for e in errors] == [
        "v.yml:1:1: version: unknown Sloth spec version 'prometheus/v2'; expected prometheus/v1"
    ]
