"""The promqltest script parser: every construct of the format, good and bad.

Scripts here are written for these tests; the expected readings follow Prometheus'
``promql/promqltest`` (README.md, test.go) and its series-description lexer.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from collector.model import STALE_NAN_BITS, Labels
from collector.promql.promqltest_format import (
    MAX_POINTS_PER_SERIES,
    Clear,
    EvalInstant,
    EvalRange,
    Expectation,
    ExpectedSeries,
    ExpectKind,
    Load,
    LoadSeries,
    RangeVector,
    ScriptError,
    parse_script,
)


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def only(text: str):
    (command,) = parse_script(text)
    return command


def load_values(values: str, interval: str = "1m") -> LoadSeries:
    load = only(f"load {interval}\n  m {values}\n")
    assert isinstance(load, Load)
    (series,) = load.series
    return series


def fails(text: str, line: int, *fragments: str) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "case.test")
    err = info.value
    assert (err.filename, err.line) == ("case.test", line), str(err)
    for fragment in fragments:
        assert fragment in err.message, err.message
    assert str(err) == f"case.test:{line}: {err.message}"
    return err


# --- load: expanding notation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("1 2 3", [1, 2, 3]),
        ("1+2x3", [1, 3, 5, 7]),
        ("10-1x2", [10, 9, 8]),
        ("-1+1x2", [-1, 0, 1]),
        ("-1-1x2", [-1, -2, -3]),
        ("5x2", [5, 5, 5]),
        ("7x0", [7]),
        ("1e3 .5 5. +3 -2", [1000, 0.5, 5, 3, -2]),
        ("1e+2x1 1E-1", [100, 100, 0.1]),
        ("010 1_000 08", [8, 1000, 8]),  # Go's ParseInt base 0: octal, underscores
        ("0x3", [0, 0, 0, 0]),  # no hex in series: 0 repeated
        ("Inf -Inf +inf INF", [math.inf, -math.inf, math.inf, math.inf]),
        ("1 1 2", [1, 1, 2]),
    ],
)
def test_load_expands_values_like_prometheus(values, expected):
    series = load_values(values)
    assert series.values.dtype == np.float64
    assert series.values.tolist() == expected
    assert series.timestamps_ms.dtype == np.int64
    assert series.timestamps_ms.tolist() == [i * 60_000 for i in range(len(expected))]


def test_each_value_sits_at_its_index_times_the_interval_and_gaps_are_left_out():
    series = load_values("1 _ 3 _x2 4 _x0 5", interval="30s")
    assert series.values.tolist() == [1, 3, 4, 5]
    assert series.timestamps_ms.tolist() == [0, 60_000, 150_000, 180_000]


def test_gap_repetition_gives_n_gaps_but_value_repetition_gives_n_plus_one_values():
    assert load_values("_x3 1").timestamps_ms.tolist() == [180_000]
    assert load_values("1x3 _ 2").timestamps_ms.tolist() == [0, 60_000, 120_000, 180_000, 300_000]


def test_increments_accumulate_in_float64_step_by_step():
    values = load_values("0.1+0.1x9").values
    assert values[-1] == 0.9999999999999999  # 0.1 + 9 * 0.1 would be 1.0
    assert len(values) == 10


def test_stale_and_nan_keep_their_bit_patterns():
    series = load_values("stale NaN nan -NaN 1 stale")
    assert [bits(v) for v in series.values[[0, 5]]] == [STALE_NAN_BITS, STALE_NAN_BITS]
    assert bits(series.values[1]) == 0x7FF8000000000001  # Go's math.NaN()
    assert all(math.isnan(v) for v in series.values[1:4])
    assert series.values[4] == 1


def test_stale_can_start_an_increment_but_not_a_repetition():
    assert math.isnan(load_values("stale+1x1").values[1])
    fails("load 1m\n  m stalex2\n", 2, "invalid series value")


def test_load_interval_and_nhcb_flag():
    load = only('load_with_nhcb 1h30m\n  m_bucket{le="1"} 1 2\n')
    assert (load.interval_ms, load.with_nhcb, load.line) == (5_400_000, True, 1)
    assert load.series[0].timestamps_ms.tolist() == [0, 5_400_000]
    assert only("load 5m\n  m 1\n").with_nhcb is False


def test_a_series_without_values_loads_nothing():
    series = load_values("")
    assert series.values.size == 0 and series.timestamps_ms.size == 0


def test_a_series_repeated_in_one_load_replaces_the_earlier_line():
    load = only('load 1m\n  a{x="1"} 1 2\n  b 5\n  a{x="1"} 9\n')
    assert [(str(s.labels), s.values.tolist(), s.line) for s in load.series] == [
        ("b", [5.0], 3),
        ('a{x="1"}', [9.0], 4),
    ]


# --- series descriptions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("series", "labels"),
    [
        ("up", {"__name__": "up"}),
        ('up{job="api",instance="a:1"}', {"__name__": "up", "job": "api", "instance": "a:1"}),
        ('{__name__="up", job="api"}', {"__name__": "up", "job": "api"}),
        ('up{ job = "api" , }', {"__name__": "up", "job": "api"}),
        ("{}", {}),
        ("up{}", {"__name__": "up"}),
        ('ns:rule:rate5m{a="b"}', {"__name__": "ns:rule:rate5m", "a": "b"}),
        ('sum{by="on"}', {"__name__": "sum", "by": "on"}),  # keywords are fine as names
        ('up{a=""}', {"__name__": "up"}),  # an empty value is no label
        ('{"my.metric", "http.route"="/x"}', {"__name__": "my.metric", "http.route": "/x"}),
        ('up{__name__="other"}', {"__name__": "up"}),  # the name before the braces wins
        ("m{a='single'}", {"__name__": "m", "a": "single"}),
        ("m{a=`raw \\n`}", {"__name__": "m", "a": "raw \\n"}),
    ],
)
def test_series_labels(series, labels):
    assert load_values_of(series) == Labels.of(labels)


def load_values_of(series: str) -> Labels:
    return only(f"load 1m\n  {series} 1\n").series[0].labels


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"a\"b"', 'a"b'),
        (r'"tab\there\nnl\\"', "tab\there\nnl\\"),
        (r'"\a\b\f\r\v"', "\a\b\f\r\v"),
        (r'"\u00e9\U0001F600"', "é\U0001f600"),
        (r'"\x41\101"', "AA"),
        (r'"\xc3\xa9"', "é"),  # escapes are bytes, as in Go
        (r"'it\'s'", "it's"),
        ('"Grüße, 世界"', "Grüße, 世界"),
    ],
)
def test_label_value_escapes_are_go_escapes(literal, value):
    assert load_values_of(f"m{{a={literal}}}").get("a") == value


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ('m{a="b"', ["invalid series"]),
        ('m{a!="b"} 1', ["invalid series"]),
        ('m{a=~"b"} 1', ["invalid series"]),
        ("m{a} 1", ['label name "a"']),
        ('m {a="b"} 1', ["invalid series value"]),
        ('m{a="b"}1', ["invalid series"]),
        ('"m" 1', ["invalid series"]),
        ("1 2", ["invalid series"]),
        ('m{a="1",a="2"} 1', ["duplicate label name"]),
        ('m{a="\\q"} 1', ["invalid escape"]),
        ('m{a="\\\'"} 1', ["invalid escape"]),
        ('m{a="\\400"} 1', ["out of range"]),
        ('m{a="\\ud800"} 1', ["out of range"]),
        ('m{a="\\xff"} 1', ["not valid UTF-8"]),
        ("on 1", ["keyword"]),
        ("m 1 5m", ['invalid series value "5m"']),
        ("m 1 + 2x3", ['invalid series value "+"']),
        ("m 1x", ['invalid series value "1x"']),
        ("m 1+2", ['invalid series value "1+2"']),
        ("m 1x1.5", ['invalid series value "1x1.5"']),
        ("m Infx2", ['invalid series value "Infx2"']),
        ("m -stale", ['invalid series value "-stale"']),
        ("m 1.2.3", ['invalid number "1.2.3"']),
        ("m 1e400", ["number out of range"]),
        ("m foo", ['invalid series value "foo"']),
        ("m {{schema:0 sum:1 count:1}}", ["native histograms are not supported"]),
        ("m 1 {{count:1}}x2", ["native histograms are not supported"]),
        ("m@st _ -1m", ["start timestamp (@st) lines are not supported"]),
    ],
)
def test_bad_series_lines_name_the_line(line, fragments):
    fails(f"# header\nload 1m\n  ok 1\n  {line}\n", 4, *fragments)


def test_series_length_is_bounded():
    assert load_values(f"_x{MAX_POINTS_PER_SERIES}").values.size == 0
    fails(f"load 1m\n  m 1 1x{MAX_POINTS_PER_SERIES - 1}\n", 2, "more than")


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "ms"),
    [
        ("0", 0),
        ("0s", 0),
        ("100ms", 100),
        ("10s", 10_000),
        ("5m", 300_000),
        ("1h30m", 5_400_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
        ("1y", 31_536_000_000),
        ("1m30s500ms", 90_500),
        ("90m", 5_400_000),
    ],
)
def test_durations_use_prometheus_syntax(duration, ms):
    assert only(f"eval instant at {duration} up\n").at_ms == ms


@pytest.mark.parametrize("duration", ["1.5m", "-5m", "5M", "1s1m", "5", "00", "1h 30m", "1mm"])
def test_bad_durations(duration):
    fails(f"\n\nload {duration}\n  m 1\n", 3)


def test_durations_that_overflow_go_are_rejected():
    fails("load 300y\n  m 1\n", 1, "out of range")


# --- script structure ---------------------------------------------------------------------


def test_commands_comments_blank_lines_and_indentation():
    script = """
