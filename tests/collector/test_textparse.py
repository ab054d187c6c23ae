"""Golden and property tests for collector.textparse (Prometheus 0.0.4 and OpenMetrics 1.0)."""

from __future__ import annotations

import doctest
import io
import math
import pickle
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import textparse
from collector.textparse import (
    Exemplar,
    MetricFamily,
    MetricType,
    TextFormat,
    TextParseError,
    TextSample,
    parse,
)

OM = TextFormat.OPENMETRICS
PROM = TextFormat.PROMETHEUS


def parse_text(text: str, fmt: TextFormat = OM) -> list[TextSample | MetricFamily]:
    # newline="\n": only "\n" ends a line, as when the CLI reads a file.
    return list(parse(io.StringIO(text, newline="\n"), fmt))


def samples(text: str, fmt: TextFormat = OM) -> list[TextSample]:
    return [item for item in parse_text(text, fmt) if isinstance(item, TextSample)]


def one(line: str, fmt: TextFormat = OM) -> TextSample:
    text = line + "\n" + ("# EOF\n" if fmt is OM else "")
    (sample,) = samples(text, fmt)
    return sample


def error(text: str, fmt: TextFormat = OM) -> TextParseError:
    with pytest.raises(TextParseError) as info:
        parse_text(text, fmt)
    return info.value


# --- golden: good input ---------------------------------------------------------------------

SPEC_EXAMPLE = """\
# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
# HELP go_goroutines Number of goroutines that currently exist.
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
process_cpu_seconds_total 4.20072246e+06
# EOF
"""


def test_openmetrics_spec_example_golden() -> None:
    labels = (("path", "/api/v1"), ("method", "GET"))
    acme = "acme_http_router_request_seconds"
    assert parse_text(SPEC_EXAMPLE) == [
        MetricFamily(
            acme,
            MetricType.SUMMARY,
            "Latency though all of ACME's HTTP request router.",
            "seconds",
        ),
        TextSample(f"{acme}_sum", labels, 9036.32, None, 4),
        TextSample(f"{acme}_count", labels, 807283.0, None, 5),
        TextSample(f"{acme}_created", labels, 1605281325.0, None, 6),
        MetricFamily(
            "go_goroutines", MetricType.GAUGE, "Number of goroutines that currently exist."
        ),
        TextSample("go_goroutines", (), 69.0, None, 9),
        MetricFamily(
            "process_cpu_seconds",
            MetricType.COUNTER,
            "Total user and system CPU time spent in seconds.",
            "seconds",
        ),
        TextSample("process_cpu_seconds_total", (), 4.20072246e06, None, 13),
    ]


def test_prometheus_format_golden() -> None:
    text = """\
# A free comment, ignored.
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

  # TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
metric_without_timestamp_and_labels 12.47
"""
    assert parse_text(text, PROM) == [
        MetricFamily(
            "http_requests_total", MetricType.COUNTER, "The total number of HTTP requests."
        ),
        TextSample(
            "http_requests_total", (("method", "post"), ("code", "200")), 1027.0, 1395066363000, 4
        ),
        TextSample(
            "http_requests_total", (("method", "post"), ("code", "400")), 3.0, 1395066363000, 5
        ),
        MetricFamily("rpc_duration_seconds", MetricType.SUMMARY),
        TextSample("rpc_duration_seconds", (("quantile", "0.5"),), 4773.0, None, 8),
        TextSample("rpc_duration_seconds_sum", (), 1.7560473e07, None, 9),
        MetricFamily("metric_without_timestamp_and_labels", MetricType.UNKNOWN),
        TextSample("metric_without_timestamp_and_labels", (), 12.47, None, 10),
    ]


@pytest.mark.parametrize(
    ("written", "millis"),
    [
        ("1700000000.123", 1700000000123),
        ("1700000000", 1700000000000),
        ("1700000000.", 1700000000000),
        ("1700000000.1239", 1700000000123),  # sub-millisecond digits are cut, not rounded
        ("1.7e9", 1700000000000),
        ("0.001", 1),
        ("-1.5", -1500),
        # Prometheus computes int64(seconds * 1000): the float64 product truncated toward
        # zero, so some millisecond values written in seconds land one below. Same here.
        ("2157914498.351", 2157914498350),
        ("1.005", 1004),
    ],
)
def test_openmetrics_timestamps_are_seconds(written: str, millis: int) -> None:
    assert one(f"foo 1 {written}").timestamp_ms == millis


