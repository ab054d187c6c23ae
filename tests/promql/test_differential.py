"""sloscope's PromQL engine against Prometheus on the same randomized, scrape-shaped data.

``differential_data.py`` generates about 100 series over eight hours at 15 s (jittered scrape
timestamps, missed scrapes, an outage, counter resets, series that appear and stop, classic
histograms, request counters by code, gauges, a few NaN samples) from a fixed seed
(``SLOSCOPE_DIFFERENTIAL_SEED`` overrides it; every failure prints it). The data is loaded once
into a sloscope ``SqlStore`` (SQLite) and, through one OpenMetrics file and ``promtool tsdb
create-blocks-from openmetrics``, into a Prometheus server on 127.0.0.1. Every query then runs on
both: as an instant query at four times and as two range queries (60 s and 5 m steps, hours
long), and the results must have the same label sets, the same timestamps and the same values
(relative tolerance 1e-9, absolute 1e-12; NaN equals NaN). When both engines reject a query,
that counts as agreement (error messages are not compared); a query one engine answers and the
other rejects is a failure, and so is any exception from sloscope that is not a PromQL error.

Needs Debian's ``prometheus`` and ``promtool``; without them every test fails (never skips).

Known differences from Prometheus 2.42
--------------------------------------
sloscope follows Prometheus 3.x; the local oracle is 2.42. The suite avoids what legitimately
differs between the two:

- Range selectors and the lookback window are left-open in 3.x (``(t - range, t]``) and closed
  in 2.42 (``[t - range, t]``), and so are subquery windows. No sample lands on a whole second
  (scrape offsets are whole seconds plus 100..900 ms, jitter +-50 ms), while query times,
  ranges, offsets and ``@`` times are whole seconds; query times are at :07 s, so no subquery
  step (30 s, 1 m, 5 m) lands on a window's left edge either.
- Staleness: OpenMetrics has no stale marker and promtool's backfill cannot write one, so a
  series that disappears (checkout-2, the ``503`` counters, ``build_info`` of the old version)
  simply stops, in both stores alike; queries see its last sample for the 5 m lookback, as
  Prometheus does for a backfilled series. Stale-marker semantics are covered by the promqltest
  cases, not here.
- Since 2.51, ``rate``/``increase`` cap the extrapolation towards the start of the window at
  half a scrape interval *before* limiting it to the counter's zero point; 2.42 does it the
  other way round. They differ when a window's first sample comes late (a missed scrape or a
  series that starts inside the window) and is small, so counters of long-running processes
  start large, and a target misses no scrape once a counter of it (re)started from 0 (after
  a restart, an outage, the 503 counters' first sample, a new target). ``rate`` over a
  subquery of a raw counter is not queried: a subquery starts late after every gap.
- Since 2.47, ``atan2`` drops the metric name like the other arithmetic operators; in 2.42 it
  kept it. ``atan2`` is only applied to operands without a name.
- ``holt_winters`` is ``double_exponential_smoothing`` (behind a feature flag) in 3.x: not queried.
- Regex ``.`` matches a newline in 3.x: no label value contains one.
- Functions that 2.42 lacks or 3.x keeps behind feature flags (``sort_by_label``,
  ``mad_over_time``, ``limitk``, ``limit_ratio``, ``info``): not queried.
- ``le`` values are normalized at scrape time in 3.x (``le="1"`` becomes ``le="1.0"``): the data
  is written in the normalized form already.
- 3.x also sums the ``sum`` and ``avg`` aggregations with Kahan compensation (2.42 only
  ``*_over_time``, ``deriv`` and ``predict_linear``) and ignores tiny non-monotonic bucket
  deltas in ``histogram_quantile``. On this data the differences stay far inside the
  tolerance: no aggregation cancels catastrophically.
- The order of ``sort``/``sort_desc`` and of vectors in general is not compared (sets by label
  set), ``topk``/``bottomk`` only rank continuous values (no ties), and warnings and info
  annotations (new in 3.x) are not compared.
- The default subquery step is the evaluation interval: 1 m on both sides (set in the config).
"""

from __future__ import annotations

import collections
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.promql.engine import Engine, EngineOptions
from collector.promql.errors import PromQLError
from collector.promql.result import Matrix, Scalar, String, Vector
from collector.store.sql import SqlStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
import differential_data as data  # noqa: E402

