"""Silences (states, validation, update/expire rules) and inhibition, through the Notifier."""

from __future__ import annotations

import pytest

from collector.model import Labels
from slo.notify.config import parse_config
from slo.notify.model import Notification, NotifyAlert
from slo.notify.notifier import AlertState, Notifier
from slo.notify.silences import SilenceError, Silences, SilenceState

S, M, H = 1000, 60_000, 3_600_000

CONFIG = """
global: {resolve_timeout: 1h}
route: {receiver: team, group_by: [alertname, cluster], group_wait: 30s, group_interval: 1m}
receivers: [{name: team}]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [cluster]
- source_match: {alertname: Maintenance}
  target_match_re: {alertname: ".+"}
"""


def make() -> tuple[Notifier, list[Notification]]:
    sent: list[Notification] = []
    return Notifier(parse_config(CONFIG, "am.yml"), None, sent.append), sent


def alert(name: str, **labels: str) -> NotifyAlert:
    return NotifyAlert(Labels.of({"alertname": name, **labels}))


def test_silence_hides_from_start_to_end_then_alert_notifies() -> None:
    notifier, _ = make()
    sid = notifier.silences.create(['alertname="Down"'], 2 * M, 10 * M, "ana", "deploy", now_ms=0)
    assert notifier.silences.get(sid).state(0) is SilenceState.PENDING
    sent_at = []
    for t in range(0, 15 * M, 30 * S):
        notifier.receive([alert("Down", cluster="eu")], now_ms=t)
        sent_at.extend(t for _ in notifier.tick(t))
        status = notifier.alerts(t)[0]
        muted = 2 * M <= t < 10 * M
        assert (status.state is AlertState.SUPPRESSED) == muted, t
        assert status.silenced_by == ((sid,) if muted else ())
    # First flush at 30s (before the silence starts); muted flushes send nothing; at 10m the
    # silence ends, but nothing changed and repeat_interval (4h) has not passed.
    assert sent_at == [30 * S]


def test_silence_created_before_first_flush_holds_back_until_it_expires() -> None:
    notifier, _ = make()
    sid = notifier.silences.create(["alertname=Down"], 0, 10 * H, "ana", "noisy", now_ms=0)
    notifier.receive([alert("Down")], now_ms=0)
    assert notifier.tick(30 * S) == []
    notifier.silences.expire(sid, now_ms=5 * M)
    notifier.receive([alert("Down")], now_ms=5 * M)
    assert [n.status for n in notifier.tick(5 * M + 30 * S)] == ["firing"]
    assert notifier.silences.list(6 * M, SilenceState.EXPIRED)[0].id == sid


def test_silence_validation_mirrors_alertmanager() -> None:
    silences = Silences()
    cases = [
        ([], 0, M, "no matcher", "at least one matcher required"),
        (["a=~.*"], 0, M, "match all", "must not match the empty string"),
        (["a=b"], M, M, "empty range", "start time must be before end time"),
        (["a=b"], 0, M, "past", "end time can't be in the past"),
        (['a="b'], 0, 10 * M, "bad", "invalid matcher"),
    ]
    for matchers, start, end, comment, message in cases:
        with pytest.raises(SilenceError, match=message):
            silences.create(matchers, start, end, "ana", comment, now_ms=2 * M)
    with pytest.raises(SilenceError, match="missing creator"):
        silences.create(["a=b"], 0, 10 * M, "", "x", now_ms=0)


def test_update_keeps_id_when_allowed_else_replaces() -> None:
    silences = Silences()
    sid = silences.create(["a=b"], 0, H, "ana", "x", now_ms=10 * M)
    assert silences.get(sid).starts_at_ms == 10 * M  # a start in the past means now
    same = silences.update(sid, ["a=b"], 10 * M, 2 * H, "ana", "longer", now_ms=20 * M)
    assert same == sid and silences.get(sid).ends_at_ms == 2 * H
    moved = silences.update(sid, ["a=c"], 10 * M, 2 * H, "ana", "other", now_ms=30 * M)
    assert moved != sid
    assert silences.get(sid).state(30 * M) is SilenceState.EXPIRED
    assert silences.get(moved).starts_at_ms == 30 * M
    with pytest.raises(SilenceError, match="already expired"):
        silences.expire(sid, now_ms=31 * M)
    pending = silences.create(["a=b"], 2 * H, 3 * H, "ana", "later", now_ms=H)
    silences.expire(pending, now_ms=H)
    expired = silences.get(pending)
    assert (expired.starts_at_ms, expired.ends_at_ms) == (H, H)
    with pytest.raises(SilenceError, match="not found"):
        silences.expire("nope", now_ms=H)


def test_inhibition_needs_equal_labels_and_a_firing_source() -> None:
    notifier, _ = make()
    notifier.receive(
        [
            alert("DiskFull", severity="critical", cluster="eu"),
            alert("DiskSlow", severity="warning", cluster="eu"),
            alert("DiskSlow", severity="warning", cluster="us"),
        ],
        now_ms=0,
    )
    by_cluster = {s.alert.labels.get("cluster"): s for s in notifier.alerts(0)}
    critical = by_cluster["eu"]
    statuses = {
        (s.alert.labels.get("severity"), s.alert.labels.get("cluster")): s
        for s in notifier.alerts(0)
    }
    assert critical  # three alerts are known
    assert statuses[("warning", "eu")].inhibited_by == (statuses[("critical", "eu")].fingerprint,)
    assert statuses[("warning", "us")].state is AlertState.ACTIVE
    sent = notifier.tick(30 * S)
    names = sorted((n.group_labels.get("alertname"), n.group_labels.get("cluster")) for n in sent)
    assert names == [("DiskFull", "eu"), ("DiskSlow", "us")]
    # The source resolves: the target is no longer inhibited and notifies at the next flush.
    resolved = NotifyAlert(
        Labels.of({"alertname": "DiskFull", "severity": "critical", "cluster": "eu"}),
        ends_at_ms=M,
    )
    notifier.receive([resolved], now_ms=M)
    later = notifier.tick(M + 30 * S)
    assert sorted((n.group_labels.get("alertname"), n.status) for n in later) == [
        ("DiskFull", "resolved"),
        ("DiskSlow", "firing"),
    ]


def test_an_alert_matching_both_sides_does_not_inhibit_itself() -> None:
    notifier, _ = make()
    # Maintenance matches the source of rule 2 and (alertname=~".+") its target.
    notifier.receive([alert("Maintenance"), alert("Other")], now_ms=0)
    statuses = {s.alert.labels.get("alertname"): s for s in notifier.alerts(0)}
    assert statuses["Maintenance"].state is AlertState.ACTIVE
    assert statuses["Other"].state is AlertState.SUPPRESSED
