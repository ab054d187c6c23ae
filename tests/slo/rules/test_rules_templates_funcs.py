"""Every template function: Prometheus' (template/template.go) and Go's builtins, with the
outputs and error texts Prometheus gives (checked against promtool where it has them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.model import Labels
from collector.promql.engine import Engine
from collector.promql.result import Vector
from collector.store.sql import SqlStore
from slo.rules.templates import TemplateError, expand_template

LABELS = {"job": "api", "instance": "host-1:9090"}
NOW_MS = 120_000


@pytest.fixture(scope="module")
def query() -> Iterator[object]:
    """A real engine over a store holding two ``up`` series and a ``version`` info metric."""
    store = SqlStore("sqlite:///:memory:")
    store.open()
    rows = []
    for minute in range(3):
        ts = minute * 60_000
        rows.append((Labels.of({"__name__": "up", "job": "b", "instance": "y:2"}), ts, 0.0))
        rows.append((Labels.of({"__name__": "up", "job": "a", "instance": "x:1"}), ts, 1.0))
        version = {"__name__": "version", "__value__": "v1.2", "job": "a"}
        rows.append((Labels.of(version), ts, 1.0))
    store.append(rows)
    engine = Engine(store)

    def run(expr: str, time_ms: int) -> Vector:
        value = engine.instant_query(expr, time_ms).value
        assert isinstance(value, Vector)
        return value

    yield run
    store.close()


def expand(text: str, value: float = 0.25, **kwargs: object) -> str:
    return expand_template(text, labels=LABELS, value=value, **kwargs)  # type: ignore[arg-type]


def failure(text: str, **kwargs: object) -> str:
    with pytest.raises(TemplateError) as info:
        expand(text, **kwargs)
    return str(info.value).split(": error calling ", 1)[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ humanize 0 }}", "0"),
        ("{{ humanize 0.000123 }}", "123u"),
        ("{{ humanize -1234 }}", "-1.234k"),
        ("{{ humanize 1e30 }}", "1e+06Y"),
        ("{{ humanize 999.95 }}", "1000"),  # %.4g rounds the binary value, 999.950000000000045
        ('{{ humanize "1.5e3" }}', "1.5k"),
        ('{{ humanize "1_000" }}', "1k"),
        ("{{ humanize 12 }}", "12"),
        ("{{ humanize 1e-30 }}", "1e-06y"),
        ('{{ humanize "NaN" }} {{ humanize "+Inf" }} {{ humanize "-inf" }}', "NaN +Inf -Inf"),
        ("{{ humanize1024 1 }}", "1"),
        ("{{ humanize1024 1023.9 }}", "1024"),
        ("{{ humanize1024 1048576 }}", "1Mi"),
        ("{{ humanize1024 -2048 }}", "-2ki"),
        ("{{ humanize1024 0.5 }}", "0.5"),
        ("{{ humanizeDuration 0 }}", "0s"),
        ("{{ humanizeDuration 0.0015 }}", "1.5ms"),
        ("{{ humanizeDuration 1 }}", "1s"),
        ("{{ humanizeDuration 59.99 }}", "59.99s"),
        ("{{ humanizeDuration 61 }}", "1m 1s"),
        ("{{ humanizeDuration 3601 }}", "1h 0m 1s"),
        ("{{ humanizeDuration 90061 }}", "1d 1h 1m 1s"),
        ("{{ humanizeDuration -90061 }}", "-1d 1h 1m 1s"),
        ("{{ humanizeDuration -0.5 }}", "-500ms"),
        ("{{ humanizePercentage 0.1234567 }}", "12.35%"),
        ('{{ humanizePercentage "0.5" }}', "50%"),
        ("{{ humanizeTimestamp 0 }}", "1970-01-01 00:00:00 +0000 UTC"),
        ("{{ humanizeTimestamp 1435065584.128 }}", "2015-06-23 13:19:44.128 +0000 UTC"),
        ("{{ humanizeTimestamp -1 }}", "1969-12-31 23:59:59 +0000 UTC"),
        ('{{ humanizeTimestamp "NaN" }}', "NaN"),
        ("{{ toTime 1.5 }}", "1970-01-01 00:00:01.5 +0000 UTC"),
        ("{{ (toTime 1700000000).Unix }}", "1700000000"),
        (
            "{{ (toTime 1435065584.128).Format "
            '"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3:04PM" }}',
            "2015-06-23T13:19:44.128Z Tue Jun 23 1:19PM",
        ),
        ("{{ toDuration 90.5 }} {{ (toDuration 0.0015).Seconds }}", "1m30.5s 0.0015"),
        ('{{ parseDuration "1h30m" }} {{ parseDuration "1d" }}', "5400 86400"),
        (
            '{{ parseDuration "0" }} {{ parseDuration "100ms" }} {{ parseDuration "-1m" }}',
            "0 0.1 -60",
        ),
    ],
)
def test_number_and_time_functions(text: str, expected: str) -> None:
    assert expand(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ title "hello world foo-bar x_y" }}', "Hello World Foo-Bar X_y"),
        ('{{ title "it\'s o.k" }}', "It's O.k"),
        ('{{ toUpper "abc ß" }} {{ toLower "ABC" }}', "ABC ß abc"),
        ('{{ reReplaceAll "(a+)" "<$1>" "caaat aa" }}', "c<aaa>t <aa>"),
        ('{{ reReplaceAll "x*" "-" "abxd" }}', "-a-b-d-"),
        (r'{{ reReplaceAll "(?P<h>[^:]+):(?P<p>\\d+)" "${p}@${h}" "host:80" }}', "80@host"),
        ('{{ reReplaceAll "a" "$$" "banana" }}', "b$n$n$"),
        ('{{ reReplaceAll "(b)" "$1x" "abc" }}', "ac"),  # $1x names group "1x": empty
        ('{{ match "^h" "host" }} {{ match "z" "host" }}', "true false"),
        (
            '{{ stripPort "host:80" }} {{ stripPort "host" }} {{ stripPort "[::1]:80" }}',
            "host host ::1",
        ),
        ('{{ stripPort "::1" }} {{ stripPort "1.2.3.4:5" }}', "::1 1.2.3.4"),
        (
            '{{ stripDomain "foo.example.com:80" }} {{ stripDomain "1.2.3.4:80" }}',
            "foo:80 1.2.3.4:80",
        ),
        ('{{ stripDomain "foo.bar" }}', "foo"),
        ('{{ safeHtml "<b>" }}', "<b>"),
        ('{{ graphLink "up == 0" }}', "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"),
        ('{{ tableLink "rate(x[5m])" }}', "/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1"),
        ('{{ urlQueryEscape "a b&c/é" }}', "a+b%26c%2F%C3%A9"),
        ('{{ args 1 "a" }}', "map[arg0:1 arg1:a]"),
        ('{{ (args 1 "a").arg1 }} {{ (args 1).arg5 }}', "a <no value>"),
        ("{{ pathPrefix }} {{ externalURL }}", "/prom http://example.org/prom"),
        ("{{ now }}", "120"),
    ],
)
def test_text_and_url_functions(text: str, expected: str) -> None:
    assert expand(text, external_url="http://example.org/prom", timestamp_ms=NOW_MS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ len "héllo" }} {{ len $labels }} {{ len (args 1 2) }}', "6 2 2"),
        ('{{ index $labels "job" }}|{{ index $labels "nope" }}|', "api||"),
        ('{{ index "abc" 1 }} {{ slice "hello" 1 3 }} {{ slice "hello" 2 }}', "98 el llo"),
        ('{{ and 1 2 }} {{ and 0 2 }} {{ or 0 "" }} {{ or "a" "b" }}', "2 0  a"),
        ('{{ not "" }} {{ not 1 }}', "true false"),
        (
            '{{ eq $labels.job "api" }} {{ eq 1 2 3 1 }} {{ ne 1 2 }} {{ eq 1.0 1.0 }}',
            "true true true true",
        ),
        (
            '{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 0.5 0.25 }} {{ lt "B" "a" }}',
            "true true true true true",
        ),
        ('{{ print "a" 1 2 "b" }}|{{ println 1 "x" }}|', "a1 2b|1 x\n|"),
        ("{{ html \"<a href='x'>&</a>\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
        ('{{ js "it\'s <b>" }}', "it\\'s \\u003Cb\\u003E"),
        ('{{ urlquery "a b&c" }}', "a+b%26c"),
    ],
)
def test_go_builtins(text: str, expected: str) -> None:
    assert expand(text) == expected


def test_query_first_value_label(query: object) -> None:
    text = (
        "{{ with query \"up{job='a'}\" }}{{ . | first | value | humanize }} "
        '{{ . | first | label "instance" }}{{ end }}'
    )
    assert expand(text, query=query, timestamp_ms=NOW_MS) == "1 x:1"


def test_query_range_and_sort_by_label(query: object) -> None:
    text = (
        '{{ range $i, $s := sortByLabel "job" (query "up") }}'
        "{{ $i }}:{{ $s.Labels.job }}={{ $s.Value }};{{ end }}"
    )
    assert expand(text, query=query, timestamp_ms=NOW_MS) == "0:a=1;1:b=0;"
    assert expand('{{ query "up" | len }}', query=query, timestamp_ms=NOW_MS) == "2"


def test_query_empty_result_and_strvalue(query: object) -> None:
    empty = '{{ range query "nothing" }}x{{ else }}empty{{ end }}'
    assert expand(empty, query=query, timestamp_ms=NOW_MS) == "empty"
    assert (
        expand('{{ strvalue (first (query "version")) }}', query=query, timestamp_ms=NOW_MS)
        == "v1.2"
    )
    assert failure('{{ first (query "nothing") }}', query=query, timestamp_ms=NOW_MS) == (
        "first: first() called on vector with no elements"
    )


def test_query_runs_at_the_evaluation_time(query: object) -> None:
    # the series start at 0: before that, there is nothing to find
    assert expand('{{ query "up" | len }}', query=query, timestamp_ms=-600_000) == "0"


def test_query_errors_and_missing_engine(query: object) -> None:
    assert failure('{{ query "up{" }}', query=query).startswith("query: ")
    assert failure('{{ query "up" }}').startswith("query: no query engine")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ humanize "abc" }}', 'humanize: strconv.ParseFloat: parsing "abc": invalid syntax'),
        (
            '{{ humanize "1e400" }}',
            'humanize: strconv.ParseFloat: parsing "1e400": value out of range',
        ),
        ('{{ humanize " 1" }}', 'humanize: strconv.ParseFloat: parsing " 1": invalid syntax'),
        ("{{ humanize true }}", "humanize: can't convert bool to float"),
        (
            "{{ humanizeTimestamp 1e20 }}",
            "humanizeTimestamp: 1e+20 cannot be represented as a "
            "nanoseconds timestamp since it overflows int64",
        ),
        ('{{ toTime "x" }}', 'toTime: strconv.ParseFloat: parsing "x": invalid syntax'),
        (
            '{{ reReplaceAll "(" "" "x" }}',
            "reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`",
        ),
        ('{{ match "(" "x" }}', "match: error parsing regexp: missing closing ): `(`"),
        ('{{ parseDuration "1m1h" }}', 'parseDuration: not a valid duration string: "1m1h"'),
        ('{{ parseDuration "1x" }}', 'parseDuration: unknown unit "x" in duration "1x"'),
        ('{{ parseDuration "" }}', "parseDuration: empty duration string"),
        ("{{ len 3 }}", "len: len of type int"),
        ("{{ index $labels 1 }}", "index: value has type int; should be string"),
        ('{{ index "abc" 10 }}', "index: index out of range: 10"),
        ("{{ index 1 2 }}", "index: can't index item of type int"),
        ('{{ eq "a" 1 }}', "eq: incompatible types for comparison"),
        ("{{ lt true false }}", "lt: invalid type for comparison"),
        ("{{ lt (args) 1 }}", "lt: invalid type for comparison"),
        ("{{ eq 1 }}", "eq: missing argument for comparison"),
        ('{{ printf "%d" }}', None),
    ],
)
def test_function_errors(text: str, expected: str | None) -> None:
    if expected is None:
        assert expand(text) == "%!d(MISSING)"  # printf reports in its output, never fails
        return
    assert failure(text) == expected
