"""`sloscope demo`'s parts without running the demo: the configuration it writes is one the
server accepts, its SLOs are valid specs, the CLI parses both forms, the state file, fault
requests without a demo, readiness polls, and stopping children that do not want to stop."""

from __future__ import annotations

import os
import signal
import socket
import stat
import sys
import time
from pathlib import Path

import pytest

from slo.spec import load_slo_files
from sloscope.cli import build_parser, main
from sloscope.server.config import load_config
from sloscope.server.demo_children import start_child, stop_children
from sloscope.server.demo_layout import (
    RUM_APP_KEY,
    DemoLayout,
    DemoPorts,
    shipped_alert_rules,
    write_demo_config,
)
from sloscope.server.demo_parts import server_env, shop_env, shop_is_seeded
from sloscope.server.demo_ready import NotReady, free_port, port_is_free, wait_until
from sloscope.server.demo_state import DemoState, StateError, read_state, write_state

PORTS = DemoPorts(server=19900, shop=18000, redis=16379)


@pytest.fixture
def layout(tmp_path) -> DemoLayout:
    return DemoLayout(tmp_path / "demo dir")  # a space: paths must be quoted in the YAML


def test_the_written_config_is_one_the_server_accepts(layout):
    rules = shipped_alert_rules()
    assert rules, "a source checkout ships alert_rules/*.yml"
    write_demo_config(layout, PORTS, rules)
    # SLOSCOPE_* variables are stripped from the server's environment (see below), so the
    # file alone configures it.
    config = load_config(layout.config_file, {})
    assert (config.server.listen.host, config.server.listen.port) == ("127.0.0.1", 19900)
    assert config.server.data_dir == layout.data_dir
    assert config.web.auth is False
    assert config.otlp.http_listen.port == 0 and config.otlp.grpc_listen.port == 0
    assert [Path(f) for f in config.rules.files] == rules
    assert [Path(f) for f in config.slo.files] == [layout.slo_file]
    assert Path(config.notify.config_file) == layout.notify_file
    jobs = {job.job_name: job for job in config.scrape_configs}
    assert [t for s in jobs["shop"].static_configs for t in s.targets] == ["127.0.0.1:18000"]
    assert jobs["shop"].scrape_interval_ms == 10_000
    (app,) = config.rum.apps
    assert app.public_key == RUM_APP_KEY
    assert set(app.allowed_origins) == {"http://127.0.0.1:18000", "http://localhost:18000"}


def test_the_demo_slos_are_labelled_demo_and_say_demo_window(layout):
    write_demo_config(layout, PORTS, [])
    slos, errors = load_slo_files([str(layout.slo_file)])
    assert errors == []
    assert sorted(s.id for s in slos) == [
        "shop-availability",
        "shop-db-pool",
        "shop-latency",
        "shop-redis",
    ]
    for slo in slos:
        assert slo.labels.get("demo") == "true"
        assert slo.description.startswith("Demo window (1 day)")
        assert slo.window.duration_ms == 24 * 3600 * 1000


def test_the_parts_never_inherit_settings_that_point_elsewhere(layout):
    environ = {
        "PATH": "/usr/bin",
        "SLOSCOPE_STORAGE_URL": "postgresql://prod/sloscope",
        "DATABASE_URL": "postgresql://prod/shop",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318",
    }
    server = server_env(environ, layout)
    assert server["SLOSCOPE_CONFIG"] == str(layout.config_file)
    assert "SLOSCOPE_STORAGE_URL" not in server and server["PATH"] == "/usr/bin"
    shop = shop_env(environ, layout, PORTS, "")
    assert shop["DATABASE_URL"] == f"sqlite:///{layout.shop_db}"
    assert shop["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:19900"
    assert shop["SLOSCOPE_COLLECTOR_URL"] == "http://127.0.0.1:19900"
    assert shop["ADMIN_TOKEN"] == layout.admin_token and "REDIS_URL" not in shop
    assert shop_env(environ, layout, PORTS, "redis://127.0.0.1:1/0")["REDIS_URL"].endswith("/0")
    assert not shop_is_seeded(layout)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--data-dir", "d1", "fault", "latency"],
        ["demo", "fault", "latency", "--data-dir", "d1"],
    ],
)
def test_fault_takes_the_data_dir_before_or_after_it(argv):
    args = build_parser().parse_args(argv)
    assert (args.demo_action, args.name, args.data_dir) == ("fault", "latency", "d1")


