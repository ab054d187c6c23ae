"""Exact timelines of the dispatcher: group_wait, group_interval, repeat_interval, resolved
notifications and group removal, as Alertmanager schedules them."""

from __future__ import annotations

from collector.model import Labels
from slo.notify.config import parse_config
from slo.notify.model import Notification, NotifyAlert
from slo.notify.notifier import Notifier

S = 1000
M = 60 * S
H = 60 * M

CONFIG = """
global: {resolve_timeout: 5m}
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: team
  webhook_configs: [{url: "http://127.0.0.1:1/hook"}]
- name: quiet
"""


def make(config: str = CONFIG) -> tuple[Notifier, list[Notification]]:
    sent: list[Notification] = []
    return Notifier(parse_config(config, "am.yml"), None, sent.append), sent


def alert(name: str = "Down", ends_at_ms: int = 0, starts_at_ms: int = 0, **labels: str):
    return NotifyAlert(
        Labels.of({"alertname": name, **labels}), starts_at_ms=starts_at_ms, ends_at_ms=ends_at_ms
    )


def run(notifier: Notifier, times: range | list[int]) -> list[tuple[int, Notification]]:
    """Tick at every time; return (time, notification) for each one sent."""
    out = []
    for t in times:
        out.extend((t, n) for n in notifier.tick(t))
    return out


def instances(notification: Notification) -> list[str]:
    return [a.labels.get("instance") for a in notification.alerts]


def test_first_notification_waits_exactly_group_wait() -> None:
    notifier, sent = make()
    notifier.receive([alert(instance="a")], now_ms=10 * S)
    assert notifier.tick(40 * S - 1) == []
    [first] = notifier.tick(40 * S)
    assert first.receiver == "team"
    assert first.group_key == '{}:{alertname="Down"}'
    assert first.group_labels == Labels.of({"alertname": "Down"})
    assert first.status == "firing"
    assert first.created_at_ms == 40 * S
    # Firing alerts go out with EndsAt zeroed, as Alertmanager sends them.
    assert first.alerts[0].ends_at_ms == 0
    assert first.alerts[0].starts_at_ms == 10 * S
    assert sent == [first]


def test_alerts_arriving_during_group_wait_are_batched() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="b")], now_ms=0)
    notifier.receive([alert(instance="a")], now_ms=20 * S)
    [first] = notifier.tick(30 * S)
    assert instances(first) == ["a", "b"]


def test_new_alert_waits_for_the_next_group_interval_boundary() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a")], now_ms=0)
    assert len(notifier.tick(30 * S)) == 1
    # Keep "a" alive (as the rule manager re-sends it) and add "b" at 1m.
    notifier.receive([alert(instance="a"), alert(instance="b")], now_ms=1 * M)
    got = run(notifier, range(31 * S, 6 * M, S))
    # Flushes run at 30s + k*5m: "b" goes out at 5m30s, not at 1m + group_wait.
    assert [(t, instances(n)) for t, n in got] == [(5 * M + 30 * S, ["a", "b"])]


def test_unchanged_group_repeats_after_repeat_interval_at_a_flush_tick() -> None:
    config = CONFIG.replace("resolve_timeout: 5m", "resolve_timeout: 10h")
    notifier, _ = make(config)
    notifier.receive([alert(instance="a")], now_ms=0)
    times = [30 * S + k * 5 * M for k in range(0, 100)]
    got = [t for t, _ in run(notifier, times)]
    # Alertmanager repeats only when strictly more than repeat_interval has passed since
    # the last send, so the flush at exactly 4h after it does not send; the next one does.
    assert got == [30 * S, 30 * S + 4 * H + 5 * M, 30 * S + 8 * H + 10 * M]


def test_resolved_alert_gives_resolved_notification_and_group_goes_away() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a")], now_ms=0)
    assert len(notifier.tick(30 * S)) == 1
    notifier.receive([alert(instance="a", ends_at_ms=2 * M)], now_ms=2 * M)
    got = run(notifier, range(31 * S, 11 * M, S))
    assert [t for t, _ in got] == [5 * M + 30 * S]
    resolved = got[0][1]
    assert resolved.status == "resolved"
    assert resolved.alerts[0].ends_at_ms == 2 * M
    assert notifier.groups() == []
    assert notifier.alerts(6 * M) == []