@pytest.mark.parametrize("written", ["1700000000123", "-5", "0"])
def test_prometheus_timestamps_are_integer_milliseconds(written: str) -> None:
    assert one(f"foo 1 {written}", PROM).timestamp_ms == int(written)


@pytest.mark.parametrize("fmt", [OM, PROM])
def test_label_value_escapes(fmt: TextFormat) -> None:
    sample = one(r'a{x="q\"b\\c\nd",y="\a"} 1', fmt)
    assert sample.labels == (("x", 'q"b\\c\nd'), ("y", "\\a"))  # unknown escapes kept


def test_help_escapes_differ_between_formats() -> None:
    written = r"# HELP foo a\"b\\c\nd"
    (om_family, *_) = parse_text(written + "\n# EOF\n")
    (prom_family,) = parse_text(written + "\n", PROM)
    assert om_family == MetricFamily("foo", MetricType.UNKNOWN, 'a"b\\c\nd')
    assert prom_family == MetricFamily("foo", MetricType.UNKNOWN, 'a\\"b\\c\nd')


def test_exemplars() -> None:
    text = """\
# TYPE foo histogram
foo_bucket{le="0.1"} 8 # {} 0.054
foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
foo_bucket{le="10"} 17 1520879607.789 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
foo_bucket{le="+Inf"} 17
# TYPE bar counter
bar_total 3 # {trace_id="x\\"y"} 1 1700000000.123
# EOF
"""
    got = [s.exemplar for s in samples(text)]
    assert got == [
        Exemplar((), 0.054, None),
        Exemplar((("trace_id", "KOO5S4vxi0o"),), 0.67, None),
        Exemplar((("trace_id", "oHg5SJYRHA0"),), 9.8, 1520879607789),
        None,
        Exemplar((("trace_id", 'x"y'),), 1.0, 1700000000123),
    ]
    assert samples(text)[2].timestamp_ms == 1520879607789


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("NaN", math.nan),
        ("nan", math.nan),
        ("+Inf", math.inf),
        ("-Inf", -math.inf),
        ("inf", math.inf),
        ("Infinity", math.inf),
        ("-infinity", -math.inf),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        (".5", 0.5),
        ("5.", 5.0),
        ("+1", 1.0),
        ("0012", 12.0),
        ("-0.0", -0.0),
        ("4.20072246e+06", 4200722.46),
    ],
)
@pytest.mark.parametrize("fmt", [OM, PROM])
def test_values_in_every_go_form(written: str, value: float, fmt: TextFormat) -> None:
    got = one(f"foo {written}", fmt).value
    assert repr(got) == repr(value)


def test_labels_keep_written_order_without_name() -> None:
    assert one('up{zone="b",job="api",instance="x:1"} 1').labels == (
        ("zone", "b"),
        ("job", "api"),
        ("instance", "x:1"),
    )


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (OM, '# TYPE "my.metric" gauge\n{"my.metric","my.label"="v"} 1\n# EOF\n'),
        (PROM, '# TYPE "my.metric" gauge\n{ "my.metric" , "my.label" = "v" } 1\n'),
        (PROM, '# TYPE "my.metric" gauge\n{"my.label"="v", "my.metric"} 1\n'),
    ],
)
def test_quoted_utf8_names(fmt: TextFormat, text: str) -> None:
    assert parse_text(text, fmt) == [
        MetricFamily("my.metric", MetricType.GAUGE),
        TextSample("my.metric", (("my.label", "v"),), 1.0, None, 2),
    ]


def test_families_are_yielded_when_complete() -> None:
    text = """\
# TYPE empty gauge
# HELP empty Never sampled.
# TYPE c counter
# HELP c Counts.
c_total 1
c_created 1700000000
no_metadata 2
# TYPE last gauge
# EOF
"""
    assert [type(i).__name__ + ":" + i.name for i in parse_text(text)] == [
        "MetricFamily:empty",
        "MetricFamily:c",
        "TextSample:c_total",
        "TextSample:c_created",
        "MetricFamily:no_metadata",
        "TextSample:no_metadata",
        "MetricFamily:last",
    ]


def test_empty_help_and_unit_count_as_absent() -> None:
    (family,) = parse_text("# HELP foo \n# UNIT foo \n# EOF\n")
    assert family == MetricFamily("foo", MetricType.UNKNOWN, None, None)


