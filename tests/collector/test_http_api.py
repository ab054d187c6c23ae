"""The Prometheus HTTP API: golden JSON per endpoint, every error path, number formatting.

Expected texts were checked against Debian's Prometheus 2.42 where it agrees with Prometheus 3
(error texts follow 3.x: lowercase "invalid time value", UTF-8 label names, ``limit``).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import math
import platform
from types import SimpleNamespace

import numpy as np
import pytest
from flask import Flask

from collector.http_api import create_api_blueprint
from collector.http_api.encode import (
    encode_query_data,
    format_float,
    format_timestamp,
    format_value,
    json_string,
)
from collector.http_api.params import parse_duration_ns, parse_time
from collector.model import STALE_NAN, Labels
from collector.promql.errors import (
    ExecutionError,
    PromQLParseError,
    QueryCanceledError,
    QueryTimeoutError,
    TooManySamplesError,
)
from collector.promql.result import Matrix, QueryResult, Sample, Scalar, Series, String, Vector
from collector.store.sql import SqlStore

NOW = 1_700_000_000.5  # the injected clock
T0 = 1_700_000_000_000
UP_API = Labels.of({"__name__": "up", "job": "api", "instance": "a:1"})
UP_WEB = Labels.of({"__name__": "up", "job": "web", "instance": "b:1"})
REQS = Labels.of({"__name__": "http_requests_total", "job": "api", "code": "200"})
OLD = Labels.of({"__name__": "old_metric", "job": "batch"})


class FakeEngine:
    """Returns ``result`` (or raises ``error``) and records each call."""

    def __init__(self) -> None:
        self.options = SimpleNamespace(lookback_ms=300_000)
        self.result = QueryResult(Vector())
        self.error: Exception | None = None
        self.calls: list[tuple] = []

    def _answer(self, call: tuple) -> QueryResult:
        self.calls.append(call)
        if self.error is not None:
            raise self.error
        return self.result

    def instant_query(self, expr: str, time_ms: int) -> QueryResult:
        return self._answer(("instant", expr, time_ms))

    def range_query(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        return self._answer(("range", expr, start_ms, end_ms, step_ms))


@pytest.fixture
def store(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as opened:
        opened.append([(UP_API, T0, 1.0), (UP_WEB, T0, 0.0), (REQS, T0 + 15_000, 7.0)])
        opened.append([(OLD, T0 - 86_400_000, 1.0)])
        yield opened


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(engine, store):
    app = Flask("test")
    info = {"revision": "abc123"}
    blueprint = create_api_blueprint(engine, store, info, clock=lambda: NOW)
    app.register_blueprint(blueprint, url_prefix="/api/v1")
    return app.test_client()


def body(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_data(as_text=True)


def bad_time(name: str, text: str) -> str:
    """Prometheus' message for an unparsable optional time parameter."""
    reason = f'cannot parse "{text}" to a valid timestamp'
    return f"invalid parameter \"{name}\": invalid time value for '{name}': {reason}"


def error(error_type: str, message: str) -> str:
    return f'{{"status":"error","errorType":"{error_type}","error":{json_string(message)}}}'


# -- numbers, strings, times --------------------------------------------------------------

TINY = "0." + "0" * 323 + "5"
HUGE = "17976931348623157" + "0" * 292


@pytest.mark.parametrize(
    "value, go_f, prometheus",
    [  # go_f: strconv.FormatFloat(v, 'f', -1, 64); prometheus: sample values in JSON
        (0.1, "0.1", "0.1"),
        (1e-7, "0.0000001", "1e-07"),
        (1e-10, "0.0000000001", "1e-10"),
        (1e-6, "0.000001", "0.000001"),
        (2.5e-5, "0.000025", "0.000025"),
        (123456789012345680000.0, "123456789012345680000", "123456789012345680000"),
        (1e21, "1000000000000000000000", "1e+21"),
        (1e16, "10000000000000000", "10000000000000000"),
        (-0.0, "-0", "-0"),
        (0.0, "0", "0"),
        (100.0, "100", "100"),
        (-1.5, "-1.5", "-1.5"),
        (5e-324, TINY, "5e-324"),
        (1.7976931348623157e308, HUGE, "1.7976931348623157e+308"),
        (math.nan, "NaN", "NaN"),
        (STALE_NAN, "NaN", "NaN"),
        (math.inf, "+Inf", "+Inf"),
        (-math.inf, "-Inf", "-Inf"),
    ],
)
def test_go_float_formatting(value, go_f, prometheus):
    assert format_float(value) == go_f
    assert format_value(value) == prometheus


