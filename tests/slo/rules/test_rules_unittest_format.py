"""Reading ``promtool test rules`` files: fields, defaults, paths, and problems with places."""

from __future__ import annotations

import math
import textwrap

import pytest

from collector.model import Labels, is_stale_nan
from slo.rules.unittest_format import (
    AlertTest,
    ExpectedAlert,
    ExpectedSample,
    UnitTestFormatError,
    parse_unittest_text,
    read_unittest_file,
    resolve_rule_files,
)


def parse(text: str, path: str = "dir/t.yml"):
    return parse_unittest_text(textwrap.dedent(text), path)


def problems(text: str) -> list[str]:
    with pytest.raises(UnitTestFormatError) as info:
        parse(text, "t.yml")
    return info.value.problems


def test_every_field_is_read():
    f = parse(
        """\
        rule_files: [rules.yml, /abs/other.yml, "sub/*.yml"]
        evaluation_interval: 30s
        group_eval_order: [b, a]
        fuzzy_compare: true
        tests:
          - name: t1
            interval: 15s
            start_timestamp: 1700000000
            external_labels: {region: eu}
            external_url: http://example
            input_series:
              - series: 'up{job="a"}'
                values: '1+1x2 _ stale'
            alert_rule_test:
              - eval_time: 2m
                alertname: Down
                exp_alerts:
                  - exp_labels: {severity: page}
                    exp_annotations: {summary: s}
            promql_expr_test:
              - expr: up
                eval_time: 1m
                exp_samples:
                  - labels: 'up{job="a"}'
                    value: 3
                  - labels: '{}'
                    value: .inf
          - input_series: []
        """
    )
    assert f.rule_files == ["dir/rules.yml", "/abs/other.yml", "dir/sub/*.yml"]
    assert (f.evaluation_interval_ms, f.group_eval_order, f.fuzzy_compare) == (
        30_000,
        ("b", "a"),
        True,
    )
    t1, t2 = f.tests
    assert (t1.name, t1.interval_ms, t1.start_ms) == ("t1", 15_000, 1_700_000_000_000)
    assert (t1.external_labels, t1.external_url) == ({"region": "eu"}, "http://example")
    (series,) = t1.input_series
    assert series.labels == Labels.of({"__name__": "up", "job": "a"})
    assert series.values[:4] == [1.0, 2.0, 3.0, None] and is_stale_nan(series.values[4])
    assert t1.alert_tests == (
        AlertTest(120_000, "Down", (ExpectedAlert({"severity": "page"}, {"summary": "s"}),)),
    )
    (promql,) = t1.promql_tests
    assert promql.exp_samples == (
        ExpectedSample(Labels.of({"__name__": "up", "job": "a"}), 3.0),
        ExpectedSample(Labels(), math.inf),
    )
    assert t1.max_eval_time_ms == 120_000
    # a test's interval defaults to the file's evaluation_interval
    assert (t2.interval_ms, t2.max_eval_time_ms) == (30_000, 0)


def test_defaults():
    f = parse("tests: [{}]\n")
    assert (f.rule_files, f.evaluation_interval_ms, f.fuzzy_compare) == ([], 60_000, False)
    assert f.tests[0].interval_ms == 60_000


def test_rfc3339_start_timestamp():
    f = parse("tests:\n- start_timestamp: '2024-01-01T00:00:00Z'\n")
    assert f.tests[0].start_ms == 1_704_067_200_000


def test_problems_are_all_reported_with_places():
    assert problems(
        """\
        rule_file: [r.yml]
        evaluation_interval: 1 minute
        tests:
          - interval: 1m
            input_series:
              - series: 'up{job="a"'
                values: '1 2'
              - series: 'up'
                values: '1 two'
            alert_rule_test:
              - eval_time: 1m
                alertname: A
                exp_alert: []
            promql_expr_test:
              - expr: up
                eval_time: 1m
                exp_samples:
                  - labels: 'up{job=a}'
                    value: many
                  - labels: 'up 3'
                    histogram: '{{count:1}}'
        """
    ) == [
        't.yml:1:1: unknown field "rule_file" in the test file',
        't.yml:2:22: evaluation_interval: not a valid duration: "1 minute"',
        't.yml:7:17: input series "up{job="a"": invalid series "up{job="a" 1 2": '
        'expected metric{label="value", ...} values',
        't.yml:9:17: input series "up": invalid series value "two" '
        "(expected _, _xN, v, vxN, v+dxN, v-dxN)",
        't.yml:13:9: unknown field "exp_alert" in an alert_rule_test',
        't.yml:18:21: labels "up{job=a}": invalid series "up{job=a}": '
        'expected metric{label="value", ...} values',
        't.yml:19:20: value: "many" is not a number',
        "t.yml:21:13: native histograms are not supported",
        't.yml:20:21: labels "up 3": expected only a metric and labels',
    ]


def test_yaml_syntax_and_type_problems():
    assert problems("tests: [\n") == [
        "t.yml:2:1: invalid YAML: while parsing a flow node, expected the node content, "
        "but found '<stream end>'"
    ]
    assert problems("tests: {a: 1}\nfuzzy_compare: maybe\n") == [
        "t.yml:1:8: tests must be a list, got a mapping",
        "t.yml:2:16: fuzzy_compare must be true or false",
    ]


def test_unreadable_file(tmp_path):
    with pytest.raises(UnitTestFormatError) as info:
        read_unittest_file(str(tmp_path / "none.yml"))
    assert info.value.problems == [
        f"{tmp_path}/none.yml: cannot read test file: No such file or directory"
    ]


def test_rule_files_are_globbed_and_unmatched_patterns_reported(tmp_path):
    for name in ("b.yml", "a.yml"):
        (tmp_path / name).write_text("groups: []\n", encoding="utf-8")
    files, unmatched = resolve_rule_files(
        [f"{tmp_path}/*.yml", f"{tmp_path}/missing.yml", f"{tmp_path}/none*.yml"]
    )
    assert files == [f"{tmp_path}/a.yml", f"{tmp_path}/b.yml"]
    assert unmatched == [f"{tmp_path}/missing.yml", f"{tmp_path}/none*.yml"]
