"""The Go template language as alert templates use it: data, variables, control flow,
whitespace trimming, comments, and Go's parse and execution errors, word for word."""

from __future__ import annotations

import pytest

from slo.rules.templates import ALERT_TEMPLATE_DEFS, TemplateError, check_template, expand_template

LABELS = {"job": "api", "instance": "host-1:9090", "severity": "page"}
# Execution errors on the first line count the prepended definitions too, as in Prometheus.
FIRST_COLUMN = len(ALERT_TEMPLATE_DEFS)


def expand(text: str, value: float = 0.25, **kwargs: object) -> str:
    return expand_template(text, labels=LABELS, value=value, **kwargs)  # type: ignore[arg-type]


def error_of(text: str, value: float = 0.25) -> str:
    with pytest.raises(TemplateError) as info:
        expand(text, value)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ $labels.job }}", "api"),
        ("{{ .Labels.instance }}", "host-1:9090"),
        ("{{ $labels.missing }}|", "|"),  # missingkey=zero: an absent label is ""
        ("{{ $value }}", "0.25"),
        ("{{ .Value }}", "0.25"),
        ("{{ $externalLabels.cluster }}", "eu-1"),
        ("{{ .ExternalLabels }}", "map[cluster:eu-1]"),
        ("{{ $externalURL }}", "http://prom.example:9090/p"),
        ("{{ $labels }}", "map[instance:host-1:9090 job:api severity:page]"),
        (
            "{{ . }}",
            "{map[instance:host-1:9090 job:api severity:page] map[cluster:eu-1] "
            "http://prom.example:9090/p 0.25}",
        ),
        (
            "{{ $ }}",
            "{map[instance:host-1:9090 job:api severity:page] map[cluster:eu-1] "
            "http://prom.example:9090/p 0.25}",
        ),
        ('{{ index $labels "job" }}', "api"),
        ("plain text, no actions", "plain text, no actions"),
    ],
)
def test_alert_data_reads_like_prometheus(text: str, expected: str) -> None:
    result = expand(
        text, external_labels={"cluster": "eu-1"}, external_url="http://prom.example:9090/p"
    )
    assert result == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (100.0, "100"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
        (-0.0, "-0"),
        (1 / 3, "0.3333333333333333"),
    ],
)
def test_value_prints_as_go_float64(value: float, expected: str) -> None:
    assert expand("{{ $value }}", value) == expected


def test_pipelines_pass_the_value_as_last_argument() -> None:
    assert expand("{{ $value | humanize }}", 1234567) == "1.235M"
    assert expand('{{ $value | printf "%.3f" }}', 2) == "2.000"
    assert expand('{{ "abc" | printf "%s-%s" "x" }}') == "x-abc"
    assert expand('{{ .Labels.job | printf "%s" | len | printf "%d chars" }}') == "3 chars"
    assert expand("{{ (1.5) }}") == "1.5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}", "mid"),
        ("{{ if $labels.missing }}a{{ else }}b{{ end }}", "b"),
        ("{{ if 0.0 }}t{{ else }}f{{ end }}", "f"),
        ('{{ if "0" }}t{{ end }}', "t"),
        ("{{ if (args) }}t{{ else }}f{{ end }}", "f"),  # an empty map
        ("{{ if (args 0) }}t{{ else }}f{{ end }}", "t"),
        ("{{ with $labels.job }}{{ . | toUpper }}{{ end }}", "API"),
        ("{{ with $labels.nope }}x{{ else }}none{{ end }}", "none"),
        ("{{ with $labels.nope }}x{{ else with $labels.job }}{{ . }}{{ end }}", "api"),
        ('{{ with $x := "v" }}{{ $x }}{{ . }}{{ end }}', "vv"),
        (
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            "instance=host-1:9090;job=api;severity=page;",
        ),
        ("{{ range $labels }}{{ . }},{{ end }}", "host-1:9090,api,page,"),
        ("{{ range $i, $e := args 1 2 }}{{ $i }}={{ $e }} {{ end }}", "arg0=1 arg1=2 "),
        ("{{ range (args) }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),  # Go 1.22+ (Prometheus 3)
        (
            '{{ range $i, $e := args 1 2 3 }}{{ if eq $i "arg1" }}{{ break }}{{ end }}{{ $e }}'
            "{{ end }}",
            "1",
        ),
        (
            '{{ range $i, $e := args 1 2 3 }}{{ if eq $i "arg1" }}{{ continue }}{{ end }}{{ $e }}'
            "{{ end }}",
            "13",
        ),
    ],
)
def test_control_structures(text: str, expected: str) -> None:
    assert expand(text) == expected