def test_all_openmetrics_types() -> None:
    text = """\
# TYPE a gaugehistogram
a_bucket{le="1"} 1
a_bucket{le="+Inf"} 2
a_gcount 2
a_gsum 3
# TYPE b info
b_info{version="1.2"} 1
# TYPE c stateset
c{c="on"} 1
# TYPE d summary
d{quantile="0.99"} 3
d_sum 1
d_count 1
d_created 1
# TYPE e unknown
e 1
# EOF
"""
    got = parse_text(text)
    assert [(i.name, i.type) for i in got if isinstance(i, MetricFamily)] == [
        ("a", MetricType.GAUGEHISTOGRAM),
        ("b", MetricType.INFO),
        ("c", MetricType.STATESET),
        ("d", MetricType.SUMMARY),
        ("e", MetricType.UNKNOWN),
    ]
    assert len(got) == 5 + 11


def test_eof_variants() -> None:
    assert samples("a 1\n# EOF") == [TextSample("a", (), 1.0, None, 1)]
    # str.split("\n") leaves one empty item after the final newline: that is not a line.
    assert len(list(parse("a 1\n# EOF\n".split("\n"), OM))) == 2
    assert len(list(parse(["a 1", "# EOF"], OM))) == 2


def test_prometheus_format_is_lenient_where_prometheus_is() -> None:
    text = 'a{x="1",} 1\n\n   \n# EOF is a comment here\na 2\nb 1\na 3\n'
    assert [s.value for s in samples(text, PROM)] == [1.0, 2.0, 1.0, 3.0]
    (family, _) = parse_text("# TYPE a untyped\na 1\n", PROM)
    assert family.type is MetricType.UNKNOWN
    assert one("\ta \t2\t 5 ", PROM) == TextSample("a", (), 2.0, 5, 1)


def test_equal_timestamps_and_independent_series() -> None:
    text = 'a{x="1"} 1 10\na{x="1"} 2 10\na{x="2"} 3 5\na 4 1\na{x="1"} 5 11\n# EOF\n'
    assert [s.timestamp_ms for s in samples(text)] == [10000, 10000, 5000, 1000, 11000]


def test_fast_and_slow_paths_share_series_keys() -> None:
    # Line 2 takes the regex fast path; line 3 (exemplar, other label order) the slow one.
    text = '# TYPE c counter\nc_total{y="2",x="1"} 1 10\nc_total{x="1",y="2"} 2 5 # {} 1\n# EOF\n'
    err = error(text)
    assert err.line == 3
    assert "goes backwards (5000 ms after 10000 ms)" in err.message


def test_fast_and_slow_paths_agree() -> None:
    fast = one('a{x="1",y="two"} 1.5 17', PROM)
    assert one('a{x="1",y="two"}  1.5\t17 ', PROM) == fast  # extra blanks: slow path
    (om_fast, om_slow) = samples(
        '# TYPE c counter\nc_total{x="1"} 1.5 17.25\nc_total{x="1"} 1.5 17.25 # {} 1\n# EOF\n'
    )  # the exemplar sends the second line down the slow path
    assert replace(om_slow, exemplar=None, line=2) == om_fast


def test_parse_is_lazy_and_stops_at_the_first_error() -> None:
    items = parse(iter(["a 1\n", "b x\n", "c 1\n"]), OM)
    assert next(items) == MetricFamily("a", MetricType.UNKNOWN)
    assert next(items) == TextSample("a", (), 1.0, None, 1)
    with pytest.raises(TextParseError, match="line 2: invalid value 'x'"):
        next(items)


def test_module_example_runs() -> None:
    assert doctest.testmod(textparse).failed == 0


def test_format_must_be_a_text_format() -> None:
    with pytest.raises(TypeError, match="TextFormat"):
        parse([], "openmetrics")  # type: ignore[arg-type]


def test_error_shape() -> None:
    err = error('a{x="1",x="2"} 1\n# EOF\n')
    assert (err.line, err.column, err.message) == (1, 9, "duplicate label name 'x'")
    assert str(err) == "line 1: duplicate label name 'x'"
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.line, again.column, str(again)) == (1, 9, str(err))


# --- golden: bad input (line number and message fragment) ------------------------------------