def test_the_demo_defaults(tmp_path):
    args = build_parser().parse_args(["demo"])
    assert (args.data_dir, args.port, args.demo_action) == ("sloscope-demo", 9900, None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "fault", "meteor"])


def test_fault_without_a_running_demo_says_how_to_start_one(tmp_path, capsys):
    assert main(["demo", "fault", "errors", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"no demo is running with data directory {tmp_path}" in err
    assert "`sloscope demo`" in err


def test_a_state_file_left_by_a_dead_demo_is_recognised(layout, capsys):
    layout.data_dir.mkdir()
    child = start_child(
        "gone", [sys.executable, "-c", "pass"], os.environ, layout.log_file("gone"), layout.data_dir
    )
    child.process.wait(timeout=60)
    state = DemoState(child.pid, "http://d/", "http://s/", "token", redis=False)
    write_state(layout.state_file, state)
    assert stat.S_IMODE(layout.state_file.stat().st_mode) == 0o600  # it holds the token
    with pytest.raises(StateError, match="is no longer running"):
        read_state(layout.state_file)
    write_state(layout.state_file, DemoState(os.getpid(), "http://d/", "http://s/", "t", True))
    assert read_state(layout.state_file).admin_token == "t"
    assert main(["demo", "fault", "list", "--data-dir", str(layout.data_dir)]) == 1
    assert "cannot reach the shop at http://s/" in capsys.readouterr().err


def test_a_busy_port_is_refused_before_anything_starts(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_is_free(port)
        assert main(["demo", "--data-dir", str(tmp_path), "--port", str(port)]) == 1
    assert f"port {port} is in use" in capsys.readouterr().err
    assert not (tmp_path / "sloscope.yml").exists()
    assert port_is_free(free_port())


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_readiness_polls_are_bounded_and_stop_when_the_part_dies(layout):
    clock = _FakeClock()
    calls = []

    def never() -> bool:
        calls.append(clock())
        raise ConnectionRefusedError  # not listening yet: polled again

    with pytest.raises(NotReady, match="timed out after 5s waiting for x"):
        wait_until("waiting for x", never, 5.0, clock=clock, pause=clock.advance)
    assert calls == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    layout.data_dir.mkdir()
    dead = start_child(
        "shop", [sys.executable, "-c", "raise SystemExit(3)"], os.environ,
        layout.log_file("shop"), layout.data_dir,
    )  # fmt: skip
    dead.process.wait(timeout=60)
    with pytest.raises(NotReady, match="the shop exited with status 3 while waiting"):
        wait_until("waiting for the shop", lambda: False, 60.0, (dead,), clock, clock.advance)
    assert wait_until("ready", lambda: True, 0.0, clock=clock, pause=clock.advance) is None


STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.argv[1] == "term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("handlers", "installed", flush=True)
while True:
    time.sleep(1)
"""


@pytest.mark.parametrize(("ignores", "ends_by"), [("int", "SIGTERM"), ("term", "SIGKILL")])
def test_children_that_ignore_a_signal_are_escalated_and_reaped(layout, ignores, ends_by):
    layout.data_dir.mkdir()
    child = start_child(
        "stubborn", [sys.executable, "-c", STUBBORN, ignores], os.environ,
        layout.log_file("stubborn"), layout.data_dir,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    # (The log's first line is the command, script included: match the whole printed line.)
    while "handlers installed" not in child.log_path.read_text().splitlines():
        assert time.monotonic() < deadline and child.exit_code() is None
        time.sleep(0.1)
    said: list[str] = []
    stop_children([child], said.append, grace_s=(0.5, 0.5))
    assert child.exit_code() == -getattr(signal, ends_by)
    assert said[0] == f"stopping stubborn (pid {child.pid})"
    assert (ends_by == "SIGKILL") == ("stubborn did not stop: killing it" in said)