def test_variables_declare_assign_and_scope() -> None:
    assert expand("{{ $x := 5 }}{{ $x }}{{ $x = 6 }}{{ $x }}") == "56"
    # an assignment inside a block changes the outer variable; a declaration does not outlive it
    assert expand(
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ $y }}{{ end }}{{ $x }}"
    ) == ("32")
    assert expand("{{ $v := $value }}{{ $v | humanizePercentage }}", 0.5) == "50%"


def test_define_template_and_block() -> None:
    assert expand('{{ define "x" }}X{{ . }}{{ end }}{{ template "x" 5 }}') == "X5"
    assert expand('{{ block "b" "v" }}B{{ . }}{{ end }}') == "Bv"
    # a called template sees only its argument: no variables of the caller
    assert check_template('{{ define "y" }}{{ $value }}{{ end }}') == (
        'template: __alert:1: undefined variable "$value"'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a  {{- " left" }}  |', "a left  |"),
        ('|  {{ "right" -}}  b', "|  rightb"),
        ('x \n\t {{- "both" -}} \n y', "xbothy"),
        ("{{- 3 }}", "3"),
        ("{{-3}}", "-3"),  # no space after the dash: a negative number, not a trim marker
        ("a {{/* a comment */}} b", "a  b"),
        ("a {{- /* trimmed comment */ -}} b", "ab"),
        ("{{\n  $labels.job\n}}", "api"),  # newlines inside actions (Go 1.16+)
    ],
)
def test_trim_markers_and_comments(text: str, expected: str) -> None:
    assert expand(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ nope }}", 'template: __alert:1: function "nope" not defined'),
        ("{{ if }}", "template: __alert:1: missing value for if"),
        ("{{ end }}", "template: __alert:1: unexpected {{end}}"),
        ("{{ else }}", "template: __alert:1: unexpected {{else}}"),
        ("{{ if 1 }}", "template: __alert:1: unexpected EOF"),
        ("{{ $undefined }}", 'template: __alert:1: undefined variable "$undefined"'),
        ("{{ break }}", "template: __alert:1: {{break}} outside {{range}}"),
        ('{{ "x" | 1 }}', "template: __alert:1: non executable command in pipeline stage 2"),
        ("{{ /* c */ }}", 'template: __alert:1: unexpected "/" in command'),
        ("{{ 'ab' }}", "template: __alert:1: malformed character constant: 'ab'"),
        ("{{ 1a }}", 'template: __alert:1: bad number syntax: "1a"'),
        ('{{ "open }}', "template: __alert:1: unterminated quoted string"),
        ("{{ $labels.job", "template: __alert:1: unclosed action"),
        ("line1\n{{ (1 }}", "template: __alert:2: unclosed left paren"),
        ("{{ $a, $b := 1 }}", "template: __alert:1: too many declarations in command"),
        ("{{/* c */}}{{ end }}", "template: __alert:1: unexpected {{end}}"),
    ],
)
def test_parse_errors_match_go(text: str, expected: str) -> None:
    assert check_template(text) == expected
    assert error_of(text) == f"error parsing template __alert: {expected}"


def test_valid_templates_check_clean() -> None:
    assert check_template("{{ $labels.job }} {{ $value | humanize }}") is None
    assert check_template("no actions at all") is None


