"""Valid rule files in the shapes Prometheus' docs use load into the rule model."""

from __future__ import annotations

import textwrap

from slo.rules.loader import load_rule_files, parse_rule_text
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup, RulePosition

DOCS_EXAMPLE = """\
groups:
  - name: example
    interval: 30s # defaults to the global interval
    limit: 10
    query_offset: 1m
    labels:
      team: shop
    rules:
      - record: code:prometheus_http_requests_total:sum
        expr: sum by (code) (prometheus_http_requests_total)
        labels:
          source: recorded
      - alert: HighRequestLatency
        expr: job:request_latency_seconds:mean5m{job="myjob"} > 0.5
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: High request latency on {{ $labels.instance }}
          description: "{{ $value }} seconds"
  - name: defaults
    rules:
"""


def test_docs_example_loads_every_field():
    groups, errors = parse_rule_text(DOCS_EXAMPLE, "rules.yml")
    assert errors == []
    example, defaults = groups
    assert example == RuleGroup(
        name="example",
        file="rules.yml",
        rules=(
            RecordingRule(
                record="code:prometheus_http_requests_total:sum",
                expr="sum by (code) (prometheus_http_requests_total)",
                labels={"source": "recorded"},
                position=RulePosition("rules.yml", 9, 9),
            ),
            AlertingRule(
                alert="HighRequestLatency",
                expr='job:request_latency_seconds:mean5m{job="myjob"} > 0.5',
                for_ms=600_000,
                keep_firing_for_ms=300_000,
                labels={"severity": "page"},
                annotations={
                    "summary": "High request latency on {{ $labels.instance }}",
                    "description": "{{ $value }} seconds",
                },
                position=RulePosition("rules.yml", 13, 9),
            ),
        ),
        interval_ms=30_000,
        limit=10,
        query_offset_ms=60_000,
        labels={"team": "shop"},
        position=RulePosition("rules.yml", 2, 5),
    )
    assert (defaults.interval_ms, defaults.limit, defaults.query_offset_ms) == (None, 0, None)
    assert defaults.rules == ()


def test_aliases_and_merge_keys_resolve():
    text = textwrap.dedent(
        """\
        groups:
          - name: g
            rules:
              - &high
                alert: &name HighAlert
                expr: &expr sum(rate(errors_total[5m])) > 1
                for: 5m
                labels: {severity: &sev critical}
              - record: new_metric
                expr: *expr
              - alert: *name
                expr: *expr
                labels: {severity: *sev}
              - <<: *high
                alert: HighAlert2
        """
    )
    (group,), errors = parse_rule_text(text, "aliases.yml")
    assert errors == []
    first, recorded, again, merged = group.rules
    assert isinstance(merged, AlertingRule)
    assert (merged.alert, merged.for_ms, dict(merged.labels)) == (
        "HighAlert2",
        300_000,
        {"severity": "critical"},
    )
    assert {r.expr for r in group.rules} == {"sum(rate(errors_total[5m])) > 1"}
    assert isinstance(recorded, RecordingRule) and recorded.record == "new_metric"
    assert isinstance(again, AlertingRule) and again.alert == first.alert == "HighAlert"


def test_scalars_are_read_as_written():
    text = "groups:\n- name: 2024\n  rules:\n  - record: r\n    expr: 1e3\n    labels: {n: 010}\n"
    (group,), errors = parse_rule_text(text, "r.yml")
    assert errors == []
    assert group.name == "2024"
    assert (group.rules[0].expr, dict(group.rules[0].labels)) == ("1e3", {"n": "010"})


def test_empty_files_have_no_groups():
    for text in ("", "# only a comment\n", "groups:\n", "groups: []\n"):
        assert parse_rule_text(text, "empty.yml") == ([], [])


def test_load_rule_files_concatenates_groups_of_good_files(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text(DOCS_EXAMPLE, encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: b\n  rules:\n  - record: x\n", encoding="utf-8")
    groups, errors = load_rule_files([str(good), str(bad)])
    assert [g.name for g in groups] == ["example", "defaults"]
    assert [g.file for g in groups] == [str(good)] * 2
    assert [(e.file, e.line, e.column) for e in errors] == [(str(bad), 4, 5)]


def test_prometheus_3_utf8_names_are_valid():
    text = textwrap.dedent(
        """\
        groups:
          - name: utf8
            rules:
              - record: http.server.duration:rate5m
                expr: 1
                labels: {"service.name": shop}
              - alert: hola
                expr: 1
                annotations: {ins-tance: localhost}
        """
    )
    (group,), errors = parse_rule_text(text, "utf8.yml")
    assert errors == []
    assert group.rules[0].labels == {"service.name": "shop"}
