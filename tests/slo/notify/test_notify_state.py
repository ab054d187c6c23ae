"""Restart: a new Notifier on the same database neither re-sends within repeat_interval nor
loses silences. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from collector.model import Labels
from slo.notify.config import parse_config
from slo.notify.model import Notification, NotifyAlert
from slo.notify.notifier import Notifier
from slo.notify.silences import SilenceState

S, M, H = 1000, 60_000, 3_600_000

CONFIG = parse_config(
    """
route: {receiver: team, group_by: [alertname], group_wait: 30s, group_interval: 5m,
        repeat_interval: 1h}
receivers: [{name: team, webhook_configs: [{url: "http://127.0.0.1:1/"}]}]
""",
    "am.yml",
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine_factory(request: pytest.FixtureRequest, tmp_path) -> Callable[[], Engine]:  # noqa: ANN001
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_database")()
    engines: list[Engine] = []

    def make() -> Engine:
        engines.append(create_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def down(**labels: str) -> NotifyAlert:
    return NotifyAlert(Labels.of({"alertname": "Down", **labels}))


def test_restart_neither_resends_nor_forgets(engine_factory: Callable[[], Engine]) -> None:
    first: list[Notification] = []
    before = Notifier(CONFIG, engine_factory(), first.append)
    before.receive([down(instance="a")], now_ms=0)
    assert len(before.tick(30 * S)) == 1
    sid = before.silences.create(['alertname="Other"'], 0, 2 * H, "ana", "known", now_ms=M)

    # The process restarts at 10 minutes; the rule manager re-sends the firing alert.
    second: list[Notification] = []
    engine = engine_factory()
    after = Notifier(CONFIG, engine, second.append)
    assert {"notify_silences", "notify_log"} <= set(inspect(engine).get_table_names())
    assert [s.id for s in after.silences.list(10 * M, SilenceState.ACTIVE)] == [sid]
    sent_at = []
    for t in range(10 * M, 2 * H, 30 * S):
        after.receive([down(instance="a"), NotifyAlert(Labels.of({"alertname": "Other"}))], t)
        sent_at.extend(t for _ in after.tick(t))
    # Same group, same firing alert: the first send after the restart is the repeat, once
    # more than 1h has passed since the send at 30s (flushes at 10m30s + k*5m).
    assert sent_at == [M * 65 + 30 * S]
    # "Other" stayed silenced the whole time.
    assert all(n.group_labels.get("alertname") == "Down" for n in second)


def test_new_alert_after_restart_is_sent(engine_factory: Callable[[], Engine]) -> None:
    before = Notifier(CONFIG, engine_factory(), lambda n: None)
    before.receive([down(instance="a")], now_ms=0)
    before.tick(30 * S)
    after = Notifier(CONFIG, engine_factory(), lambda n: None)
    after.receive([down(instance="a"), down(instance="b")], now_ms=M)
    [notification] = after.tick(M + 30 * S)
    assert [a.labels.get("instance") for a in notification.alerts] == ["a", "b"]
    entry = after.notification_log.get(notification.group_key, "team")
    assert entry is not None and entry.timestamp_ms == M + 30 * S


def test_expired_silence_and_update_survive_restart(engine_factory: Callable[[], Engine]) -> None:
    before = Notifier(CONFIG, engine_factory(), lambda n: None)
    sid = before.silences.create(["a=b"], 0, H, "ana", "x", now_ms=0)
    before.silences.update(sid, ["a=b"], 0, 3 * H, "ana", "longer", now_ms=M)
    gone = before.silences.create(["c=d"], 0, H, "bo", "y", now_ms=0)
    before.silences.expire(gone, now_ms=2 * M)
    after = Notifier(CONFIG, engine_factory(), lambda n: None)
    kept = after.silences.get(sid)
    assert (kept.ends_at_ms, kept.comment, kept.updated_at_ms) == (3 * H, "longer", M)
    assert after.silences.get(gone).state(3 * M) is SilenceState.EXPIRED
    # Past the retention, the expired silence is deleted from the database too.
    after.tick(2 * M + after.silences.RETENTION_MS)
    final = Notifier(CONFIG, engine_factory(), lambda n: None)
    assert [s.id for s in final.silences.list(0)] == [sid]