# a comment
load 1m
m 1 2
\t  other 3

clear
   # indented comment
eval instant at 1m m
        m 2

CLEAR
"""
    load, clear, ev, clear2 = parse_script(script)
    assert isinstance(load, Load) and load.line == 3
    assert [str(s.labels) for s in load.series] == ["m", "other"]
    assert isinstance(clear, Clear) and clear == Clear(line=7)
    assert isinstance(ev, EvalInstant) and ev.line == 9 and ev.expected[0].line == 10
    assert clear2 == Clear(line=12)


def test_a_comment_line_ends_a_block_so_the_next_line_is_read_as_a_command():
    fails("load 1m\n  a 1\n  # note\n  b 2\n", 4, 'invalid command "b 2"')


def test_commands_need_a_blank_line_between_them():
    fails("load 1m\n  a 1\neval instant at 0 a\n", 3, "invalid series")


@pytest.mark.parametrize(
    ("script", "line", "fragment"),
    [
        ("loads 5m\n", 1, "invalid load command"),
        ("load\n", 1, "invalid load command"),
        ("LOAD 5m\n", 1, "invalid load command"),
        ("load 5m extra\n", 1, "not a valid duration"),
        ("\nfoo bar\n", 2, 'invalid command "foo bar"'),
        ("eval instant up\n", 1, "invalid eval command"),
        ("eval instant at 5m\n", 1, "invalid eval command"),
        ("eval_ordered range from 0 to 1m step 1m up\n", 1, "invalid eval command"),
        ("eval_bogus instant at 0 up\n", 1, "invalid eval command"),
        ("eval range from 5m to 1m step 1m up\n", 1, "before start"),
        ("eval range from 0 to 1m step x up\n", 1, "not a valid duration"),
    ],
)
def test_bad_commands(script, line, fragment):
    fails(script, line, fragment)


def test_script_error_is_a_value_error_with_a_default_filename():
    with pytest.raises(ValueError, match="invalid command") as info:
        parse_script("nope\n")
    assert str(info.value) == '<script>:1: invalid command "nope"'


# --- eval instant -------------------------------------------------------------------------


def test_instant_eval_with_expected_samples():
    ev = only('eval instant at 1h30m sum by (job) (up)\n  {job="a"} 1\n  {job="b"} -2.5\n')
    assert isinstance(ev, EvalInstant)
    assert (ev.expr, ev.at_ms, ev.line) == ("sum by (job) (up)", 5_400_000, 1)
    assert [(e.labels, e.value, e.line) for e in ev.expected] == [
        (Labels.of({"job": "a"}), 1.0, 2),
        (Labels.of({"job": "b"}), -2.5, 3),
    ]
    assert ev.expected_scalar is None and ev.expected_string is None
    assert not (ev.fail or ev.ordered or ev.warn or ev.info or ev.no_warn or ev.no_info)
    assert ev.expectations == [] and ev.range_vector is None and ev.expected_range == []


def test_an_eval_without_result_lines_expects_an_empty_result():
    ev, clear = parse_script("eval instant at 0 nothing_here\n\nclear\n")
    assert ev.expected == [] and ev.expected_scalar is None and clear == Clear(line=3)


def test_the_expression_is_the_rest_of_the_line_verbatim():
    ev = only('eval instant at 5m  rate(x{a="to"}[5m])  # not a script comment\n')
    assert ev.expr == 'rate(x{a="to"}[5m])  # not a script comment'
    rng = only("eval range from 0 to 10m step 1m a or b\n")
    assert (rng.expr, rng.start_ms, rng.end_ms, rng.step_ms) == ("a or b", 0, 600_000, 60_000)


@pytest.mark.parametrize(
    ("line", "value"),
    [("3", 3), ("-1.5", -1.5), ("1e-3", 0.001), ("Inf", math.inf), ("-inf", -math.inf)],
)
def test_a_bare_number_is_a_scalar_result(line, value):
    ev = only(f"eval instant at 0 scalar(x)\n    {line}\n")
    assert ev.expected_scalar == value and ev.expected == []


def test_a_nan_scalar_result():
    assert math.isnan(only("eval instant at 0 NaN\n  NaN\n").expected_scalar)


def test_a_scalar_line_ends_the_block():
    fails("eval instant at 0 1\n  1\n  {} 1\n", 3, 'invalid command "{} 1"')


def test_one_value_per_instant_result_line():
    fails("eval instant at 0 m\n  m 1 2\n", 2, "one value per series")
    fails("eval instant at 0 m\n  m 1x1\n", 2, "one value per series")
    fails("eval instant at 0 m\n  m _\n", 2, "one value per series")
    fails("eval instant at 0 m\n  m\n", 2, "one value per series")


def test_expect_string_in_double_quotes_or_backquotes():
    assert only('eval instant at 0 "a"\n  expect string "a\\tb"\n').expected_string == "a\tb"
    assert only('eval instant at 0 "a"\n  expect string `a\\tb`\n').expected_string == "a\\tb"
    assert only('eval instant at 0 ""\n  expect string ""\n').expected_string == ""
    assert only('eval instant at 0 " x "\n\texpect string " x "\n').expected_string == " x "


@pytest.mark.parametrize(
    "line",
    [
        "expect string",
        "expect string Foo",
        "expect string 'F'",
        'expect string "a"b"',
        "expect strings",
    ],
)
def test_bad_expect_string(line):
    fails(f'eval instant at 0 "Foo"\n  {line}\n', 2, "expect string")


def test_expect_range_vector_on_an_instant_query():
    ev = only(
        "eval instant at 1m m[1m]\n"
        "  expect range vector from 10s to 1m step 10s\n"
        '  m{a="1"} 2 _ 4\n'
        '  m{a="2"} 1+1x4\n'
    )
    assert ev.range_vector == RangeVector(start_ms=10_000, end_ms=60_000, step_ms=10_000)
    assert ev.at_ms == 60_000 and ev.expected == []
    first, second = ev.expected_range
    assert isinstance(first, ExpectedSeries)
    assert (first.timestamps_ms.tolist(), first.values.tolist()) == ([10_000, 30_000], [2, 4])
    assert second.timestamps_ms.tolist() == [10_000, 20_000, 30_000, 40_000, 50_000]
    assert second.line == 4


def test_the_range_vector_moves_the_evaluation_time_to_its_end():
    ev = only("eval instant at 5m m[1m]\n  expect range vector from 0 to 2m step 1m\n")
    assert ev.at_ms == 120_000 and ev.expected_range == []


def test_range_vector_errors():
    head = "eval instant at 1m m[1m]\n"
    fails(head + "  expect range vector 0 to 1m step 10s\n", 2, "invalid range vector")
    fails(head + "  expect range vector from 1m to 0 step 10s\n", 2, "before its start")
    fails(head + "  expect range vector from 0 to 20s step 10s\n  m 1 2 3 4\n", 3, "more than fit")
    fails(head + "  m 1 2\n  expect range vector from 0 to 1m step 10s\n", 2, "one value")


# --- expectations -------------------------------------------------------------------------


def test_expect_lines_set_the_flags_and_keep_every_line():
    ev = only(
        "eval instant at 0 sum(m)\n"
        "  expect warn msg: PromQL warning: mixed (1:5)\n"
        "  expect warn regex: PromQL warning: .* \\(1:[0-9]+\\)\n"
        "  expect no_info\n"
        "  expect ordered\n"
        "  {} 1\n"
    )
    assert (ev.warn, ev.no_warn, ev.info, ev.no_info, ev.ordered, ev.fail) == (
        True,
        False,
        False,
        True,
        True,
        False,
    )
    assert ev.expectations == [
        Expectation(kind=ExpectKind.WARN, msg="PromQL warning: mixed (1:5)", line=2),
        Expectation(kind=ExpectKind.WARN, regex="PromQL warning: .* \\(1:[0-9]+\\)", line=3),
        Expectation(kind=ExpectKind.NO_INFO, line=4),
        Expectation(kind=ExpectKind.ORDERED, line=5),
    ]
    assert [e.value for e in ev.expected] == [1.0]


def test_expect_fail_forms():
    plain = only("eval instant at 0 x\nexpect fail\n")
    assert plain.fail and plain.expect_fail_msg is None and plain.expect_fail_regex is None
    msg = only('eval instant at 0 x\n  expect fail msg:  "vector cannot contain" \n')
    assert msg.expect_fail_msg == '"vector cannot contain"'  # the quotes are part of it
    rx = only("eval range from 0 to 1m step 1m x\n  expect fail regex: bad (a|b) .*\n")
    assert isinstance(rx, EvalRange)
    assert rx.fail and rx.expect_fail_regex == "bad (a|b) .*" and rx.expect_fail_msg is None
    assert only("eval instant at 0 x\n  expect fail msg:no space\n").expect_fail_msg == "no space"


def test_expectation_matching():
    exact = Expectation(kind=ExpectKind.WARN, msg="boom (1:1)", line=1)
    search = Expectation(kind=ExpectKind.INFO, regex="oo", line=1)
    anything = Expectation(kind=ExpectKind.FAIL, line=1)
    assert exact.matches("boom (1:1)") and not exact.matches("boom")
    assert search.matches("a boom") and not search.matches("bang")
    assert anything.matches("whatever")


def test_deprecated_eval_variants_are_the_same_expectations():
    fail = only("eval_fail instant at 0 x\n")
    assert fail.fail and fail.expectations == [Expectation(kind=ExpectKind.FAIL, line=1)]
    assert only("eval_warn instant at 0 x\n").warn
    assert only("eval_info range from 0 to 1m step 1m x\n").info
    ordered = only('eval_ordered instant at 0 sort(x)\n  x{a="2"} 1\n  x{a="1"} 2\n')
    assert ordered.ordered and [e.labels.get("a") for e in ordered.expected] == ["2", "1"]


def test_deprecated_expected_fail_lines_end_the_block():
    msg = only("eval_fail instant at 0 x\n  expected_fail_message  some error \n")
    assert (msg.expect_fail_msg, msg.expectations[0].line) == ("some error", 2)
    rx = only("eval_fail instant at 0 x\n  expected_fail_regexp some (error|fault)\n")
    assert rx.expect_fail_regex == "some (error|fault)" and rx.expect_fail_msg is None
    fails("eval_fail instant at 0 x\n  expected_fail_message e\n  {} 1\n", 3, "invalid command")
    # Only eval_fail knows them; elsewhere the line is a (bad) series.
    fails("eval instant at 0 x\n  expected_fail_message e\n", 2, "invalid series")


@pytest.mark.parametrize(
    ("lines", "line", "fragment"),
    [
        (["expect"], 2, "invalid expect statement"),
        (["expect oops"], 2, "invalid expect statement"),
        (["expect warn msg"], 2, "invalid expect statement"),
        (["expect warn msg:"], 2, "invalid expect statement"),
        (["expect warn text: x"], 2, "invalid expect statement"),
        (["expect fail regex: (unclosed"], 2, "invalid regex"),
        (["expect ordered msg: x"], 2, "takes no msg"),
        (["expect no_warn regex: x"], 2, "takes no regex"),
        (["expect warn", "expect no_warn"], 3, "warn and no_warn"),
        (["expect no_info", "expect info msg: x"], 3, "info and no_info"),
        (["expect fail", "expect fail msg: x"], 3, "only one expect fail"),
        (["expect 1"], 2, "invalid expect statement"),  # a metric called expect: expect{} 1
    ],
)
def test_bad_expect_lines(lines, line, fragment):
    fails("eval instant at 0 x\n" + "".join(f"  {x}\n" for x in lines), line, fragment)


def test_deprecated_and_new_forms_conflict_like_two_lines():
    fails("eval_warn instant at 0 x\n  expect no_warn\n", 2, "warn and no_warn")
    fails("eval_fail instant at 0 x\n  expect fail\n", 2, "only one expect fail")


def test_a_metric_named_expect_is_written_with_braces():
    assert only("eval instant at 0 expect\n  expect{} 1\n").expected[0].labels.metric_name == (
        "expect"
    )


# --- eval range ---------------------------------------------------------------------------


def test_range_eval_expands_expected_values_onto_the_steps():
    ev = only(
        "eval range from 1m to 5m step 1m rate(m[1m])\n"
        "  expect no_warn\n"
        '  {job="a"} 1+1x2 _ 9\n'
        '  {job="b"} _x2 stale\n'
        '  {job="c"}\n'
    )
    assert isinstance(ev, EvalRange)
    assert (ev.start_ms, ev.end_ms, ev.step_ms, ev.no_warn) == (60_000, 300_000, 60_000, True)
    a, b, c = ev.expected
    assert a.timestamps_ms.tolist() == [60_000, 120_000, 180_000, 300_000]
    assert a.values.tolist() == [1, 2, 3, 9]
    assert b.timestamps_ms.tolist() == [180_000] and bits(b.values[0]) == STALE_NAN_BITS
    assert c.values.size == 0 and (a.line, b.line, c.line) == (3, 4, 5)


def test_range_eval_with_a_zero_length_range():
    ev = only("eval range from 10m to 10m step 1m m\n  m 7\n")
    assert ev.expected[0].timestamps_ms.tolist() == [600_000]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("m 1 2 3 4 5 6", "more than fit"),
        ("expect ordered", "only allowed for instant queries"),
        ('expect string "a"', "only allowed for instant queries"),
        ("expect range vector from 0 to 1m step 1m", "only allowed for instant queries"),
        ("42", "only allowed for instant queries"),
    ],
)
def test_range_eval_errors(line, fragment):
    fails(f"eval range from 0 to 4m step 1m m\n  m 1\n  {line}\n", 3, fragment)


def test_the_parsed_script_in_order():
    script = """
load 5m
  http_requests_total{job="api"} 0+10x4

eval instant at 20m rate(http_requests_total[10m])
  expect no_warn
  {job="api"} 0.03333333333

clear

eval range from 0 to 10m step 5m vector(1)
  {} 1 1 1
"""
    kinds = [type(c).__name__ for c in parse_script(script)]
    assert kinds == ["Load", "EvalInstant", "Clear", "EvalRange"]