def test_formatted_floats_read_back_exactly():
    rng = np.random.default_rng(7)
    values = rng.standard_normal(5000) * 10.0 ** rng.integers(-330, 308, 5000)
    for v in values.tolist():
        assert float(format_float(v)) == v and float(format_value(v)) == v


@pytest.mark.parametrize(
    "ms, text",
    [
        (T0 + 123, "1700000000.123"),
        (T0 + 100, "1700000000.100"),
        (T0, "1700000000"),
        (-1500, "-1.500"),
        (-1, "-0.001"),
        (5, "0.005"),
        (0, "0"),
    ],
)
def test_sample_timestamps_have_three_decimals_or_none(ms, text):
    assert format_timestamp(ms) == text


def test_strings_are_escaped_as_go_does():
    assert json_string('<a&b>\t\x01é\u2028"\\') == (
        '"\\u003ca\\u0026b\\u003e\\t\\u0001é\\u2028\\"\\\\"'
    )
    assert json_string("plain") == '"plain"'


@pytest.mark.parametrize(
    "text, ms",
    [
        ("1700000000", T0),
        ("1700000000.123", T0 + 123),
        ("1700000000.0015", T0 + 1),  # rounded to the millisecond
        ("1.7e9", T0),
        ("-1.5", -1500),
        ("1_000", 1_000_000),
        ("2023-11-14T22:13:20Z", T0),
        ("2023-11-14T22:13:20.123456789Z", T0 + 123),  # cut, not rounded
        ("2023-11-14T23:13:20.5+01:00", T0 + 500),
        ("2023-11-14T21:13:20-01:00", T0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("-292273086-05-16T16:47:06Z", -9_223_309_901_257_974_000),  # Prometheus' MinTime
    ],
)
def test_parse_time(text, ms):
    assert parse_time(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        " 1",
        "0x10",
        "Inf",
        "NaN",
        "2023-11-14",
        "2023-11-14 22:13:20Z",
        "2023-02-29T00:00:00Z",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20",
        "1e400",
    ],
)
def test_parse_time_rejects(text):
    with pytest.raises(ValueError, match="to a valid timestamp"):
        parse_time(text)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("15", 15),
        ("1.5e1", 15),
        ("0.5", 0.5),
        ("5m", 300),
        ("1h30m", 5400),
        ("1d", 86400),
        ("2w", 1_209_600),
        ("1y", 31_536_000),
        ("100ms", 0.1),
        ("0", 0),
        ("-1", -1),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration_ns(text) == round(seconds * 1e9)


