"""Differential check against Prometheus itself: an alert whose annotations use many template
functions; the expected annotations come from our expander, and ``promtool test rules`` must
agree with every one of them (Debian's promtool 2.42 as the oracle)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.result import Vector
from collector.store.sql import SqlStore
from slo.rules.templates import TemplateError, expand_template

pytestmark = pytest.mark.prometheus

EVAL_TIME_MS = 120_000
SERIES = {
    'm{job="api",instance="host-1.example.org:9090"}': [1234.5] * 3,
    'up{job="a",instance="x:1"}': [1.0] * 3,
    'up{job="b",instance="y:2"}': [0.0] * 3,
}
# Functions whose output is the same in Prometheus 2.42 and 3.x (title, parseDuration with a
# sign, now, toDuration and urlQueryEscape differ or are missing in 2.42: see docs/templates.md).
ANNOTATIONS = {
    "value": "{{ $value }} {{ .Value }} {{ $value | humanize }}",
    "labels": "{{ $labels.job }}/{{ .Labels.instance | stripPort }}/{{ $labels.nope }}",
    "humanize": "{{ humanize 0.000123 }} {{ humanize -1234 }} {{ humanize 1e30 }} {{ humanize 0 }}",
    "binary": "{{ humanize1024 1048576 }} {{ humanize1024 1023.9 }} {{ humanize1024 0.5 }}",
    "durations": "{{ humanizeDuration 0.0015 }} {{ humanizeDuration 90061 }} "
    '{{ humanizeDuration -61 }} {{ parseDuration "1h30m" }}',
    "percent": "{{ humanizePercentage 0.1234567 }} {{ $value | humanizePercentage }}",
    "timestamps": "{{ humanizeTimestamp 1435065584.128 }} | {{ toTime 1.5 }} | "
    "{{ (toTime 1700000000).Unix }}",
    "printf": '{{ printf "%.2f|%d|%s|%q|%v|%5.1f|%-4d|%04d|%x|%e|%g|%t|%%" 3.14159 42 "s" '
    '"q" 1e6 2.25 7 -7 255 1234.5678 0.000001 true }}',
    "complaints": '{{ printf "%d %s %d" 1.5 3 }}',
    "text": '{{ toUpper "abc" }} {{ toLower "ABC" }} {{ title "hello world" }} '
    '{{ reReplaceAll "(\\\\w+)-(\\\\d+)" "$2:$1" "host-1" }} {{ match "^h" "host" }}',
    "control": "{{ if gt $value 1000.0 }}big{{ else if gt $value 10.0 }}mid{{ else }}small"
    "{{ end }}{{ with $labels.job }} job={{ . }}{{ end }}",
    "vars": "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }} {{ len $labels }} "
    '{{ index $labels "job" }} {{ and 1 0 }} {{ or 0 "z" }} {{ not "" }}',
    "query": '{{ range $i, $s := sortByLabel "job" (query "up") }}{{ $i }}:{{ $s.Labels.job }}='
    "{{ $s.Value }} {{ end }}",
    "first": "{{ with query \"up{job='a'}\" }}{{ . | first | value | humanize }} "
    '{{ . | first | label "instance" }}{{ end }}',
    "empty": '{{ range query "absent" }}x{{ else }}none{{ end }}',
    "trim": 'a  {{- " b " -}}  c {{/* comment */}}d',
    "links": '{{ graphLink "up == 0" }} {{ tableLink "rate(x[5m])" }}',
    "error": "{{ gt $value 5 }}",
    "error2": '{{ humanize "abc" }}',
    "stripped": '{{ stripPort "[::1]:80" }} {{ stripDomain "foo.example.com:80" }}',
}


def _query_function() -> tuple[SqlStore, object]:
    store = SqlStore("sqlite:///:memory:")
    store.open()
    rows = []
    for selector, values in SERIES.items():
        name, _, rest = selector.partition("{")
        pairs = dict(part.split("=", 1) for part in rest.rstrip("}").split(","))
        labels = {"__name__": name} | {k: v.strip('"') for k, v in pairs.items()}
        rows += [(Labels.of(labels), i * 60_000, v) for i, v in enumerate(values)]
    store.append(rows)
    engine = Engine(store)

    def query(expr: str, time_ms: int) -> Vector:
        value = engine.instant_query(expr, time_ms).value
        assert isinstance(value, Vector)
        return value

    return store, query


def _expected(alert_labels: dict[str, str], value: float) -> dict[str, str]:
    store, query = _query_function()
    expected = {}
    try:
        for key, text in ANNOTATIONS.items():
            try:
                expected[key] = expand_template(
                    text,
                    labels=alert_labels,
                    value=value,
                    timestamp_ms=EVAL_TIME_MS,
                    query=query,  # type: ignore[arg-type]
                    name="__alert_TemplateZoo",
                )
            except TemplateError as exc:
                expected[key] = f"<error expanding template: {exc}>"
    finally:
        store.close()
    return expected


def test_promtool_agrees_with_our_expansions(tmp_path: Path) -> None:
    alert_labels = {"job": "api", "instance": "host-1.example.org:9090"}
    expected = _expected(alert_labels, 1234.5)
    assert expected["error"].startswith("<error expanding template: error executing template")
    rule = {
        "alert": "TemplateZoo",
        "expr": "sum by (job, instance) (m)",
        "labels": {"severity": "info"},
        "annotations": ANNOTATIONS,
    }
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]})
    )
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": s, "values": " ".join(repr(v) for v in vs)}
                    for s, vs in SERIES.items()
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "2m",
                        "alertname": "TemplateZoo",
                        "exp_alerts": [
                            {
                                "exp_labels": alert_labels | {"severity": "info"},
                                "exp_annotations": expected,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, allow_unicode=True))
    result = subprocess.run(
        ["promtool", "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules_agrees_on_syntax_errors(tmp_path: Path) -> None:
    from slo.rules.templates import check_template

    broken = {
        "a": "{{ nope }}",
        "b": "{{ if }}",
        "c": "{{ end }}",
        "d": "{{ $undefined }}",
        "e": '{{ "x" | 1 }}',
        "f": "{{ 1a }}",
        "g": "{{ 'ab' }}",
        "ok": "{{ $value | humanize }}",
    }
    rule = {"alert": "Broken", "expr": "up == 0", "annotations": broken}
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]})
    )
    result = subprocess.run(
        ["promtool", "check", "rules", "rules.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for key, text in broken.items():
        ours = check_template(text, "__alert_Broken")
        if ours is None:
            assert f'annotation "{key}"' not in output
        else:
            assert f'annotation "{key}": {ours}' in output