def test_error_names_the_template() -> None:
    assert check_template("{{ nope }}", "__alert_HighLatency") == (
        'template: __alert_HighLatency:1: function "nope" not defined'
    )
    with pytest.raises(TemplateError) as info:
        expand_template("{{ humanize true }}", labels={}, value=0, name="__alert_X")
    assert str(info.value).startswith("error executing template __alert_X: template: __alert_X:1:")
    assert info.value.detail.startswith("template: __alert_X:1:")


def _at(column_in_text: int) -> int:
    return FIRST_COLUMN + column_in_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{{ gt $value 5 }}",
            f'__alert:1:{_at(3)}: executing "__alert" at <gt $value 5>: error calling gt: '
            "incompatible types for comparison",
        ),
        (
            '{{ humanize "abc" }}',
            f'__alert:1:{_at(3)}: executing "__alert" at <humanize "abc">: error calling humanize: '
            'strconv.ParseFloat: parsing "abc": invalid syntax',
        ),
        (
            "{{ .Foo }}",
            f'__alert:1:{_at(3)}: executing "__alert" at <.Foo>: can\'t evaluate field Foo in type '
            "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL "
            "string; Value interface {} }",
        ),
        (
            "{{ toUpper $value }}",
            f'__alert:1:{_at(11)}: executing "__alert" at <$value>: wrong type for value; '
            "expected string; got float64",
        ),
        (
            "{{ humanize }}",
            f'__alert:1:{_at(3)}: executing "__alert" at <humanize>: wrong number of args for '
            "humanize: want 1 got 0",
        ),
        (
            "{{ $labels.job.x }}",
            f'__alert:1:{_at(10)}: executing "__alert" at <$labels.job.x>: can\'t evaluate field x '
            "in type string",
        ),
        (
            "{{ .Labels.job 1 }}",  # Go positions a field chain at its second field
            f'__alert:1:{_at(10)}: executing "__alert" at <.Labels.job>: job is not a method but '
            "has arguments",
        ),
        (
            "{{ $value 1 }}",
            f'__alert:1:{_at(3)}: executing "__alert" at <$value>: can\'t give argument to '
            "non-function $value",
        ),
        ("{{ nil }}", f'__alert:1:{_at(3)}: executing "__alert" at <nil>: nil is not a command'),
        (
            "{{ range 1.5 }}x{{ end }}",
            f'__alert:1:{_at(9)}: executing "__alert" at <1.5>: range can\'t iterate over 1.5',
        ),
        (
            '{{ template "nope" }}',
            f'__alert:1:{_at(12)}: executing "__alert" at <{{{{template "nope"}}}}>: '
            'template "nope" not defined',
        ),
        (
            "line one\n  {{ first (args) }}",
            '__alert:2:12: executing "__alert" at <args>: wrong type for value; '
            "expected template.queryResult; got map[string]interface {}",
        ),
    ],
)
def test_execution_errors_match_go(text: str, expected: str) -> None:
    assert error_of(text) == f"error executing template __alert: template: {expected}"


def test_column_counts_bytes_like_go() -> None:
    # "é" is two bytes in UTF-8: Go's column is a byte offset
    message = error_of("é\n é {{ humanize true }}")
    assert "template: __alert:2:7:" in message


def test_range_over_a_string_is_an_error_as_in_go() -> None:
    assert error_of("{{ range $labels.nope }}x{{ end }}").endswith("range can't iterate over ")


def test_and_or_short_circuit() -> None:
    # the failing call is never made once the answer is known
    assert expand('{{ or 1 (humanize "x") }}') == "1"
    assert expand('{{ and 0 (humanize "x") }}') == "0"
    assert expand('{{ and 1 "" 3 }}|{{ or 0 "" 3 }}') == "|3"
    assert "error calling humanize" in error_of('{{ and 1 (humanize "x") }}')


def test_recursion_is_an_error_not_a_crash() -> None:
    message = error_of('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" 1 }}')
    assert "exceeded maximum template depth" in message or "nesting too deep" in message