BAD_OPENMETRICS = [
    ("a 1\n", 1, "missing '# EOF' at end of input"),
    ("", 1, "missing '# EOF'"),
    ("# EOF\na 1\n", 2, "unexpected data after '# EOF'"),
    ("# EOF\n\n", 2, "unexpected data after '# EOF'"),
    ("# EOF \n", 1, "unexpected text after '# EOF'"),
    ("a 1\n\n# EOF\n", 2, "empty line"),
    ("# hello\n# EOF\n", 1, "only # HELP, # TYPE, # UNIT and # EOF may start with '#'"),
    ("a 1\r\n# EOF\n", 1, "carriage return"),
    ("\ufeffa 1\n# EOF\n", 1, "byte order mark"),
    # metric families
    ("# TYPE foo counter\nfoo 1\n# EOF\n", 2, "samples must be named 'foo_total' or 'foo_created'"),
    ("# TYPE h histogram\nh 1\n# EOF\n", 2, "samples must be named 'h_bucket' or"),
    ("# TYPE i info\ni 1\n# EOF\n", 2, "samples must be named 'i_info'"),
    ("# TYPE h histogram\nh_bucket 1\n# EOF\n", 2, "'h_bucket' needs a numeric 'le' label"),
    ('# TYPE h histogram\nh_bucket{le="x"} 1\n# EOF\n', 2, "needs a numeric 'le' label"),
    ("# TYPE s summary\ns 1\n# EOF\n", 2, "'s' needs a numeric 'quantile' label"),
    ("a 1\nb 1\na 2\n# EOF\n", 3, "family 'a' (started at line 1) after another family"),
    ("# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n# EOF\n", 3, "# HELP of metric family 'a'"),
    ("# TYPE c counter\nc_total 1\nb 1\nc_created 1\n# EOF\n", 4, "metric family 'c'"),
    ("a 1\n# TYPE a gauge\n# EOF\n", 2, "# TYPE for 'a' comes after its samples"),
    ("# TYPE a gauge\n# TYPE a gauge\n# EOF\n", 2, "duplicate # TYPE for 'a'"),
    ("# HELP a x\n# HELP a y\n# EOF\n", 2, "duplicate # HELP for 'a'"),
    ("# UNIT a_s s\n# UNIT a_s s\n# EOF\n", 2, "duplicate # UNIT for 'a_s'"),
    ("# TYPE foo gauge\n# UNIT foo seconds\n# EOF\n", 2, "unit 'seconds' is not a suffix"),
    ("# UNIT foo_s s.x\n# EOF\n", 1, "invalid unit 's.x'"),
    ("# TYPE foo untyped\n# EOF\n", 1, "invalid metric type 'untyped'"),
    ("# TYPE foo Counter\n# EOF\n", 1, "invalid metric type 'Counter'"),
    ("# TYPE 0foo gauge\n# EOF\n", 1, "invalid metric name '0foo' after # TYPE"),
    ("# HELP foo\n# EOF\n", 1, "expected a space and the HELP text"),
    # names and labels
    ("0a 1\n# EOF\n", 1, "invalid metric name '0a'"),
    ("a.b 1\n# EOF\n", 1, "invalid metric name 'a.b'"),
    ('a{0x="1"} 1\n# EOF\n', 1, "invalid label name '0x'"),
    ('a{x.y="1"} 1\n# EOF\n', 1, "invalid label name 'x.y'"),
    ('a{x="1",x="2"} 1\n# EOF\n', 1, "duplicate label name 'x'"),
    ('a{x="1",x="2\\n"} 1\n# EOF\n', 1, "duplicate label name 'x'"),
    ('a{__name__="b"} 1\n# EOF\n', 1, "reserved label name '__name__'"),
    ('a{x="1",} 1\n# EOF\n', 1, "trailing comma in label set"),
    ('a{x="1", y="2"} 1\n# EOF\n', 1, "expected a label name"),
    ('a{x="1"y="2"} 1\n# EOF\n', 1, "expected ',' or '}' in label set"),
    ('a{x="1} 1\n# EOF\n', 1, "unterminated quoted string"),
    ("a{x=1} 1\n# EOF\n", 1, "expected a quoted value for label 'x'"),
    ('a{"b.c"} 1\n# EOF\n', 1, "metric name given both before and inside the braces"),
    ('{x="1"} 1\n# EOF\n', 1, "expected a metric name"),
    ('{""} 1\n# EOF\n', 1, "empty quoted name"),
    # values and timestamps
    ("a\n# EOF\n", 1, "expected a space and a value"),
    ("a  1\n# EOF\n", 1, "expected a value"),
    ("a abc\n# EOF\n", 1, "invalid value 'abc'"),
    ("a 0x1p3\n# EOF\n", 1, "invalid value '0x1p3'"),
    ("a 1_000\n# EOF\n", 1, "invalid value '1_000'"),
    ("a +nan\n# EOF\n", 1, "invalid value '+nan'"),
    ("a \u0661\n# EOF\n", 1, "invalid value"),  # Arabic-Indic digit: float() takes it, Go not
    ("a 1e999\n# EOF\n", 1, "value '1e999' is out of range"),
    ("a 1 NaN\n# EOF\n", 1, "invalid timestamp 'NaN'"),
    ("a 1 +Inf\n# EOF\n", 1, "invalid timestamp '+Inf'"),
    ("a 1 abc\n# EOF\n", 1, "invalid timestamp 'abc'"),
    ("a 1 1e300\n# EOF\n", 1, "invalid timestamp '1e300'"),
    ("a 1 \n# EOF\n", 1, "expected a timestamp"),
    ("a 1 2 3\n# EOF\n", 1, "unexpected text at end of line"),
    ('a{x="1"} 1 10\na{x="1"} 1 9.999\n# EOF\n', 2, "goes backwards (9999 ms after 10000 ms)"),
    # exemplars
    ('# TYPE g gauge\ng 1 # {a="b"} 1\n# EOF\n', 2, "'g' cannot have an exemplar"),
    ("# TYPE c counter\nc_created 1 # {} 1\n# EOF\n", 2, "'c_created' cannot have an exemplar"),
    ("c_total 1 # {}\n# EOF\n", 1, "expected a space and the exemplar value"),
    ("c_total 1 # {} 1 NaN\n# EOF\n", 1, "invalid timestamp 'NaN'"),
    ('c_total 1 # {"m"} 1\n# EOF\n', 1, "unexpected metric name in label set"),
    ("c_total 1 # 1\n# EOF\n", 1, "expected '{' to start the exemplar's labels"),
    (f'c_total 1 # {{a="{"x" * 128}"}} 1\n# EOF\n', 1, "exemplar labels exceed 128 characters"),
]

