"""Running rule unit tests on our evaluator with ``promtool test rules`` semantics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from slo.rules.unittest_runner import run_unittest_file

DATA = Path(__file__).parent / "unittest_data"
PASSING = sorted(p.name for p in DATA.glob("*_test.yml") if p.name != "failing_test.yml")


def write_case(tmp_path: Path, rules: str, test: str) -> str:
    (tmp_path / "rules.yml").write_text(textwrap.dedent(rules), encoding="utf-8")
    path = tmp_path / "case_test.yml"
    path.write_text("rule_files: [rules.yml]\n" + textwrap.dedent(test), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name", PASSING)
def test_data_files_pass(name):
    outcome = run_unittest_file(str(DATA / name))
    assert outcome.errors == []
    assert outcome.passed and outcome.warnings == []


def test_failures_show_expected_and_got_as_promtool_does():
    outcome = run_unittest_file(str(DATA / "failing_test.yml"))
    assert not outcome.passed
    assert outcome.errors == [
        "    name: wrong expectations,\n"
        "    alertname: InstanceDown, time: 1m, \n"
        "        exp:[\n"
        "            0:\n"
        '              Labels:{alertname="InstanceDown", instance="a:80", job="api", '
        'severity="page"}\n'
        "              Annotations:{}\n"
        "            ], \n"
        "        got:[]",
        "    name: wrong expectations,\n"
        "    alertname: InstanceDown, time: 3m, \n"
        "        exp:[\n"
        "            0:\n"
        '              Labels:{alertname="InstanceDown", instance="a:80", job="api", '
        'severity="critical"}\n'
        '              Annotations:{summary="An instance is down"}\n'
        "            ], \n"
        "        got:[\n"
        "            0:\n"
        '              Labels:{alertname="InstanceDown", instance="a:80", job="api", '
        'severity="page"}\n'
        '              Annotations:{summary="An instance is down"}\n'
        "            ]",
        '    expr: "job:up:sum", time: 2m,\n'
        '        exp: {__name__="job:up:sum", job="api"} 1.5E+00\n'
        '        got: {__name__="job:up:sum", job="api"} 0E+00',
        '    expr: "up == 1", time: 2m,\n'
        '        exp: {__name__="up", instance="a:80", job="api"} 1E+00\n'
        "        got: nil",
    ]


KEEP_FIRING_RULES = """\
groups:
  - name: g
    rules:
      - alert: Flapping
        expr: errors > 0
        keep_firing_for: 2m
"""


def keep_firing_test(eval_time: str, expected: str) -> str:
    return f"""\
tests:
  - interval: 1m
    input_series:
      - series: errors
        values: '1 1 0 0 0 0'
    alert_rule_test:
      - eval_time: {eval_time}
        alertname: Flapping
        exp_alerts: {expected}
"""


@pytest.mark.parametrize(
    "eval_time, expected, passes",
    [
        ("1m", "[{}]", True),
        ("3m", "[{}]", True),  # the expression stopped at 2m; kept firing for 2m
        ("4m", "[]", True),
        ("4m", "[{}]", False),
    ],
)
def test_keep_firing_for(tmp_path, eval_time, expected, passes):
    path = write_case(tmp_path, KEEP_FIRING_RULES, keep_firing_test(eval_time, expected))
    assert run_unittest_file(path).passed is passes


ORDER_RULES = (DATA / "rules_order.yml").read_text(encoding="utf-8")
ORDER_TEST = """\
group_eval_order: {order}
tests:
  - input_series:
      - series: 'requests{{job="shop"}}'
        values: '0 0'
    alert_rule_test:
      - eval_time: 0m
        alertname: NoRequests
        exp_alerts: [{{exp_labels: {{job: shop}}}}]
