"""Native spec problems: every error path names file:line:col and the key."""

from __future__ import annotations

import textwrap

import pytest

from slo.spec import load_slo_texts


def load(text: str):
    return load_slo_texts({"s.yml": textwrap.dedent(text)})


EVENTS = """\
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""


BAD = """\
service: shop!
slos:
  - name: availability
    objectiv: 0.999
    window: 30x
    sli:
      events:
        error_query: sum(rate(errors_total[5m]))
        total_query: sum(rate(requests_total[{{.window}}])
  - name: lat
    objective: 99.9
    window: {calendar: year, time_zone: Mars/Base}
    sli:
      latency:
        metric: http_server_request_duration_seconds_bucket
        threshold: fast
  - name: wv
    objective: 95%
    sli:
      web_vital: {app: shop, metric: lcp, threshold: 2.2}
    alerting:
      labels: {"bad-name": x, ok: ""}
"""


def test_every_problem_of_a_file_is_reported_with_its_position():
    slos, errors = load_slo_texts({"bad.yml": BAD})
    assert slos == []
    assert [str(e) for e in errors] == [
        "bad.yml:1:10: service: 'shop!' must start and end with a letter or digit and contain "
        "only letters, digits, '.', '_' and '-'",
        "bad.yml:3:5: slos[0].objective: required key is missing",
        "bad.yml:4:5: slos[0].objectiv: unknown key; did you mean 'objective'?",
        "bad.yml:5:13: slos[0].window: expected a duration like 30d or 1h30m, got '30x'",
        "bad.yml:8:22: slos[0].sli.events.error_query: the query must contain {{.window}} "
        "(the range of rate())",
        "bad.yml:9:22: slos[0].sli.events.total_query: invalid PromQL: unclosed left parenthesis",
        "bad.yml:11:16: slos[1].objective: expected a fraction between 0 and 1, got 99.9; "
        "write 99.9% for a percent",
        "bad.yml:12:24: slos[1].window.calendar: expected week, month or quarter, got 'year'",
        "bad.yml:12:41: slos[1].window.time_zone: unknown time zone 'Mars/Base' "
        "(expected an IANA name)",
        "bad.yml:15:17: slos[1].sli.latency.metric: give the histogram's base name, without "
        "_bucket/_count/_sum",
        "bad.yml:16:20: slos[1].sli.latency.threshold: expected seconds (0.3) or a duration "
        "(300ms), got 'fast'",
        "bad.yml:20:54: slos[2].sli.web_vital.threshold: 2.2 is not a bucket boundary of "
        "rum_web_vitals_lcp_seconds (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20)",
        "bad.yml:22:16: slos[2].alerting.labels.bad-name: invalid label name: use letters, "
        "digits and '_', not starting with a digit or '__'",
        "bad.yml:22:35: slos[2].alerting.labels.ok: label value must not be empty",
    ]


SLO_HEAD = "service: shop\nslos:\n  - name: x\n    objective: 0.99\n    sli:\n"


def test_unknown_key_without_a_close_match_lists_the_keys():
    slos, errors = load_slo_texts({"s.yml": SLO_HEAD + "      quux: {}\n"})
    assert [str(e) for e in errors] == [
        "s.yml:6:7: slos[0].sli.quux: unknown key (expected one of: bool_gauge, events, "
        "latency, ratio, span, web_vital)",
        "s.yml:6:7: slos[0].sli: expected exactly one SLI kind (events, ratio, latency, "
        "web_vital, span, bool_gauge), got 0",
    ]


@pytest.mark.parametrize(
    ("sli", "expected"),
    [
        (
            "      events: {total_query: 'sum(rate(t[{{.window}}]))'}\n",
            "s.yml:6:15: slos[0].sli.events: expected exactly one of error_query or good_query",
        ),
        (
            "      events: {error_query: 'sum(rate(t[{{.window}}]))', "
            "total_query: 'sum(rate(t[{{.window}}]))'}\n",
            "s.yml:6:15: slos[0].sli.events: the numerator and total_query must differ",
        ),
        (
            "      events: {error_query: 'sum(rate(t[{{.window}}]))', "
            "total_query: 'sum(rate(t[{{.windw}}]))'}\n",
            "s.yml:6:71: slos[0].sli.events.total_query: the query must contain {{.window}} "
            "(the range of rate())",
        ),
        (
            "      events: {error_query: 'rate(e[{{.window}}]) + {{.slo}}', "
            "total_query: 'sum(rate(t[{{.window}}]))'}\n",
            "s.yml:6:29: slos[0].sli.events.error_query: unknown template variable "
            "(only {{.window}} is supported)",
        ),
        (
            "      ratio: {error_ratio_query: 'rate(x[5m])'}\n",
            "s.yml:6:34: slos[0].sli.ratio.error_ratio_query: the query must contain "
            "{{.window}} (the range of rate())",
        ),
        (
            "      latency: {metric: h, threshold: 0.3, selector: 'job=='}\n",
            "s.yml:6:54: slos[0].sli.latency.selector: expected label matchers like "
            "job=\"shop\": invalid PromQL: unexpected '=' in label matching, expected string",
        ),
        (
            "      latency: {metric: 'http requests', threshold: -1}\n",
            "s.yml:6:25: slos[0].sli.latency.metric: not a metric name: 'http requests'",
        ),
        (
            "      latency: {metric: h, threshold: 0}\n",
            "s.yml:6:39: slos[0].sli.latency.threshold: must be greater than 0",
        ),
        (
            "      web_vital: {app: shop, metric: tti}\n",
            "s.yml:6:38: slos[0].sli.web_vital.metric: expected one of lcp, inp, cls, fcp, "
            "ttfb, got 'tti'",
        ),
        (
            "      web_vital: {app: shop, metric: lcp, device_class: watch}\n",
            "s.yml:6:57: slos[0].sli.web_vital.device_class: expected mobile, tablet or desktop",
        ),
        (
            "      span: {service: shop, span_kind: client}\n",
            "s.yml:6:40: slos[0].sli.span.span_kind: expected server or consumer (the kinds "
            "with RED metrics)",
        ),
        (
            "      span: {service: shop, latency_threshold: 300ms}\n",
            "s.yml:6:48: slos[0].sli.span.latency_threshold: 0.3 is not a bucket boundary of "
            "traces_span_metrics_duration_seconds (0.002, 0.004, 0.006, 0.008, 0.01, 0.05, "
            "0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15)",
        ),
        (
            "      bool_gauge: {query: 'up[5m]'}\n",
            "s.yml:6:27: slos[0].sli.bool_gauge.query: expected an instant vector of 0/1 values",
        ),
        (
            "      events: {}\n      ratio: {}\n",
            "s.yml:6:7: slos[0].sli: expected exactly one SLI kind (events, ratio, latency, "
            "web_vital, span, bool_gauge), got 2",
        ),
        (
            "      gauge: {query: up}\n",
            "s.yml:6:7: slos[0].sli.gauge: unknown key; did you mean 'bool_gauge'?",
        ),
    ],
)
def test_sli_errors(sli, expected):
    slos, errors = load_slo_texts({"s.yml": SLO_HEAD + sli})
    assert slos == []
    assert str(errors[0]) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "    objective: 100%\n",
            "s.yml:4:16: slos[0].objective: expected a percent between 0% and 100%, got 100%",
        ),
        (
            "    objective: '%'\n",
            "s.yml:4:16: slos[0].objective: expected a percent between 0% and 100%, got %",
        ),
        (
            "    objective: 1\n",
            "s.yml:4:16: slos[0].objective: expected a fraction between 0 and 1, got 1; "
            "write 1% for a percent",
        ),
        ("    objective: high\n", "s.yml:4:16: slos[0].objective: expected a number, got 'high'"),
        (
            "    objective: 0.9\n    window: 0s\n",
            "s.yml:5:13: slos[0].window: must be longer than 0",
        ),
        (
            "    objective: 0.9\n    window: {rolling: 7d, calendar: week}\n",
            "s.yml:5:13: slos[0].window: expected exactly one of 'rolling' or 'calendar'",
        ),
        (
            "    objective: 0.9\n    window: {rolling: 7d, time_zone: UTC}\n",
            "s.yml:5:38: slos[0].window.time_zone: only for calendar windows",
        ),
        (
            "    objective: 0.9\n    min_traffic: -1\n",
            "s.yml:5:18: slos[0].min_traffic: must be >= 0",
        ),
        (
            "    objective: 0.9\n    alerting: {page: maybe}\n",
            "s.yml:5:22: slos[0].alerting.page: expected a mapping, got 'maybe'",
        ),
        (
            "    objective: 0.9\n    alerting: {page: {enabled: 1}}\n",
            "s.yml:5:32: slos[0].alerting.page.enabled: expected true or false, got '1'",
        ),
        (
            "    objective: 0.9\n    labels: {__name__: x}\n",
            "s.yml:5:14: slos[0].labels.__name__: invalid label name: use letters, digits "
            "and '_', not starting with a digit or '__'",
        ),
    ],
)
def test_slo_field_errors(lines, expected):
    text = f"service: shop\nslos:\n  - name: x\n{lines}    sli:\n{EVENTS}"
    slos, errors = load_slo_texts({"s.yml": text})
    assert slos == []
    assert [str(e) for e in errors] == [expected]


def test_top_level_errors():
    assert [str(e) for e in load("service: shop\nslos: []\n")[1]] == [
        "s.yml:2:7: slos: expected at least one SLO"
    ]
    assert [str(e) for e in load("slos:\n  - 1\n")[1]] == [
        "s.yml:1:1: service: required key is missing",
        "s.yml:2:5: slos[0]: expected a mapping, got '1'",
    ]
    assert [str(e) for e in load("service: shop\nslos: {}\n")[1]] == [
        "s.yml:2:7: slos: expected a list, got a mapping"
    ]


def test_a_good_slo_loads_next_to_a_bad_one():
    text = SLO_HEAD + EVENTS + "  - name: y\n    objective: 2\n    sli:\n" + EVENTS
    slos, errors = load_slo_texts({"s.yml": text})
    assert [s.name for s in slos] == ["x"]
    assert [str(e) for e in errors] == [
        "s.yml:10:16: slos[1].objective: expected a fraction between 0 and 1, got 2; write 2% "
        "for a percent"
    ]