BAD_PROMETHEUS = [
    ("foo 1.5 1.5\n", 1, "invalid timestamp '1.5' (integer milliseconds expected)"),
    ("foo 1 99999999999999999999\n", 1, "invalid timestamp '99999999999999999999'"),
    ('foo 1 # {a="b"} 1\n', 1, "exemplars are only allowed in OpenMetrics"),
    ("foo 1 2 3\n", 1, "unexpected text after the timestamp"),
    ("foo\n", 1, "expected whitespace and a value"),
    ("foo 1\r\n", 1, "carriage return"),
    ("ok 1\nfoo{1}\n", 2, "invalid label name '1'"),
    ('foo{a="1" b="2"} 1\n', 1, "expected ',' or '}' in label set"),
    ('foo{a="1",a="2"} 1\n', 1, "duplicate label name 'a'"),
    ('{a="1"} 1\n', 1, "expected a metric name"),
    ("# TYPE foo gaugehistogram\n", 1, "invalid metric type 'gaugehistogram'"),
    ("# TYPE foo unknown\n", 1, "invalid metric type 'unknown'"),
    ("# TYPE foo\n", 1, "invalid metric type ''"),
    ("# HELP 0foo x\n", 1, "invalid metric name '0foo' after # HELP"),
    ("# TYPE foo counter\n# TYPE foo counter\n", 2, "duplicate # TYPE for 'foo'"),
    ("foo 1\n# TYPE foo counter\n", 2, "# TYPE for 'foo' comes after its samples"),
    ("# TYPE h histogram\nh_bucket 1\n", 2, "'h_bucket' needs a numeric 'le' label"),
    ("# TYPE h histogram\nh 1\n", 2, "samples must be named 'h_bucket' or 'h_count' or 'h_sum'"),
    ("a 1e999\n", 1, "out of range"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_OPENMETRICS)
def test_openmetrics_errors(text: str, line: int, fragment: str) -> None:
    err = error(text, OM)
    assert err.line == line, str(err)
    assert fragment in err.message, str(err)


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_PROMETHEUS)
def test_prometheus_errors(text: str, line: int, fragment: str) -> None:
    err = error(text, PROM)
    assert err.line == line, str(err)
    assert fragment in err.message, str(err)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('a{x="1",x="2"} 1\n# EOF\n', 9),  # the second 'x'
        ("a 1 abc\n# EOF\n", 5),
        ('a{x="1",} 1\n# EOF\n', 8),
        ("a 1\r\n# EOF\n", 4),
    ],
)
def test_error_columns(text: str, column: int) -> None:
    assert error(text).column == column