"""


def test_group_eval_order_decides_what_a_group_sees(tmp_path):
    ordered = write_case(tmp_path, ORDER_RULES, ORDER_TEST.format(order="[recordings, alerts]"))
    assert run_unittest_file(ordered).passed
    reversed_ = write_case(tmp_path, ORDER_RULES, ORDER_TEST.format(order="[alerts, recordings]"))
    (error,) = run_unittest_file(reversed_).errors
    assert error.endswith("got:[]")


def test_repeated_group_in_eval_order(tmp_path):
    path = write_case(tmp_path, ORDER_RULES, ORDER_TEST.format(order="[alerts, alerts]"))
    assert run_unittest_file(path).errors == ["group name repeated in evaluation order: alerts"]


def test_rule_evaluation_error_stops_the_test_group(tmp_path):
    rules = """\
    groups:
      - name: g
        rules:
          - record: both
            expr: '{__name__=~"a|b"}'
    """
    test = """\
    tests:
      - input_series:
          - series: 'a{job="x"}'
            values: '1 1'
          - series: 'b{job="x"}'
            values: '1 1'
        promql_expr_test:
          - expr: both
            eval_time: 1m
            exp_samples: []
    """
    (error,) = run_unittest_file(write_case(tmp_path, rules, test)).errors
    assert error.startswith("    rule: both, time: 0s, err: ")
    assert "same labelset" in error


def test_missing_alertname(tmp_path):
    test = """\
    tests:
      - name: t
        alert_rule_test:
          - eval_time: 5m
    """
    outcome = run_unittest_file(write_case(tmp_path, "groups: []\n", test))
    assert outcome.errors == [
        "an item under alert_rule_test misses required attribute alertname at eval_time 5m "
        "(in TestGroup t)"
    ]


def test_rule_file_problems_fail_the_test(tmp_path):
    rules = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(\n"
    test = "tests:\n- promql_expr_test: [{expr: '1', eval_time: 0m, exp_samples: []}]\n"
    (error,) = run_unittest_file(write_case(tmp_path, rules, test)).errors
    assert error.startswith(f'{tmp_path}/rules.yml:5:11: group "g", rule 1 ("r"): could not parse')


def test_unmatched_rule_file_pattern_warns_and_runs(tmp_path):
    path = tmp_path / "t_test.yml"
    path.write_text(
        "rule_files: [nothing*.yml]\ntests:\n"
        "- promql_expr_test: [{expr: '1', eval_time: 0m, exp_samples: [{labels: '', value: 1}]}]\n",
        encoding="utf-8",
    )
    outcome = run_unittest_file(str(path))
    assert outcome.passed
    assert outcome.warnings == [f"no file match pattern {tmp_path}/nothing*.yml"]


FUZZY_TEST = """\
fuzzy_compare: {fuzzy}
tests:
  - promql_expr_test:
      - expr: vector(0.1) + 0.2
        eval_time: 0m
        exp_samples: [{{labels: '{{}}', value: 0.3}}]
"""


def test_fuzzy_compare_accepts_one_ulp(tmp_path):
    exact = write_case(tmp_path, "groups: []\n", FUZZY_TEST.format(fuzzy="false"))
    (error,) = run_unittest_file(exact).errors
    assert error.endswith("got: {} 3.0000000000000004E-01")
    fuzzy = write_case(tmp_path, "groups: []\n", FUZZY_TEST.format(fuzzy="true"))
    assert run_unittest_file(fuzzy).passed


def test_start_timestamp_and_query_offset(tmp_path):
    rules = """\
    groups:
      - name: g
        query_offset: 1m
        rules:
          - record: seen
            expr: v
    """
    test = """\
    tests:
      - start_timestamp: 1000000
        input_series:
          - series: v
            values: '1 2 3 4'
        promql_expr_test:
          - expr: v
            eval_time: 2m
            exp_samples: [{labels: v, value: 3}]
          - expr: timestamp(seen)
            eval_time: 3m
            exp_samples: [{labels: '{}', value: 1000120}]
          - expr: seen
            eval_time: 3m
            exp_samples: [{labels: seen, value: 3}]
    """
    outcome = run_unittest_file(write_case(tmp_path, rules, test))
    assert outcome.errors == []


def test_annotations_are_compared_after_expansion(tmp_path):
    rules = (DATA / "rules_templates.yml").read_text(encoding="utf-8")
    test = (DATA / "templates_test.yml").read_text(encoding="utf-8")
    test = test.replace("rule_files: [rules_templates.yml]\n", "")
    wrong = test.replace("region: eu-west\n", "region: us-east\n")
    outcome = run_unittest_file(write_case(tmp_path, rules, wrong))
    assert len(outcome.errors) == 2  # at 1m and 3m
    assert 'region="in us-east (https://sloscope.example)"' in outcome.errors[0]
    assert 'region="in eu-west (https://sloscope.example)"' in outcome.errors[0]
