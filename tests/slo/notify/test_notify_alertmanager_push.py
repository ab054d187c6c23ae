"""AlertmanagerSender against a real Alertmanager (Debian's prometheus-alertmanager) and
against loopback servers that fail on purpose."""

from __future__ import annotations

import json
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
from slo.notify.alertmanager_push import (
    AlertmanagerSender,
    alert_to_json,
    generator_url,
    valid_until_ms,
)
from slo.notify.model import NotifyAlert
from slo.notify.receivers.payloads import alertmanager_fingerprint, rfc3339

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
POLLS = 300  # 0.05 s apart: bounded by count, so a slow machine only makes it slower

AM_CONFIG = """\
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _poll(probe, what: str, log: Path | None = None):
    """Call ``probe`` until it returns something truthy; fail after POLLS tries."""
    pause = threading.Event()
    for _ in range(POLLS):
        try:
            found = probe()
        except (urllib.error.URLError, OSError):
            found = None
        if found:
            return found
        pause.wait(0.05)
    detail = log.read_text() if log is not None and log.exists() else ""
    pytest.fail(f"{what} did not happen after {POLLS} polls\n{detail}")


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(ALERTMANAGER).exists():
        pytest.fail(f"{ALERTMANAGER} is missing: apt-get install prometheus-alertmanager")
    work = tmp_path_factory.mktemp("alertmanager")
    (work / "alertmanager.yml").write_text(AM_CONFIG)
    port = free_port()
    log = work / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={work / 'alertmanager.yml'}",
                f"--storage.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _poll(
            lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=5).status == 200,
            "Alertmanager ready",
            log,
        )
        yield url
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


def _active(url: str, alertname: str) -> list[dict]:
    alerts = _get_json(f"{url}/api/v2/alerts?filter=alertname%3D%22{alertname}%22")
    assert isinstance(alerts, list)
    return alerts


def _now_ms() -> int:
    # Alertmanager judges endsAt against its own clock, so alerts are stamped with the real
    # time; nothing here waits for time to pass.
    return int(time.time() * 1000)


@pytest.mark.prometheus
def test_real_alertmanager_receives_pushed_alerts(alertmanager: str) -> None:
    now = _now_ms()
    expr = 'job:errors:ratio_rate5m{job="api"} > 0.01'
    alerts = [
        NotifyAlert(
            labels=Labels.of({"alertname": "PushFiring", "job": "api", "instance": f"i{n}"}),
            annotations={"summary": f"instance {n} burns"},
            starts_at_ms=now - 60_000,
            ends_at_ms=valid_until_ms(now, 60_000, 60_000),
            generator_url=generator_url("http://sloscope.example:9900", expr),
        )
        for n in range(5)
    ]
    sender = AlertmanagerSender([alertmanager], timeout_s=5, max_batch=2)
    sender.send(alerts)
    report = sender.flush()
    assert (report.batches, report.sent, report.failed) == (3, 5, 0)
    got = _poll(
        lambda: (a := _active(alertmanager, "PushFiring")) and len(a) == 5 and a,
        "five alerts listed",
    )
    by_instance = {a["labels"]["instance"]: a for a in got}
    assert sorted(by_instance) == [f"i{n}" for n in range(5)]
    first = by_instance["i0"]
    assert first["labels"] == {"alertname": "PushFiring", "job": "api", "instance": "i0"}
    assert first["annotations"] == {"summary": "instance 0 burns"}
    assert first["generatorURL"] == (
        "http://sloscope.example:9900/graph?g0.expr="
        "job%3Aerrors%3Aratio_rate5m%7Bjob%3D%22api%22%7D+%3E+0.01&g0.tab=1"
    )
    assert first["status"]["state"] == "active"
    # Alertmanager's own fingerprint of the label set is the one our payloads carry.
    assert first["fingerprint"] == alertmanager_fingerprint(alerts[0].labels)
    assert first["startsAt"][:19] == rfc3339(now - 60_000)[:19]


@pytest.mark.prometheus
def test_resending_with_past_ends_at_resolves_in_alertmanager(alertmanager: str) -> None:
    now = _now_ms()
    labels = Labels.of({"alertname": "PushResolve", "slo": "checkout-availability"})
    sender = AlertmanagerSender([alertmanager], timeout_s=5)
    sender.send([NotifyAlert(labels, {}, now - 120_000, valid_until_ms(now, 30_000, 60_000))])
    assert sender.flush().sent == 1
    _poll(lambda: _active(alertmanager, "PushResolve"), "alert listed")
    sender.send([NotifyAlert(labels, {}, now - 120_000, now - 1)])
    assert sender.flush().sent == 1
    _poll(lambda: not _active(alertmanager, "PushResolve"), "alert resolved")


@pytest.mark.prometheus
def test_every_alertmanager_gets_the_batch_and_a_dead_one_only_counts_errors(
    alertmanager: str,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    labels = Labels.of({"alertname": "PushTwoPeers"})
    with RecordingServer() as peer:
        sender = AlertmanagerSender(
            [dead, alertmanager, peer.url], timeout_s=5, max_retries=1, retry_backoff_s=0
        )
        sender.send([NotifyAlert(labels, {"summary": "s"}, _now_ms() - 1000)])
        report = sender.flush()
        received = peer.wait_for(1)
    assert report.sent == 1 and report.failed == 0
    assert sender.errors_total == {f"{dead}/api/v2/alerts": 1}
    assert received[0].path == "/api/v2/alerts"
    assert received[0].headers["Content-Type"] == "application/json"
    body = received[0].json()
    assert isinstance(body, list) and body[0]["labels"] == {"alertname": "PushTwoPeers"}
    _poll(lambda: _active(alertmanager, "PushTwoPeers"), "alert listed")


def test_alert_json_is_prometheus_postable_alert_shape() -> None:
    alert = NotifyAlert(
        Labels.of({"alertname": "A", "severity": "page"}),
        {"summary": "x", "description": "y"},
        starts_at_ms=1_700_000_000_000,
        ends_at_ms=1_700_000_240_500,
        generator_url="http://h/graph",
    )
    assert json.dumps(alert_to_json(alert)) == (
        '{"labels": {"alertname": "A", "severity": "page"}, '
        '"annotations": {"description": "y", "summary": "x"}, '
        '"startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:17:20.5Z", '
        '"generatorURL": "http://h/graph"}'
    )
    unset = alert_to_json(NotifyAlert(Labels.of({"alertname": "B"})))
    assert "startsAt" not in unset and "endsAt" not in unset


def test_valid_until_is_four_resend_periods_ahead() -> None:
    assert valid_until_ms(1000, 15_000, 60_000) == 1000 + 240_000
    assert valid_until_ms(1000, 120_000, 60_000) == 1000 + 480_000


def test_full_queue_drops_oldest_and_counts() -> None:
    sender = AlertmanagerSender(["http://127.0.0.1:1"], timeout_s=1, queue_capacity=3)
    alerts = [NotifyAlert(Labels.of({"alertname": "Q", "n": str(n)})) for n in range(5)]
    sender.send(alerts[:2])
    sender.send(alerts[2:])
    assert sender.pending() == 3
    assert sender.dropped_total["queue_full"] == 2
    with RecordingServer() as peer:
        sender.urls = (peer.url + "/api/v2/alerts",)
        assert sender.flush().sent == 3
        posted = peer.wait_for(1)[0].json()
    assert [a["labels"]["n"] for a in posted] == ["2", "3", "4"]


def test_5xx_is_retried_then_counted_as_failed() -> None:
    with RecordingServer(status=503, reply=b"overloaded") as peer:
        sender = AlertmanagerSender([peer.url], timeout_s=5, max_retries=2, retry_backoff_s=0)
        sender.send([NotifyAlert(Labels.of({"alertname": "R"}))])
        report = sender.flush()
    assert (report.sent, report.failed) == (0, 1)
    assert sender.dropped_total["send_failed"] == 1
    assert sender.errors_total[f"{peer.url}/api/v2/alerts"] == 1


def test_background_thread_flushes_what_is_sent() -> None:
    with RecordingServer() as peer:
        sender = AlertmanagerSender([peer.url], timeout_s=5)
        sender.start()
        try:
            sender.send([NotifyAlert(Labels.of({"alertname": "T"}))])
            received = peer.wait_for(1)
        finally:
            sender.stop(timeout_s=10)
    assert received[0].json() == [
        {"labels": {"alertname": "T"}, "annotations": {}, "generatorURL": ""}
    ]
    assert sender.sent_total == 1