# --- property: format random samples, parse them back ----------------------------------------

NAMES = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)
LABEL_NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n != "__name__"
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
LABEL_SETS = st.dictionaries(LABEL_NAMES, TEXT, max_size=4)
VALUES = st.floats(allow_nan=True, allow_infinity=True)


@dataclass
class Series:
    labels: dict[str, str]
    value: float
    ts_ms: int | None


@dataclass
class Family:
    name: str
    counter: bool
    help: str
    series: list[Series]


def families(ts: st.SearchStrategy[int]) -> st.SearchStrategy[list[Family]]:
    series = st.builds(Series, LABEL_SETS, VALUES, st.none() | ts)
    family = st.builds(
        Family,
        NAMES,
        st.booleans(),
        TEXT,
        st.lists(series, max_size=4, unique_by=lambda s: tuple(sorted(s.labels.items()))),
    )
    return st.lists(family, max_size=5, unique_by=lambda f: f.name)


def _escape(text: str, quote: bool = True) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if quote else text


def _format(fams: list[Family], fmt: TextFormat) -> str:
    out = []
    for fam in fams:
        out.append(f"# TYPE {fam.name} {'counter' if fam.counter else 'gauge'}\n")
        out.append(f"# HELP {fam.name} {_escape(fam.help, quote=fmt is OM)}\n")
        name = fam.name + ("_total" if fam.counter and fmt is OM else "")
        for s in fam.series:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels.items())
            line = f"{name}{{{labels}}} {s.value!r}"
            if s.ts_ms is not None:
                line += f" {s.ts_ms // 1000}.{s.ts_ms % 1000:03d}" if fmt is OM else f" {s.ts_ms}"
            out.append(line + "\n")
    return "".join(out) + ("# EOF\n" if fmt is OM else "")


def _check_round_trip(fams: list[Family], fmt: TextFormat) -> None:
    items = iter(parse_text(_format(fams, fmt), fmt))
    for fam in fams:
        family = next(items)
        assert isinstance(family, MetricFamily)
        assert family.name == fam.name
        assert family.type is (MetricType.COUNTER if fam.counter else MetricType.GAUGE)
        assert family.help == ((fam.help if fmt is OM else fam.help.lstrip(" \t")) or None)
        for s in fam.series:
            got = next(items)
            assert isinstance(got, TextSample)
            assert got.labels == tuple(s.labels.items())
            assert repr(got.value) == repr(s.value)
            if s.ts_ms is None or fmt is PROM:
                assert got.timestamp_ms == s.ts_ms
            else:  # seconds -> int64(s * 1000), as Prometheus: exact or one below
                assert got.timestamp_ms in (s.ts_ms, s.ts_ms - 1)
    assert next(items, None) is None


@settings(max_examples=200, deadline=None)
@given(families(st.integers(0, 4 * 10**12)))
def test_openmetrics_round_trip(fams: list[Family]) -> None:
    _check_round_trip(fams, OM)


@settings(max_examples=200, deadline=None)
@given(families(st.integers(-(2**63), 2**63 - 1)))
def test_prometheus_round_trip(fams: list[Family]) -> None:
    _check_round_trip(fams, PROM)


@settings(max_examples=200, deadline=None)
@given(LABEL_SETS)
def test_series_key_ignores_label_order_and_parse_path(labels: dict[str, str]) -> None:
    # Line 2 may take the fast path; line 3 always takes the slow one (it has an exemplar).
    written = [f'{k}="{_escape(v)}"' for k, v in labels.items()]
    text = (
        "# TYPE c counter\n"
        f"c_total{{{','.join(written)}}} 1 10\n"
        f"c_total{{{','.join(reversed(written))}}} 1 5 # {{}} 1\n"
        "# EOF\n"
    )
    err = error(text)
    assert (err.line, "goes backwards" in err.message) == (3, True)
