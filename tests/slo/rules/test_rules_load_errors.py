"""Every rule-file problem is reported with file:line:column, group and rule (rulefmt's checks)."""

from __future__ import annotations

import textwrap

import pytest

from slo.rules.loader import NameScheme, load_rule_files, parse_rule_text


def errors_of(text: str, **kwargs) -> list[str]:
    groups, errors = parse_rule_text(textwrap.dedent(text), "r.yml", **kwargs)
    assert groups == [] or not errors
    return [str(e) for e in errors]


CASES = {
    "duplicate group": (
        """\
        groups:
          - name: yolo
          - name: yolo
        """,
        ['r.yml:3:5: group "yolo": groupname: "yolo" is repeated in the same file'],
    ),
    "empty group name": (
        """\
        groups:
          - interval: 1m
        """,
        ['r.yml:2:5: group "": Groupname must not be empty'],
    ),
    "bad expression": (
        """\
        groups:
          - name: yolo
            rules:
              - record: yolo
                expr: sum(
        """,
        [
            'r.yml:5:15: group "yolo", rule 1 ("yolo"): could not parse expression: '
            "1:1: parse error: unclosed left parenthesis"
        ],
    ),
    "record and alert": (
        """\
        groups:
          - name: yolo
            rules:
              - record: Hi
                alert: Hello
                expr: 1
        """,
        [
            'r.yml:4:17: group "yolo", rule 1 ("Hello"): '
            "only one of 'record' and 'alert' must be set"
        ],
    ),
    "neither record nor alert": (
        """\
        groups:
          - name: yolo
            rules:
              - expr: 1
        """,
        ["r.yml:4:9: group \"yolo\", rule 1: one of 'record' or 'alert' must be set"],
    ),
    "no expr": (
        """\
        groups:
          - name: yolo
            rules:
              - record: ylo
        """,
        ['r.yml:4:9: group "yolo", rule 1 ("ylo"): field \'expr\' must be set in rule'],
    ),
    "for, keep_firing_for and annotations on a recording rule": (
        """\
        groups:
          - name: yolo
            rules:
              - record: Hello
                expr: 1
                for: 1m
                keep_firing_for: 2m
                annotations: {a: b}
        """,
        [
            'r.yml:4:17: group "yolo", rule 1 ("Hello"): '
            "invalid field 'annotations' in recording rule",
            'r.yml:4:17: group "yolo", rule 1 ("Hello"): invalid field \'for\' in recording rule',
            'r.yml:4:17: group "yolo", rule 1 ("Hello"): '
            "invalid field 'keep_firing_for' in recording rule",
        ],
    ),
    "braces in a record name": (
        """\
        groups:
          - name: yolo
            rules:
              - record: strawberry{flavor="sweet"}
                expr: 1
        """,
        [
            'r.yml:4:17: group "yolo", rule 1 ("strawberry{flavor="sweet"}"): braces present in '
            'the recording rule name; should it be in expr?: strawberry{flavor="sweet"}'
        ],
    ),
    "unknown fields, with a suggestion": (
        """\
        groups:
          - name: yolo
            limits: 3
            rules:
              - alert: hola
                expr: 1
                annotation:
                  summary: typo
        """,
        [
            'r.yml:3:5: group "yolo": unknown field "limits" in a rule group '
            '(did you mean "limit"?)',
            'r.yml:7:9: group "yolo", rule 1 ("hola"): unknown field "annotation" in a rule '
            '(did you mean "annotations"?)',
        ],
    ),
    "unknown top-level key": (
        "grops: []\n",
        ['r.yml:1:1: unknown field "grops" in the rule file (did you mean "groups"?)'],
    ),
    "invalid label names": (
        """\
        groups:
          - name: yolo
            labels:
              __name__: x
            rules:
              - record: hola
                expr: 1
                labels:
                  __name__: anything
                  "": empty
        """,
        [
            'r.yml:4:7: group "yolo": invalid label name: __name__',
            'r.yml:9:11: group "yolo", rule 1 ("hola"): invalid label name: __name__',
            'r.yml:10:11: group "yolo", rule 1 ("hola"): invalid label name: ',
        ],
    ),
    "bad durations and types": (
        """\
        groups:
          - name: yolo
            interval: 1x
            query_offset: -1m
            limit: ten
            rules:
              - alert: A
                expr: up == 0
                for: 5
                labels:
                  severity: [page]
        """,
        [
            'r.yml:3:15: group "yolo": interval: not a valid duration: "1x"',
            'r.yml:4:19: group "yolo": query_offset: not a valid duration: "-1m"',
            'r.yml:5:12: group "yolo": limit must be an integer, got "ten"',
            'r.yml:9:14: group "yolo", rule 1 ("A"): for: not a valid duration: "5"',
            'r.yml:11:21: group "yolo", rule 1 ("A"): severity must be a string, got a list',
        ],
    ),
    "structure": (
        """\
        groups:
          - name: a
            rules: {record: x}
          - [1]
        """,
        [
            'r.yml:3:12: group "a": rules must be a list, got a mapping',
            "r.yml:4:5: a rule group must be a mapping, got a list",
        ],
    ),
    "repeated key": (
        """\
        groups:
          - name: yolo
            rules:
              - record: a
                expr: 1
                expr: 2
        """,
        ['r.yml:6:9: group "yolo", rule 1 ("a"): key "expr" is repeated (first written at line 5)'],
    ),
    "YAML syntax": (
        "groups: [\n",
        [
            "r.yml:2:1: invalid YAML: while parsing a flow node, "
            "expected the node content, but found '<stream end>'"
        ],
    ),
    "two documents": (
        "groups: []\n---\ngroups: []\n",
        ["r.yml:2:1: only one YAML document is allowed in a file (found a second one)"],
    ),
    "not a mapping": ("- a\n", ["r.yml:1:1: the rule file must be a mapping, got a list"]),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_every_problem_is_reported_with_its_place(text, expected):
    assert errors_of(text) == expected


def test_legacy_names_reject_what_prometheus_3_accepts():
    text = """\
    groups:
      - name: yolo
        rules:
          - record: job-rate
            expr: 1
            labels:
              ins-tance: a
          - alert: hola
            expr: 1
            annotations:
              ins-tance: localhost
    """
    assert errors_of(text) == []
    assert errors_of(text, names=NameScheme.LEGACY) == [
        'r.yml:4:17: group "yolo", rule 1 ("job-rate"): invalid recording rule name: job-rate',
        'r.yml:7:11: group "yolo", rule 1 ("job-rate"): invalid label name: ins-tance',
        'r.yml:11:11: group "yolo", rule 2 ("hola"): invalid annotation name: ins-tance',
    ]


TEMPLATED = """\
groups:
  - name: g
    rules:
      - record: r
        expr: 1
        labels: {ok: "{{ $labels.x"}
      - alert: A
        expr: 1
        labels:
          sev: "{{ $labels.x"
        annotations:
          summary: "{{ $value }} {{ $externalLabels.a }} {{ $externalURL }} {{ .Labels.x }}"
          description: "{{ if }}"
          other: "{{ nope 1 }}"
"""


def test_templates_of_alerting_rules_are_checked_as_promtool_does():
    # the messages are promtool's; recording rules' labels are not templates
    assert errors_of(TEMPLATED) == [
        'r.yml:10:16: group "g", rule 2 ("A"): label "sev": template: __alert_A:1: unclosed action',
        'r.yml:13:24: group "g", rule 2 ("A"): annotation "description": template: '
        "__alert_A:1: missing value for if",
        'r.yml:14:18: group "g", rule 2 ("A"): annotation "other": template: __alert_A:1: '
        'function "nope" not defined',
    ]


def test_template_checks_can_be_turned_off():
    assert errors_of(TEMPLATED, check_template=None) == []


def test_unreadable_and_non_utf8_files_are_errors_without_position(tmp_path):
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"groups: []\n# caf\xe9\n")
    missing = tmp_path / "missing.yml"
    groups, errors = load_rule_files([str(missing), str(latin1)])
    assert groups == []
    assert [str(e) for e in errors] == [
        f"{missing}: cannot read rule file: No such file or directory",
        f"{latin1}: cannot read rule file: not UTF-8 (invalid continuation byte at byte 16)",
    ]
    assert (errors[0].line, errors[0].column, errors[0].group) == (0, 0, None)


def test_error_fields_name_group_and_rule():
    _, errors = parse_rule_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(\n", "r.yml"
    )
    (error,) = errors
    assert (error.file, error.line, error.column) == ("r.yml", 5, 11)
    assert (error.group, error.rule_index, error.rule_name) == ("g", 1, "A")
    assert error.message.startswith("could not parse expression: ")