@pytest.mark.parametrize("text", ["", "abc", "1h30", "30s1m", "-1s", "1.5h", "NaN", "5M"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match=r"to a valid duration$"):
        parse_duration_ns(text)


def test_parse_duration_overflow():
    with pytest.raises(ValueError, match="It overflows int64"):
        parse_duration_ns("1e30")


# -- /query and /query_range --------------------------------------------------------------

VECTOR = Vector([Sample(UP_API, T0 + 123, 1.0), Sample(UP_WEB, T0 + 123, 1e-7)])
VECTOR_JSON = (
    '{"resultType":"vector","result":['
    '{"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1700000000.123,"1"]},'
    '{"metric":{"__name__":"up","instance":"b:1","job":"web"},"value":[1700000000.123,"1e-07"]}]}'
)


def ok(data: str, extra: str = "") -> str:
    return f'{{"status":"success","data":{data}{extra}}}'


@pytest.mark.parametrize(
    "value, data",
    [
        (VECTOR, VECTOR_JSON),
        (Vector(), '{"resultType":"vector","result":[]}'),
        (Scalar(T0 + 100, 1e-10), '{"resultType":"scalar","result":[1700000000.1,"0.0000000001"]}'),
        (
            String(T0, 'a<b>"'),
            '{"resultType":"string","result":[1700000000,"a\\u003cb\\u003e\\""]}',
        ),
        (
            Matrix([Series(UP_API, np.array([T0, T0 + 100]), np.array([2.0, math.inf]))]),
            '{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"a:1",'
            '"job":"api"},"values":[[1700000000,"2"],[1700000000.100,"+Inf"]]}]}',
        ),
        (
            Matrix([Series(Labels(), np.array([], np.int64), np.array([]))]),
            '{"resultType":"matrix","result":[{"metric":{}}]}',
        ),
    ],
)
def test_query_golden(client, engine, value, data):
    engine.result = QueryResult(value)
    assert body(client.get("/api/v1/query?query=up&time=1700000000.123")) == ok(data)
    assert engine.calls == [("instant", "up", T0 + 123)]


def test_query_time_defaults_to_the_clock_and_accepts_rfc3339(client, engine):
    body(client.get("/api/v1/query?query=up"))
    body(client.get("/api/v1/query?query=up&time=2023-11-14T22:13:20.123Z"))
    assert [c[2] for c in engine.calls] == [T0 + 500, T0 + 123]


def test_query_post_form_wins_over_the_url(client, engine):
    body(client.post("/api/v1/query?query=url&time=5", data={"query": "form", "time": "7"}))
    assert engine.calls == [("instant", "form", 7000)]


def test_warnings_and_infos_only_when_present_deduplicated_and_capped(client, engine):
    warnings = [f"w{i}" for i in range(12)] + ["w0"]
    engine.result = QueryResult(Vector(), warnings=warnings, infos=["i"])
    notes = ',"warnings":[' + ",".join(f'"w{i}"' for i in range(10))
    notes += ',"2 more warning annotations omitted"],"infos":["i"]'
    assert body(client.get("/api/v1/query?query=up")) == ok(
        '{"resultType":"vector","result":[]}', notes
    )


def test_query_limit_truncates_with_a_warning(client, engine):
    engine.result = QueryResult(VECTOR)
    text = body(client.get("/api/v1/query?query=up&limit=1"))
    assert text.endswith(
        '"value":[1700000000.123,"1"]}]},"warnings":["results truncated due to limit"]}'
    )


def test_query_range_golden(client, engine):
    series = Series(
        UP_API, np.array([T0, T0 + 15_000, T0 + 30_000]), np.array([1.0, math.nan, 0.25])
    )
    engine.result = QueryResult(Matrix([series]))
    url = "/api/v1/query_range?query=up&start=1700000000&end=1700000030&step=15s"
    assert body(client.get(url)) == ok(
        '{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"a:1","job":"api"},'
        '"values":[[1700000000,"1"],[1700000015,"NaN"],[1700000030,"0.25"]]}]}'
    )
    body(
        client.post(
            "/api/v1/query_range", data={"query": "up", "start": "0", "end": "60", "step": "1.5e1"}
        )
    )
    body(client.get("/api/v1/query_range?query=up&start=0&end=1&step=0.0015"))
    assert engine.calls == [
        ("range", "up", T0, T0 + 30_000, 15_000),
        ("range", "up", 0, 60_000, 15_000),
        ("range", "up", 0, 1000, 1),
    ]


def test_lookback_delta_other_than_the_engines_warns(client, engine):
    assert "warnings" not in body(client.get("/api/v1/query?query=up&lookback_delta=5m"))
    text = body(client.get("/api/v1/query?query=up&lookback_delta=1m"))
    assert text.endswith(
        """"warnings":["lookback_delta is not supported; the engine's 300s was used"]}"""
    )


STEP_ERROR = (
    "zero or negative query resolution step widths are not accepted. Try a positive integer"
)


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=0&end=1", 'invalid parameter "step": cannot parse "" to a valid duration'),
        ("end=1&step=1", 'invalid parameter "start": cannot parse "" to a valid timestamp'),
        ("start=0&step=1", 'invalid parameter "end": cannot parse "" to a valid timestamp'),
        (
            "start=x&end=1&step=1",
            'invalid parameter "start": cannot parse "x" to a valid timestamp',
        ),
        (
            "start=10&end=1&step=1",
            'invalid parameter "end": end timestamp must not be before start time',
        ),
        (
            "start=0&end=1&step=abc",
            'invalid parameter "step": cannot parse "abc" to a valid duration',
        ),
        (
            "start=0&end=1&step=1e30",
            'invalid parameter "step": cannot parse "1e30" to a valid duration. It overflows int64',
        ),
        ("start=0&end=1&step=0", f'invalid parameter "step": {STEP_ERROR}'),
        ("start=0&end=1&step=-1", f'invalid parameter "step": {STEP_ERROR}'),
        ("start=0&end=1&step=0s", f'invalid parameter "step": {STEP_ERROR}'),
        (
            "start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        ),
        (
            "start=0&end=1&step=1&timeout=abc",
            'invalid parameter "timeout": cannot parse "abc" to a valid duration',
        ),
        (
            "start=0&end=1&step=1&limit=x",
            'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax',
        ),
        ("start=0&end=1&step=1&limit=-1", 'invalid parameter "limit": limit must be non-negative'),
        (
            "start=0&end=1&step=1&lookback_delta=x",
            'error parsing lookback delta duration: cannot parse "x" to a valid duration',
        ),
        (
            "start=0&end=1&step=1&query=",
            'invalid parameter "query": parse error: no expression found in input',
        ),
    ],
)
def test_query_range_bad_parameters(client, engine, query, message):
    url = "/api/v1/query_range?" + ("" if "query=" in query else "query=up&") + query
    assert body(client.get(url), 400) == error("bad_data", message)
    assert engine.calls == []


