"""The rules role inside ``sloscope server``: rule files and SLO specs are evaluated, their
alerts are routed to a webhook and listed in Prometheus' and Alertmanager's API shapes, and
bad files stop the server at start with every problem named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sloscope.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLLS = 600  # 0.1 s apart at most: bounded by count, not by a clock


class Webhook:
    """A loopback receiver that records every JSON body posted to it."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def config_files(tmp_path: Path, hook_url: str) -> Path:
    write(
        tmp_path / "rules.yml",
        """
        groups:
          - name: canary
            interval: 1s
            rules:
              - record: canary:value
                expr: vector(3)
              - alert: CanaryAlwaysFires
                expr: canary:value > 1
                labels: {severity: page}
                annotations: {summary: "canary is {{ $value }}"}
        """,
    )
    write(
        tmp_path / "slos.yml",
        """
        service: shop
        slos:
          - name: availability
            objective: 99.9%
            sli:
              events:
                error_query: sum(rate(http_errors_total[{{.window}}]))
                total_query: sum(rate(http_requests_total[{{.window}}]))
        """,
    )
    write(
        tmp_path / "alertmanager.yml",
        f"""
        route:
          receiver: hook
          group_by: [alertname]
          group_wait: 1s
          group_interval: 1s
        receivers:
          - name: hook
            webhook_configs: [{{url: "{hook_url}"}}]
        """,
    )
    return write(
        tmp_path / "sloscope.yml",
        """
        rules:
          files: [rules.yml]
          evaluation_interval: 1s
        slo:
          files: [slos.yml]
        notify:
          config_file: alertmanager.yml
        """,
    )


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def poll(check):
    """check() until it returns something truthy; None after POLLS tries."""
    for _ in range(POLLS):
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.1)
    return None


@pytest.fixture
def server(tmp_path: Path):
    hook = Webhook()
    config_files(tmp_path, hook.url)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOSCOPE_")}
    env.update(
        SLOSCOPE_OTLP_HTTP_LISTEN="127.0.0.1:0",
        SLOSCOPE_OTLP_GRPC_LISTEN="127.0.0.1:0",
        PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]),
    )
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sloscope", "server", "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: process.poll() is not None or get_json(f"{base}/api/v1/rules"))
        assert process.poll() is None, f"server exited:\n{log.read_text()}"
        yield base, hook
    finally:
        process.terminate()
        process.wait(timeout=30)
        hook.close()


def test_rules_and_slos_are_evaluated_listed_and_routed(server) -> None:
    base, hook = server
    groups = get_json(f"{base}/api/v1/rules")["data"]["groups"]
    names = [g["name"] for g in groups]
    assert "canary" in names and "sloth-slo-sli-recordings-shop-availability" in names

    def firing():
        alerts = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["state"] == "firing"]

    (alert,) = poll(firing)
    assert alert["labels"] == {"alertname": "CanaryAlwaysFires", "severity": "page"}
    assert alert["annotations"] == {"summary": "canary is 3"} and alert["value"] == "3e+00"

    posted = poll(lambda: hook.bodies)
    assert posted[0]["version"] == "4" and posted[0]["status"] == "firing"
    assert posted[0]["alerts"][0]["labels"]["alertname"] == "CanaryAlwaysFires"

    recorded = get_json(f"{base}/api/v1/query?query=canary:value")["data"]["result"]
    assert [r["value"][1] for r in recorded] == ["3"]
    (am_alert,) = get_json(f"{base}/api/v2/alerts")
    assert am_alert["receivers"] == [{"name": "hook"}]
    assert am_alert["status"]["state"] == "active"


def test_silences_over_the_alertmanager_api_mute_the_alert(server) -> None:
    base, _ = server
    assert poll(lambda: get_json(f"{base}/api/v2/alerts"))
    body = {
        "matchers": [{"name": "alertname", "value": "CanaryAlwaysFires", "isRegex": False}],
        "startsAt": "2000-01-01T00:00:00Z",
        "endsAt": "2100-01-01T00:00:00Z",
        "createdBy": "ana",
        "comment": "known canary",
    }
    request = urllib.request.Request(
        f"{base}/api/v2/silences", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        silence_id = json.load(response)["silenceID"]
    (am_alert,) = get_json(f"{base}/api/v2/alerts")
    assert am_alert["status"] == {
        "inhibitedBy": [],
        "silencedBy": [silence_id],
        "state": "suppressed",
    }
    (listed,) = get_json(f"{base}/api/v2/silences")
    assert listed["id"] == silence_id and listed["status"]["state"] == "active"
    expire = urllib.request.Request(f"{base}/api/v2/silence/{silence_id}", method="DELETE")
    with urllib.request.urlopen(expire, timeout=10) as response:
        assert response.status == 200
    assert get_json(f"{base}/api/v2/silences")[0]["status"]["state"] == "expired"
    assert get_json(f"{base}/api/v2/alerts")[0]["status"]["state"] == "active"


def test_bad_rule_and_spec_files_stop_the_server_with_every_problem(tmp_path, capsys) -> None:
    write(
        tmp_path / "bad_rules.yml",
        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
    )
    write(tmp_path / "bad_slo.yml", "service: shop\nslos:\n  - name: a\n    objective: 2\n")
    config = write(
        tmp_path / "sloscope.yml",
        f"""
        server:
          listen: 127.0.0.1:0
          data_dir: {tmp_path / "data"}
        otlp:
          http_listen: 127.0.0.1:0
          grpc_listen: 127.0.0.1:0
        rules:
          files: [{tmp_path / "bad_rules.yml"}, {tmp_path / "missing-*.yml"}]
        slo:
          files: [{tmp_path / "bad_slo.yml"}]
        """,
    )
    assert main(["server", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "missing-*.yml' matches no file" in err
    write(config, config.read_text().replace(f", {tmp_path / 'missing-*.yml'}", ""))
    assert main(["server", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad_rules.yml'}:5:15" in err
    assert f"{tmp_path / 'bad_slo.yml'}:" in err
