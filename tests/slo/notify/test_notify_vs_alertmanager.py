"""Differential test: the same configuration and alerts through the real Alertmanager
(Debian's prometheus-alertmanager) and through our Notifier must produce the same
notifications — which receiver, which group key, which alerts — after group_wait.

Alertmanager's timers are real time, so group_wait is 1s and the test polls the webhook
recorder (no blind sleeps); our notifier is ticked with explicit times.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collector.model import Labels
from slo.notify.config import parse_config
from slo.notify.model import Notification, NotifyAlert
from slo.notify.notifier import Notifier

pytestmark = pytest.mark.prometheus

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1h
  repeat_interval: 4h
  routes:
  - matchers: ['team="db"']
    receiver: db
    continue: true
    routes:
    - matchers: ['severity=~"page|critical"']
      receiver: db-pager
      group_by: ['...']
  - matchers: ['{team=~"db|web", env!="test"}']
    receiver: web
    group_by: [alertname, env]
  - match: {team: ops}
    receiver: ops
    group_by: [cluster]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [cluster]
receivers:
"""
RECEIVERS = ("default", "db", "db-pager", "web", "ops")

ALERTS = [
    {"alertname": "Down", "team": "db", "severity": "page", "instance": "a"},
    {"alertname": "Down", "team": "db", "severity": "ticket", "instance": "b", "env": "prod"},
    {"alertname": "Slow", "team": "web", "env": "prod", "instance": "c"},
    {"alertname": "Slow", "team": "web", "env": "test", "instance": "d"},
    {"alertname": "Disk", "team": "ops", "cluster": "eu", "severity": "critical"},
    {"alertname": "Disk2", "team": "ops", "cluster": "eu", "severity": "warning"},
    {"alertname": "Disk2", "team": "ops", "cluster": "us", "severity": "warning"},
    {"alertname": "Other", "instance": 'with "quote"'},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    changed = threading.Condition()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.changed:
            self.received.append((self.path.strip("/"), body))
            self.changed.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[int, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"received": [], "changed": threading.Condition()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def _config_text(hook_port: int) -> str:
    lines = [
        f"- name: {name}\n  webhook_configs: [{{url: 'http://127.0.0.1:{hook_port}/{name}'}}]"
        for name in RECEIVERS
    ]
    return CONFIG + "\n".join(lines) + "\n"


def _wait(predicate, what: str, proc: subprocess.Popen, log: Path) -> None:  # noqa: ANN001
    # A safety net against hanging forever, not a speed assertion.
    deadline = time.monotonic() + 60
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"alertmanager: {what} did not happen; log:\n{log.read_text()}")
        time.sleep(0.05)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _outcome_of_alertmanager(received: list[tuple[str, dict]]) -> set[tuple]:
    return {
        (
            path,
            body["groupKey"],
            body["status"],
            tuple(sorted(tuple(sorted(a["labels"].items())) for a in body["alerts"])),
        )
        for path, body in received
    }


def _outcome_of_ours(sent: list[Notification]) -> set[tuple]:
    return {
        (n.receiver, n.group_key, n.status, tuple(sorted(tuple(a.labels) for a in n.alerts)))
        for n in sent
    }


def test_routing_and_grouping_match_alertmanager(tmp_path: Path, recorder) -> None:  # noqa: ANN001
    if not shutil.which(ALERTMANAGER):
        pytest.fail(f"{ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)")
    hook_port, handler = recorder
    text = _config_text(hook_port)
    (tmp_path / "am.yml").write_text(text, encoding="utf-8")

    sent: list[Notification] = []
    ours = Notifier(parse_config(text, "am.yml"), None, sent.append)
    ours.receive([NotifyAlert(Labels.of(a)) for a in ALERTS], now_ms=1_000)
    ours.tick(2_000)
    expected = _outcome_of_ours(sent)
    assert len(expected) == len(sent) == 9  # see the routes above

    port = _free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: _ready(base + "/-/ready"), "ready", proc, log)
        payload = json.dumps([{"labels": a} for a in ALERTS]).encode()
        request = urllib.request.Request(
            base + "/api/v2/alerts", payload, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        _wait(lambda: len(handler.received) >= len(expected), "all notifications", proc, log)
        # Nothing more may arrive: every group has flushed once and group_interval is 1h.
        groups_url = base + "/api/v2/alerts/groups"
        with urllib.request.urlopen(groups_url, timeout=10) as answer:
            assert len(json.load(answer)) == len(ours.groups())
        assert _outcome_of_alertmanager(handler.received) == expected
        assert len(handler.received) == len(expected)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