def test_query_range_accepts_exactly_11000_steps(client, engine):
    body(client.get("/api/v1/query_range?query=up&start=0&end=11000&step=1"))


@pytest.mark.parametrize(
    "query, message",
    [
        ("time=abc", bad_time("time", "abc")),
        ("timeout=-1s", 'invalid parameter "timeout": cannot parse "-1s" to a valid duration'),
        ("limit=1.5", 'invalid parameter "limit": strconv.Atoi: parsing "1.5": invalid syntax'),
    ],
)
def test_query_bad_parameters(client, engine, query, message):
    assert body(client.get(f"/api/v1/query?query=up&{query}"), 400) == error("bad_data", message)
    assert engine.calls == []


@pytest.mark.parametrize(
    "exc, status, error_type, message",
    [
        (
            PromQLParseError("1:3: parse error: unexpected end of input"),
            400,
            "bad_data",
            'invalid parameter "query": 1:3: parse error: unexpected end of input',
        ),
        (
            ExecutionError("found duplicate series for the match group"),
            422,
            "execution",
            "found duplicate series for the match group",
        ),
        (
            TooManySamplesError(100),
            422,
            "execution",
            "query processing would load too many samples into memory in query execution",
        ),
        (QueryTimeoutError(), 503, "timeout", "query timed out in query execution"),
        (
            QueryCanceledError("query was canceled in query execution"),
            503,
            "canceled",
            "query was canceled in query execution",
        ),
        (RuntimeError("boom"), 500, "internal", "unexpected error: boom"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/query?query=up", "/api/v1/query_range?query=up&start=0&end=1&step=1"]
)
def test_engine_errors(client, engine, exc, status, error_type, message, path):
    engine.error = exc
    assert body(client.get(path), status) == error(error_type, message)


def test_matrix_fast_path_matches_point_by_point_formatting():
    rng = np.random.default_rng(3)
    values = rng.standard_normal(3000) * 10.0 ** rng.integers(-12, 24, 3000)
    values[::97] = math.nan
    values[::89] = np.round(values[::89])
    values[5], values[6], values[7] = math.inf, -0.0, STALE_NAN
    stamps = T0 + np.cumsum(rng.integers(1, 2000, 3000))
    stamps[0] = -1500
    matrix = Matrix([Series(UP_API, stamps, values), Series(UP_WEB, stamps[::3], values[::3])])
    expected = ",".join(
        '{"metric":'
        + json_string_labels(s.labels)
        + ',"values":['
        + ",".join(
            f'[{format_timestamp(t)},"{format_value(v)}"]'
            for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
        )
        + "]}"
        for s in matrix
    )
    assert (
        encode_query_data(QueryResult(matrix))
        == '{"resultType":"matrix","result":[' + expected + "]}"
    )


def json_string_labels(labels: Labels) -> str:
    return "{" + ",".join(f"{json_string(k)}:{json_string(v)}" for k, v in labels) + "}"


# -- /series, /labels, /label/<name>/values -----------------------------------------------

UP_API_JSON = '{"__name__":"up","instance":"a:1","job":"api"}'
UP_WEB_JSON = '{"__name__":"up","instance":"b:1","job":"web"}'
REQS_JSON = '{"__name__":"http_requests_total","code":"200","job":"api"}'


@pytest.mark.parametrize(
    "query, data",
    [
        ("match[]=up", f"[{UP_API_JSON},{UP_WEB_JSON}]"),
        ('match[]={job="api"}', f"[{REQS_JSON},{UP_API_JSON}]"),
        (
            'match[]=up{job=~"a.*"}&match[]=http_requests_total&match[]={job="api"}',
            f"[{REQS_JSON},{UP_API_JSON}]",
        ),
        (
            'match[]={__name__=~".%2B"}&start=1699999000&end=1700000005',
            f"[{UP_API_JSON},{UP_WEB_JSON}]",
        ),
        ("match[]=old_metric", '[{"__name__":"old_metric","job":"batch"}]'),
        ("match[]=old_metric&start=1699999999", "[]"),
        ("match[]=up&start=10&end=1", "[]"),
        ("match[]=nothing", "[]"),
    ],
)
def test_series_golden(client, query, data):
    assert body(client.get(f"/api/v1/series?{query}")) == ok(data)


def test_series_post_and_limit(client):
    response = client.post(
        "/api/v1/series", data={"match[]": ["up", "http_requests_total"], "limit": "2"}
    )
    assert body(response) == ok(
        f"[{REQS_JSON},{UP_API_JSON}]", ',"warnings":["results truncated due to limit"]'
    )


EMPTY = "match[] must contain at least one non-empty matcher"


@pytest.mark.parametrize(
    "selector, reason",
    [
        ("{}", EMPTY),
        ('{job=""}', EMPTY),
        ('{job=~".*"}', EMPTY),
        ("rate(up[5m])", "parse error: 'rate(up[5m])' is not a series selector"),
        ("up[5m]", "parse error: 'up[5m]' is not a series selector"),
        ("up offset 5m", "parse error: offset and @ are not allowed in 'up offset 5m'"),
        (
            '{a="1" or b="2"}',
            'parse error: unexpected "or" in label matching in \'{a="1" or b="2"}\'',
        ),
        ("up{", "parse error: unexpected end of input inside braces"),
    ],
)
def test_bad_selectors(client, selector, reason):
    series = client.get("/api/v1/series", query_string={"match[]": selector})
    assert body(series, 400) == error("bad_data", f'invalid parameter "match[]": {reason}')
    for path in ("/api/v1/labels", "/api/v1/label/job/values"):  # no parameter name here
        assert body(client.get(path, query_string={"match[]": selector}), 400) == error(
            "bad_data", reason
        )


def test_bad_regex_selector(client):
    text = body(client.get("/api/v1/series", query_string={"match[]": 'up{job=~"("}'}), 400)
    message = 'invalid parameter "match[]": parse error: illegal regex for ('
    assert text == error("bad_data", message)


@pytest.mark.parametrize(
    "path, message",
    [
        ("/api/v1/series", "no match[] parameter provided"),
        (
            "/api/v1/series?match[]=up&start=x",
            bad_time("start", "x"),
        ),
        (
            "/api/v1/series?match[]=up&end=x",
            bad_time("end", "x"),
        ),
        (
            "/api/v1/series?match[]=up&limit=x",
            'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax',
        ),
        (
            "/api/v1/labels?start=x",
            bad_time("start", "x"),
        ),
        ("/api/v1/labels?limit=-2", 'invalid parameter "limit": limit must be non-negative'),
        (
            "/api/v1/label/job/values?end=x",
            bad_time("end", "x"),
        ),
        ("/api/v1/metadata?limit=abc", "limit must be a number"),
        ("/api/v1/metadata?limit_per_metric=abc", "limit_per_metric must be a number"),
    ],
)
def test_bad_parameters_elsewhere(client, path, message):
    assert body(client.get(path), 400) == error("bad_data", message)


@pytest.mark.parametrize(
    "query, data",
    [
        ("", '["__name__","code","instance","job"]'),
        ("?match[]=up", '["__name__","instance","job"]'),
        ("?match[]=up&match[]=http_requests_total", '["__name__","code","instance","job"]'),
        ("?match[]=old_metric&start=1699999999", "[]"),
        ("?match[]=old_metric&end=1699999999", '["__name__","job"]'),
        ("?limit=2", '["__name__","code"]'),
    ],
)
def test_labels_golden(client, query, data):
    extra = ',"warnings":["results truncated due to limit"]' if "limit" in query else ""
    assert body(client.get(f"/api/v1/labels{query}")) == ok(data, extra)


def test_labels_post(client):
    assert body(client.post("/api/v1/labels", data={"match[]": "http_requests_total"})) == ok(
        '["__name__","code","job"]'
    )


@pytest.mark.parametrize(
    "path, data",
    [
        ("job/values", '["api","batch","web"]'),
        ("__name__/values", '["http_requests_total","old_metric","up"]'),
        ("job/values?match[]=up", '["api","web"]'),
        ("job/values?match[]=up&match[]=old_metric", '["api","batch","web"]'),
        ('job/values?match[]={job=~".%2B"}&start=1699999999&end=1700000000', '["api","web"]'),
        ("nothing/values", "[]"),
        ("U__job/values", '["api","batch","web"]'),
        ("U__http_2e_route/values", "[]"),
    ],
)
def test_label_values_golden(client, path, data):
    assert body(client.get(f"/api/v1/label/{path}")) == ok(data)


def test_label_values_limit(client):
    assert body(client.get("/api/v1/label/job/values?limit=1")) == ok(
        '["api"]', ',"warnings":["results truncated due to limit"]'
    )


# -- metadata, buildinfo, unknown paths, compression --------------------------------------


@pytest.mark.parametrize("query", ["", "?limit=5", "?metric=up", "?limit_per_metric=1"])
def test_metadata_is_empty_for_now(client, query):
    assert body(client.get(f"/api/v1/metadata{query}")) == ok("{}")


def test_store_errors_are_internal_errors(engine, tmp_path):
    app = Flask("closed")
    closed = SqlStore(f"sqlite:///{tmp_path}/never-opened.db")
    app.register_blueprint(create_api_blueprint(engine, closed), url_prefix="/api/v1")
    response = app.test_client().get("/api/v1/labels")
    assert body(response, 500) == error("internal", "the store is not open")


def test_buildinfo_golden(client):
    version = importlib.metadata.version("sloscope")
    python = platform.python_version()
    assert body(client.get("/api/v1/status/buildinfo")) == ok(
        f'{{"version":"{version}","revision":"abc123","branch":"unknown",'
        f'"buildUser":"sloscope","buildDate":"unknown","goVersion":"python{python}"}}'
    )


@pytest.mark.parametrize(
    "method, path, status, message",
    [
        ("GET", "/api/v1/nonexistent", 404, "/api/v1/nonexistent not found"),
        ("GET", "/api/v1/", 404, "/api/v1/ not found"),
        ("GET", "/api/v1/label//values", 404, "/api/v1/label//values not found"),
        ("PUT", "/api/v1/query", 405, "method PUT is not allowed for /api/v1/query"),
        (
            "POST",
            "/api/v1/label/job/values",
            405,
            "method POST is not allowed for /api/v1/label/job/values",
        ),
    ],
)
def test_unknown_paths_and_methods(client, method, path, status, message):
    response = client.open(path, method=method)
    assert body(response, status) == error("not_found" if status == 404 else "bad_data", message)


def test_large_answers_are_gzipped_when_accepted(client, engine):
    engine.result = QueryResult(Vector([Sample(UP_API, T0 + i, float(i)) for i in range(100)]))
    plain = client.get("/api/v1/query?query=up")
    zipped = client.get("/api/v1/query?query=up", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