pytestmark = pytest.mark.prometheus

SEED = int(os.environ.get("SLOSCOPE_DIFFERENTIAL_SEED", data.SEED))
REL_TOL = 1e-9
ABS_TOL = 1e-12
READY_TIMEOUT_S = 60.0
SHOWN_DIFFERENCES = 8

Key = tuple[tuple[str, str], ...]
Points = list[tuple[int, float | str]]
Canonical = tuple[str, list[tuple[Key, Points]]]  # result type, series (a scalar: key ())


# --- the two engines -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset() -> data.Dataset:
    return data.generate(SEED)


@pytest.fixture(scope="module")
def sloscope(dataset: data.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('sloscope') / 'store.db'}")
    store.open()
    try:
        for labels, ts, values in dataset:
            result = store.append_series(labels, ts, values)
            assert result.appended == len(ts), (str(labels), result)
        store.flush()
        yield Engine(store, EngineOptions(lookback_ms=5 * 60_000))
    finally:
        store.close()


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` is not on PATH. The differential PromQL tests use Debian's Prometheus "
            "2.42 as the oracle and never skip: `apt-get install prometheus` (it ships "
            "`prometheus` and `promtool`).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def prometheus(dataset: data.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a Prometheus server on a TSDB backfilled with ``dataset``."""
    prometheus_bin, promtool_bin = _require("prometheus"), _require("promtool")
    work = tmp_path_factory.mktemp("prometheus")
    om_file, tsdb = work / "data.om", work / "tsdb"
    om_file.write_text(data.openmetrics(dataset), encoding="utf-8")
    backfill = subprocess.run(
        [promtool_bin, "tsdb", "create-blocks-from", "openmetrics", str(om_file), str(tsdb)],
        capture_output=True,
        text=True,
    )
    if backfill.returncode != 0:
        pytest.fail(f"promtool could not backfill {om_file}:\n{backfill.stderr}", pytrace=False)
    config = work / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\n")  # the default subquery step
    port = _free_port()
    server = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",
            "--query.lookback-delta=5m",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: collections.deque[str] = collections.deque(maxlen=40)
    exited = threading.Event()
    drain = threading.Thread(target=_drain, args=(server, log, exited), daemon=True)
    drain.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/-/ready", exited, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        drain.join(timeout=10)
        if server.stderr is not None:
            server.stderr.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drain(server: subprocess.Popen, log: collections.deque[str], exited: threading.Event) -> None:
    """Keep Prometheus' stderr pipe empty (remembering the tail) and signal its exit."""
    assert server.stderr is not None
    for line in server.stderr:
        log.append(line.rstrip())
    exited.set()


def _wait_ready(url: str, exited: threading.Event, log: collections.deque[str]) -> None:
    """Poll ``/-/ready`` until the server has opened its TSDB: a bounded wait for a start."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:  # 503 while the TSDB opens
            exc.close()
        except OSError:  # refused while the server binds its port
            pass
        if exited.wait(0.1):
            tail = "\n".join(log)
            pytest.fail(f"prometheus exited before it was ready:\n{tail}", pytrace=False)
    pytest.fail(f"prometheus was not ready within {READY_TIMEOUT_S:.0f} s", pytrace=False)


def _ask_prometheus(base: str, path: str, params: dict[str, str]) -> Canonical | str:
    """The canonical result, or the error message."""
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            body = json.loads(exc.read() or b"{}")
        return f"{body.get('errorType')}: {body.get('error')}"
    result = body["data"]
    kind = result["resultType"]
    if kind in ("scalar", "string"):
        return kind, [((), [_prometheus_point(result["result"], kind)])]
    series = []
    for item in result["result"]:
        points = [item["value"]] if kind == "vector" else item["values"]
        key = tuple(sorted(item["metric"].items()))
        series.append((key, [_prometheus_point(p, kind) for p in points]))
    return kind, series


def _prometheus_point(point: list, kind: str) -> tuple[int, float | str]:
    ts = round(float(point[0]) * 1000)
    return ts, point[1] if kind == "string" else float(point[1])


class Crash(str):
    """sloscope raised something other than a PromQL error: a bug whatever Prometheus says."""


def _ask_sloscope(run) -> Canonical | str:
    try:
        value = run().value
    except PromQLError as exc:
        return f"{exc.error_type}: {exc}"
    except Exception as exc:  # any other exception is an engine bug, reported as a difference
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
        return Crash(f"crashed with {type(exc).__name__}: {exc} ({where})")
    if isinstance(value, Scalar):
        return "scalar", [((), [(value.timestamp_ms, value.value)])]
    if isinstance(value, String):
        return "string", [((), [(value.timestamp_ms, value.value)])]
    if isinstance(value, Vector):
        return "vector", [(tuple(s.labels), [(s.timestamp_ms, s.value)]) for s in value]
    assert isinstance(value, Matrix), type(value)
    return "matrix", [
        (tuple(s.labels), list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True)))
        for s in value
    ]


# --- comparing -------------------------------------------------------------------------------


def _same(a: float | str, b: float | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _show(key: Key) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"


def _by_key(series: list[tuple[Key, Points]], who: str, problems: list[str]) -> dict:
    out: dict[Key, Points] = {}
    for key, points in series:
        if key in out:
            problems.append(f"{who} returned {_show(key)} twice")
        out[key] = points
    return out


def _compare_points(key: Key, ours: Points, theirs: Points) -> list[str]:
    ours_at, theirs_at = dict(ours), dict(theirs)
    problems = []
    only_ours = sorted(ours_at.keys() - theirs_at.keys())
    only_theirs = sorted(theirs_at.keys() - ours_at.keys())
    if only_ours or only_theirs:
        problems.append(
            f"{_show(key)}: timestamps only in sloscope {only_ours[:3]} ({len(only_ours)}), "
            f"only in prometheus {only_theirs[:3]} ({len(only_theirs)})"
        )
    unequal = [
        t for t in sorted(ours_at.keys() & theirs_at.keys()) if not _same(ours_at[t], theirs_at[t])
    ]
    if unequal:
        t = unequal[0]
        problems.append(
            f"{_show(key)}: {len(unequal)} values differ, first at {t}: "
            f"sloscope {ours_at[t]!r}, prometheus {theirs_at[t]!r}"
        )
    return problems


def differences(ours: Canonical | str, theirs: Canonical | str) -> list[str]:
    """What differs between two canonical results (empty when they agree)."""
    if isinstance(ours, Crash):
        return [f"sloscope {ours}"]
    if isinstance(ours, str) or isinstance(theirs, str):
        if isinstance(ours, str) and isinstance(theirs, str):
            return []  # both reject the query; messages differ by design
        return [
            f"sloscope: {ours if isinstance(ours, str) else 'a result'}; "
            f"prometheus: {theirs if isinstance(theirs, str) else 'a result'}"
        ]
    if ours[0] != theirs[0]:
        return [f"result type: sloscope {ours[0]}, prometheus {theirs[0]}"]
    problems: list[str] = []
    ours_by, theirs_by = (
        _by_key(ours[1], "sloscope", problems),
        _by_key(theirs[1], "prometheus", problems),
    )
    for key in sorted(theirs_by.keys() - ours_by.keys()):
        problems.append(f"missing in sloscope: {_show(key)} {theirs_by[key][:2]}")
    for key in sorted(ours_by.keys() - theirs_by.keys()):
        problems.append(f"extra in sloscope: {_show(key)} {ours_by[key][:2]}")
    for key in sorted(ours_by.keys() & theirs_by.keys()):
        problems += _compare_points(key, ours_by[key], theirs_by[key])
    return problems


# --- the cases ---------------------------------------------------------------------------------


def _cases() -> list:
    cases = []
    for index, (query, instant_only) in enumerate(data.queries()):
        short = query if len(query) <= 70 else query[:67] + "..."
        cases.append(pytest.param(query, "instant", id=f"{index:03d}-instant-{short}"))
        if not instant_only:
            cases.append(pytest.param(query, "range", id=f"{index:03d}-range-{short}"))
    return cases


def _runs(query: str, mode: str, engine: Engine, base: str):
    """(description, sloscope's result, Prometheus' result) for each evaluation of the case."""
    if mode == "instant":
        for t in data.INSTANT_TIMES_S:
            yield (
                f"instant query at time={t}",
                _ask_sloscope(lambda t=t: engine.instant_query(query, t * 1000)),
                _ask_prometheus(base, "query", {"query": query, "time": str(t)}),
            )
        return
    for start, end, step in data.RANGES_S:
        params = {"query": query, "start": str(start), "end": str(end), "step": str(step)}
        yield (
            f"range query start={start} end={end} step={step}",
            _ask_sloscope(
                lambda s=start, e=end, st=step: engine.range_query(
                    query, s * 1000, e * 1000, st * 1000
                )
            ),
            _ask_prometheus(base, "query_range", params),
        )


@pytest.mark.parametrize(("query", "mode"), _cases())
def test_same_result_as_prometheus(
    query: str, mode: str, sloscope: Engine, prometheus: str
) -> None:
    report = []
    for where, ours, theirs in _runs(query, mode, sloscope, prometheus):
        found = differences(ours, theirs)
        if found:
            shown = "\n    ".join(found[:SHOWN_DIFFERENCES])
            more = len(found) - SHOWN_DIFFERENCES
            report.append(
                f"  {where}:\n    {shown}" + (f"\n    ... {more} more" if more > 0 else "")
            )
    assert not report, f"seed={SEED} query: {query}\n" + "\n".join(report)


# --- the HTTP API, byte for byte --------------------------------------------------------------

T = str(data.START_S + 5_407)
RANGE = {"start": str(data.START_S + 7_207), "end": str(data.START_S + 9_007), "step": "60"}
API_REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("query", {"query": 'http_requests_total{service="checkout"}', "time": T}),
    ("query", {"query": "node_filesystem_avail_bytes", "time": T}),
    ("query", {"query": "http_requests_total[1m]", "time": T}),
    ("query", {"query": "0.0000001", "time": T}),
    ("query", {"query": "1e21 * 3", "time": T}),
    ("query", {"query": '"text"', "time": T}),
    ("query", {"query": "count(up)", "time": T}),
    ("query", {"query": "vector(1.5) / 0", "time": T}),
    ("query", {"query": "sum(", "time": T}),
    ("query", {"query": "rate(up)", "time": T}),
    ("query", {"query": "up", "time": "not-a-time"}),
    ("query_range", {"query": 'up{job="gateway"}', **RANGE}),
    ("query_range", {"query": "count by (service) (up)", **RANGE}),
    ("query_range", {"query": "up", **{**RANGE, "step": "0"}}),
    ("query_range", {"query": "up", **{**RANGE, "end": RANGE["start"], "start": RANGE["end"]}}),
    ("query_range", {"query": "up[5m]", **RANGE}),
    ("series", {"match[]": 'up{job="gateway"}'}),
    # Prometheus judges "data in range" by 2 h block, sloscope by chunk: ask a range where
    # both agree (the whole data set) rather than one instant.
    (
        "series",
        {"match[]": "build_info", "start": str(data.START_S), "end": str(data.START_S + 28_800)},
    ),
    ("series", {}),
    ("labels", {}),
    ("labels", {"match[]": "build_info"}),
    ("label/job/values", {}),
    ("label/__name__/values", {}),
    ("label/service/values", {"match[]": 'up{job="api"}'}),
]


def _get(base: str, path: str, params: dict[str, str]) -> tuple[int, dict]:
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.parametrize(
    "path, params",
    API_REQUESTS,
    ids=[f"{p}?{urllib.parse.urlencode(q)}"[:70] for p, q in API_REQUESTS],
)
def test_http_api_answers_as_prometheus(path, params, sloscope: Engine, prometheus: str) -> None:
    """Same status and JSON as Prometheus; errors: same status and errorType (the message
    texts of parse errors come from different parsers)."""
    from flask import Flask

    from collector.http_api import create_api_blueprint

    app = Flask("differential")
    app.register_blueprint(create_api_blueprint(sloscope, sloscope.querier), url_prefix="/api/v1")
    ours = app.test_client().get(f"/api/v1/{path}", query_string=params)
    status, theirs = _get(prometheus, path, params)
    assert ours.status_code == status, (ours.json, theirs)
    if theirs.get("status") == "error":
        assert (ours.json["status"], ours.json["errorType"]) == ("error", theirs["errorType"])
    else:
        assert ours.json == theirs
