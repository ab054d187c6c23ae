"""Load generator: thresholds, profile arithmetic, the loopback rule, and real runs.

Importing Locust monkey-patches the process with gevent, so everything that runs Locust runs in
a subprocess; in-process tests only touch ``profile`` and ``runner``, which import it lazily.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reference_backend.loadgen.profile import (
    BUILTIN_PROFILES,
    MAX_DURATION_S,
    MAX_USERS,
    LoadMode,
    Profile,
    ProfileError,
    RateStage,
    UserStage,
    get_profile,
    parse_duration,
    parse_threshold,
    ramping_users,
)
from reference_backend.loadgen.runner import (
    HostNotAllowed,
    Pacer,
    Row,
    RunResult,
    Verdict,
    format_summary,
    require_loopback,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


# --- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "op", "limit"),
    [
        ("p95<500ms", "p95", "<", 500.0),
        ("p99<1s", "p99", "<", 1000.0),
        ("p(95)<500", "p95", "<", 500.0),  # k6 spelling, bare number is ms
        ("p99.9 <= 2.5s", "p99.9", "<=", 2500.0),
        ("avg<200ms", "avg", "<", 200.0),
        ("max<3s", "max", "<", 3000.0),
        ("error_rate<1%", "error_rate", "<", 0.01),
        ("error_rate<=0.05", "error_rate", "<=", 0.05),
        ("rps>=20", "rps", ">=", 20.0),
        ("rps>5/s", "rps", ">", 5.0),
    ],
)
def test_parse_threshold_accepts(text: str, metric: str, op: str, limit: float) -> None:
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op, threshold.limit) == (metric, op, pytest.approx(limit))
    assert threshold.text == text.strip()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("p95", "expected METRIC<VALUE"),
        ("p95<", "expected METRIC<VALUE"),
        ("p95<fast", "not a number"),
        ("q95<5ms", "unknown metric"),
        ("latency<5ms", "unknown metric"),
        ("p0<5ms", "percentile must be in (0, 100]"),
        ("p101<5ms", "percentile must be in (0, 100]"),
        ("p95<5%", "latency takes 'ms' or 's'"),
        ("error_rate<5ms", "error_rate takes"),
        ("error_rate<150%", "above 100%"),
        ("error_rate<2", "above 100%"),
        ("rps>5ms", "rps takes a number"),
    ],
)
def test_parse_threshold_rejects_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_threshold(text)
    assert repr(text) in str(info.value)
    assert says in str(info.value)


def test_threshold_quantile_and_comparison() -> None:
    p95 = parse_threshold("p95<500ms")
    assert p95.quantile == pytest.approx(0.95)
    assert p95.passes(499.0) and not p95.passes(500.0)
    assert parse_threshold("rps>=20").passes(20.0)
    assert parse_threshold("error_rate<1%").quantile is None
    assert parse_threshold("error_rate<1%").format(0.005) == "0.50%"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("45", 45.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "3x", "s", "1m-30s", "-5s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ProfileError, match="bad duration"):
        parse_duration(text)


# --- profile arithmetic -----------------------------------------------------------------------


def test_ramping_users_is_a_k6_linear_ramp() -> None:
    stages = ramping_users(("30s", 20), ("1m", 50), ("1m", 50), ("10s", 0))
    assert [s.users for s in stages] == [20, 50, 50, 0]
    # the hold keeps the ramp's rate, so a ramp that ended short finishes at the same speed
    assert [s.spawn_rate for s in stages] == pytest.approx([20 / 30, 30 / 60, 30 / 60, 5.0])
    assert sum(s.duration_s for s in stages) == 160.0


def test_tick_follows_the_stages_and_stops_after_the_last() -> None:
    profile = Profile("p", ramping_users(("30s", 20), ("1m", 50), ("10s", 0)))
    assert profile.mode is LoadMode.USERS
    assert profile.total_duration_s == 100.0
    assert profile.peak_users == 50
    assert profile.tick(0.0) == (20, pytest.approx(20 / 30))
    assert profile.tick(29.9)[0] == 20
    assert profile.tick(30.0)[0] == 50
    assert profile.tick(95.0)[0] == 0
    assert profile.tick(100.0) is None
    assert profile.rate_at(10.0) == 0.0


def test_scaling_keeps_the_shape_and_still_reaches_each_target() -> None:
    load = get_profile("load")
    short = load.scaled(duration_s=36.0, users=10)
    assert short.total_duration_s == pytest.approx(36.0)
    assert short.peak_users == 10
    previous = 0
    for stage in short.stages:
        assert stage.spawn_rate * stage.duration_s >= abs(stage.users - previous) - 1e-9
        previous = stage.users
    assert [s.users for s in short.stages] == [2, 5, 10, 10, 0]


def test_scaling_refuses_stages_shorter_than_a_shape_tick() -> None:
    with pytest.raises(ProfileError, match="spike' needs at least 23s"):
        get_profile("spike").scaled(duration_s=10.0)
    assert get_profile("spike").scaled(duration_s=23.0).total_duration_s == pytest.approx(23.0)


def test_arrival_rate_profile_paces_requests_with_preallocated_users() -> None:
    profile = Profile(
        "r", (RateStage(10, 5.0), RateStage(5, 0.0), RateStage(10, 50.0)), max_users=8
    )
    assert profile.mode is LoadMode.ARRIVAL_RATE
    assert profile.tick(1.0) == (8, 8.0)
    assert profile.tick(12.0) == (0, 8.0)  # a zero-rate stage is a pause
    assert profile.rate_at(20.0) == 50.0
    assert profile.scaled(users=20).max_users == 20
    assert profile.scaled(duration_s=5.0).rate_at(4.9) == 50.0


def test_pacer_hands_out_slots_at_the_rate_and_counts_drops() -> None:
    pacer = Pacer(lambda t: 10.0, horizon_s=0.5)
    delays = [pacer.reserve(0.0) for _ in range(7)]
    assert delays[:6] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert delays[6] is None  # beyond the horizon: ask again later
    assert pacer.reserve(5.0) == 0.0  # every user was busy for 4.4 s
    assert pacer.dropped == 44
    assert Pacer(lambda t: 0.0).reserve(1.0) is None


def test_safety_caps_are_enforced() -> None:
    with pytest.raises(ProfileError, match="users"):
        UserStage(10.0, MAX_USERS + 1, 1.0)
    with pytest.raises(ProfileError, match="exceeds"):
        Profile("long", ramping_users((MAX_DURATION_S, 1), (60.0, 1)))
    with pytest.raises(ProfileError, match="rate"):
        RateStage(10.0, 1e6)
    with pytest.raises(ProfileError, match="users"):
        get_profile("smoke").scaled(users=MAX_USERS + 1)
    with pytest.raises(ProfileError, match="weights"):
        Profile("w", (UserStage(1.0, 1, 1.0),), weights={"browse": 0})
    with pytest.raises(ProfileError, match="weights"):
        Profile("w", (UserStage(1.0, 1, 1.0),), weights={"checkout": 5})


def test_builtin_profiles_are_valid_and_unknown_names_list_them() -> None:
    assert set(BUILTIN_PROFILES) >= {"smoke", "load", "stress", "spike"}
    assert get_profile("smoke").total_duration_s == 20.0
    for profile in BUILTIN_PROFILES.values():
        assert profile.total_duration_s <= MAX_DURATION_S and profile.thresholds
    with pytest.raises(ProfileError, match="smoke, load"):
        get_profile("soak")


# --- loopback only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000/",
        "https://LOCALHOST",
        "http://127.5.6.7",
        "http://[::1]:8000",
        "http://[::ffff:127.0.0.1]:8000",
    ],
)
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert require_loopback(host) == host.rstrip("/")


@pytest.mark.parametrize(
    "host",
    [
        "http://10.0.0.1:8000",
        "http://example.com",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8000",
        "http://[::ffff:10.0.0.1]",
        "http://user:pw@127.0.0.1",
        "ftp://127.0.0.1",
        "127.0.0.1:8000",
        "http://127.0.0.1:99999",
    ],
)
def test_other_hosts_are_refused(host: str) -> None:
    with pytest.raises(HostNotAllowed, match="refusing"):
        require_loopback(host)


def _loadgen(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "reference_backend.loadgen", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_refuses_a_remote_host_without_importing_locust() -> None:
    code = (
        "import sys; from reference_backend.loadgen.__main__ import main; "
        "rc = main(['--host', 'http://192.0.2.1:8000', '--profile', 'smoke']); "
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done.stderr
    assert "refusing 'http://192.0.2.1:8000'" in done.stderr
    assert "loopback" in done.stderr


# --- summary format ---------------------------------------------------------------------------


def test_summary_lists_rows_errors_and_each_threshold() -> None:
    rows = [
        Row("GET /api/products", 90, 9.0, 3.0, 12.0, 20.0, Counter()),
        Row("Total", 100, 10.0, 3.0, 15.0, 30.0, Counter({"HTTP 500": 9, "ReadTimeout": 1})),
    ]
    verdicts = [
        Verdict(parse_threshold("p95<500ms"), 15.0),
        Verdict(parse_threshold("error_rate<1%"), 0.1),
    ]
    text = format_summary(RunResult(rows, verdicts, elapsed_s=10.0))
    assert "GET /api/products       90      9.0      3ms     12ms     20ms  -" in text
    assert "HTTP 500 x9, ReadTimeout x1" in text
    assert "PASS  p95<500ms            observed 15ms" in text
    assert "FAIL  error_rate<1%        observed 10.00%" in text
    assert text.endswith("Result: FAIL")


# --- end to end against a local server --------------------------------------------------------


class _FakeShop(BaseHTTPRequestHandler):
    """Answers every scenario path; when ``failing`` is set, every other request is a 500."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Locust's client expects
    failing = threading.Event()
    counter = itertools.count()
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        """Quiet: one line per request would drown the test output."""

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, status: int, body: object) -> None:
        with self.lock:
            n = next(self.counter)
        self._reply(500 if self.failing.is_set() and n % 2 else status, body)

    def do_GET(self) -> None:
        if self.path.startswith("/api/products?"):
            self._answer(200, {"items": [{"id": i} for i in range(1, 21)], "next_cursor": "c2"})
        else:
            self._answer(200, {"ok": True})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(201, {"id": 1})


@pytest.fixture
def fake_shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeShop)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeShop.failing.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_end_to_end_exit_code_follows_the_thresholds(fake_shop: str) -> None:
    args = ("--host", fake_shop, "--profile", "smoke", "--duration", "5s")
    healthy = _loadgen(*args, "--threshold", "error_rate<1%")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "request" in healthy.stdout and "p95" in healthy.stdout
    assert "GET /api/products/<id>" in healthy.stdout
    assert "Total" in healthy.stdout
    assert "PASS  error_rate<1%" in healthy.stdout
    assert "rps" in healthy.stderr  # the live progress line

    _FakeShop.failing.set()
    broken = _loadgen(*args, "--threshold", "error_rate<1%")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL  error_rate<1%" in broken.stdout
    assert "HTTP 500" in broken.stdout
    assert "Result: FAIL" in broken.stdout
