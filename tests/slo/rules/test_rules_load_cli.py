"""``sloscope rules check``: promtool's output shape and exit codes, and promtool's verdicts."""

from __future__ import annotations

import subprocess

import pytest

from sloscope.cli import main

GOOD = """\
groups:
  - name: api
    interval: 30s
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: ApiDown
        expr: up{job="api"} == 0
        for: 5m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.instance }} is down ({{ $value }})"
"""

BAD = {
    "bad_expr.yml": "groups:\n- name: g\n  rules:\n  - record: r\n    expr: rate(up)\n",
    "duplicate_group.yml": "groups:\n- name: g\n- name: g\n",
    "record_for.yml": "groups:\n- name: g\n  rules:\n  - record: r\n    expr: 1\n    for: 1m\n",
    "unknown_field.yml": (
        "groups:\n- name: g\n  rules:\n  - alert: a\n    expr: 1\n    annotation: {}\n"
    ),
    "no_expr.yml": "groups:\n- name: g\n  rules:\n  - alert: a\n",
    "both_kinds.yml": "groups:\n- name: g\n  rules:\n  - alert: a\n    record: b\n    expr: 1\n",
    "label_name.yml": (
        "groups:\n- name: g\n  rules:\n  - record: r\n    expr: 1\n    labels: {__name__: x}\n"
    ),
    "yaml_syntax.yml": "groups: [\n",
    "template.yml": (
        "groups:\n- name: g\n  rules:\n  - alert: a\n    expr: 1\n"
        "    annotations: {summary: '{{ if }}'}\n"
    ),
    "bad_duration.yml": "groups:\n- name: g\n  rules:\n  - alert: a\n    expr: 1\n    for: 5\n",
}


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_good_file_prints_success_and_exits_0(tmp_path, capsys):
    path = write(tmp_path, "good.yml", GOOD)
    assert main(["rules", "check", path]) == 0
    out, err = capsys.readouterr()
    assert out == f"Checking {path}\n  SUCCESS: 2 rules found\n\n"
    assert err == ""


def test_each_file_is_reported_and_any_error_exits_1(tmp_path, capsys):
    good = write(tmp_path, "good.yml", GOOD)
    bad = write(tmp_path, "bad.yml", BAD["record_for.yml"] + "  - record: s\n")
    assert main(["rules", "check", bad, good]) == 1
    out, err = capsys.readouterr()
    assert out == f"Checking {bad}\n\nChecking {good}\n  SUCCESS: 2 rules found\n\n"
    assert err == (
        "  FAILED:\n"
        f'{bad}:4:13: group "g", rule 1 ("r"): invalid field \'for\' in recording rule\n'
        f'{bad}:7:5: group "g", rule 2 ("s"): field \'expr\' must be set in rule\n'
    )


def test_missing_file_is_an_error_not_a_traceback(tmp_path, capsys):
    missing = str(tmp_path / "nope.yml")
    assert main(["rules", "check", missing]) == 1
    _, err = capsys.readouterr()
    assert err == f"  FAILED:\n{missing}: cannot read rule file: No such file or directory\n"


def promtool_check(path: str) -> int:
    return subprocess.run(
        ["/usr/bin/promtool", "check", "rules", path], capture_output=True, check=False
    ).returncode


@pytest.mark.prometheus
@pytest.mark.parametrize("name", sorted(BAD))
def test_promtool_rejects_what_we_reject(tmp_path, capsys, name):
    path = write(tmp_path, name, BAD[name])
    assert main(["rules", "check", path]) == 1
    assert promtool_check(path) == 1


@pytest.mark.prometheus
def test_promtool_accepts_what_we_accept(tmp_path, capsys):
    path = write(tmp_path, "good.yml", GOOD)
    assert main(["rules", "check", path]) == 0
    assert promtool_check(path) == 0