def test_firing_alert_without_end_resolves_after_resolve_timeout() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a")], now_ms=0)
    got = run(notifier, range(0, 15 * M, S))
    # Never re-sent: resolves at 0 + 5m; the 5m30s flush sends it resolved.
    assert [(t, n.status) for t, n in got] == [(30 * S, "firing"), (5 * M + 30 * S, "resolved")]
    assert got[1][1].alerts[0].ends_at_ms == 5 * M


def test_partial_resolution_waits_for_repeat_unless_receiver_sends_resolved() -> None:
    # "quiet" has no integration with send_resolved, so one resolved alert among firing
    # ones changes nothing; "team" (webhook, send_resolved true) is told at the next flush.
    for receiver, expected in (("team", [30 * S, 5 * M + 30 * S]), ("quiet", [30 * S])):
        notifier, _ = make(CONFIG.replace("receiver: team", f"receiver: {receiver}"))
        notifier.receive([alert(instance="a"), alert(instance="b")], now_ms=0)
        notifier.receive([alert(instance="b", ends_at_ms=M)], now_ms=M)
        keep_alive = [alert(instance="a")]
        got = []
        for t in range(0, 9 * M, 30 * S):
            notifier.receive(keep_alive, now_ms=t)
            got.extend(t for _ in notifier.tick(t))
        assert got == expected, receiver


def test_late_group_flushes_at_once() -> None:
    notifier, _ = make()
    # The alert started 10 minutes before it reached the notifier: no point waiting.
    notifier.receive([alert(instance="a", starts_at_ms=M)], now_ms=11 * M)
    assert len(notifier.tick(11 * M)) == 1


def test_group_of_only_resolved_alerts_sends_nothing() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a", starts_at_ms=S, ends_at_ms=5 * S)], now_ms=10 * S)
    assert run(notifier, range(10 * S, 10 * M, S)) == []
    assert notifier.groups() == []


def test_group_by_separates_groups_and_flushes_each() -> None:
    notifier, _ = make()
    notifier.receive([alert("Down"), alert("Slow", instance="x")], now_ms=0)
    got = notifier.tick(30 * S)
    assert sorted(n.group_key for n in got) == ['{}:{alertname="Down"}', '{}:{alertname="Slow"}']


def test_late_ticks_keep_flushes_on_the_group_interval_grid() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a")], now_ms=0)
    assert len(notifier.tick(45 * S)) == 1  # the loop was 15 s late
    assert notifier.next_flush_ms() == 5 * M + 30 * S
    notifier.receive([alert(instance="a")], now_ms=11 * M)
    notifier.tick(11 * M)  # missed the 5m30s and 10m30s flushes entirely
    assert notifier.next_flush_ms() == 15 * M + 30 * S


def test_sink_failure_retries_at_the_next_flush() -> None:
    failures = [RuntimeError("outbox down")]
    delivered: list[Notification] = []

    def sink(notification: Notification) -> None:
        if failures:
            raise failures.pop()
        delivered.append(notification)

    notifier = Notifier(parse_config(CONFIG, "am.yml"), None, sink)
    notifier.receive([alert(instance="a")], now_ms=0)
    assert notifier.tick(30 * S) == []
    notifier.receive([alert(instance="a")], now_ms=5 * M)
    assert len(notifier.tick(5 * M + 30 * S)) == 1
    assert len(delivered) == 1


def test_invalid_alerts_are_rejected_with_a_reason() -> None:
    notifier, _ = make()
    bad = NotifyAlert(Labels.of({"alertname": "X"}), starts_at_ms=10 * S, ends_at_ms=5 * S)
    problems = notifier.receive([bad, NotifyAlert(Labels())], now_ms=20 * S)
    assert len(problems) == 2
    assert "start time must be before end time" in problems[0]
    assert "at least one label" in problems[1]


def test_reload_restarts_groups_without_resending() -> None:
    notifier, _ = make()
    notifier.receive([alert(instance="a")], now_ms=0)
    assert len(notifier.tick(30 * S)) == 1
    moved = CONFIG.replace("group_wait: 30s", "group_wait: 10s")
    notifier.reload(parse_config(moved, "am.yml"), now_ms=M)
    # "a" started long before the new group: it flushes at once, but sends nothing because
    # the notification log remembers the send at 30s.
    assert notifier.next_flush_ms() == M
    assert notifier.tick(M) == []
    notifier.receive([alert(instance="a"), alert(instance="b")], now_ms=2 * M)
    assert [instances(n) for n in notifier.tick(6 * M)] == [["a", "b"]]
