"""Oracle: the webhook message we build equals the one a real Alertmanager (Debian's 0.25)
POSTs for the same alerts, firing and then partly resolved."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from notify_loopback import RecordingServer, free_port

from collector.model import Labels
from slo.notify.alertmanager_push import AlertmanagerSender
from slo.notify.model import Notification, NotifyAlert
from slo.notify.receivers.webhook import webhook_message

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
AM_EXTERNAL_URL = "http://am.example:9093"
POLLS = 300

pytestmark = pytest.mark.prometheus


def _config(hook_url: str) -> str:
    return f"""\
route:
  receiver: team.checkout
  group_by: [alertname]
  group_wait: 1s  # both alerts of the first push are in the group by then
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: team.checkout
    webhook_configs:
      - url: {hook_url}/am
        send_resolved: true
"""


@pytest.fixture
def alertmanager_with_hook(tmp_path: Path) -> Iterator[tuple[str, RecordingServer]]:
    hook = RecordingServer().start()
    (tmp_path / "am.yml").write_text(_config(hook.url))
    port, log = free_port(), tmp_path / "am.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url={AM_EXTERNAL_URL}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, log)
        yield url, hook
    finally:
        process.terminate()
        process.wait()
        hook.stop()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


def _wait_ready(url: str, log: Path) -> None:
    pause = threading.Event()
    for _ in range(POLLS):
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        pause.wait(0.05)
    pytest.fail(f"Alertmanager not ready after {POLLS} polls:\n{log.read_text()}")


def _alert(instance: str, now: int, ends_at_ms: int) -> NotifyAlert:
    return NotifyAlert(
        labels=Labels.of(
            {"alertname": "OracleBurn", "severity": "page", "job": "shop", "instance": instance}
        ),
        annotations={"summary": "checkout burns budget", "runbook_url": f"http://rb/{instance}"},
        starts_at_ms=now - 120_123,
        ends_at_ms=ends_at_ms,
        generator_url="http://sloscope.example:9900/graph?g0.expr=up&g0.tab=1",
    )


def _ours(alerts: tuple[NotifyAlert, ...], created_at_ms: int) -> dict[str, object]:
    firing = any(not a.resolved(created_at_ms) for a in alerts)
    notification = Notification(
        receiver="team.checkout",
        group_key='{}:{alertname="OracleBurn"}',
        group_labels=Labels.of({"alertname": "OracleBurn"}),
        alerts=alerts,
        status="firing" if firing else "resolved",
        created_at_ms=created_at_ms,
    )
    return webhook_message(
        notification, notification.alerts, max_alerts=0, external_url=AM_EXTERNAL_URL
    )


def test_webhook_payload_equals_alertmanagers(
    alertmanager_with_hook: tuple[str, RecordingServer],
) -> None:
    url, hook = alertmanager_with_hook
    # Alertmanager judges endsAt by its own clock, so the alerts carry the real time.
    now = int(time.time() * 1000)
    firing = (_alert("a:80", now, now + 3_600_000), _alert("b:80", now, now + 3_600_000))
    sender = AlertmanagerSender([url], timeout_s=5)
    sender.send(firing)
    assert sender.flush().sent == 2
    first = hook.wait_for(1)[0]
    assert first.path == "/am"
    assert first.json() == _ours(firing, now)

    resolved_at = now - 1_000
    sender.send([_alert("b:80", now, resolved_at)])
    assert sender.flush().sent == 1
    second = hook.wait_for(2)[1]
    mixed = (firing[0], _alert("b:80", now, resolved_at))
    assert second.json() == _ours(mixed, now)
