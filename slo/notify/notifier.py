"""The notifier: Alertmanager's routing, grouping, silences and inhibition behind one object.

It holds no clock. The caller passes the time to every call: the rule manager calls
:meth:`Notifier.receive` with its alerts, and a loop calls :meth:`Notifier.tick` (say every
second) which flushes the aggregation groups whose timers are due and hands each
:class:`~slo.notify.model.Notification` to the sink (the durable outbox).

>>> from slo.notify.config import parse_config
>>> from slo.notify.model import NotifyAlert
>>> from collector.model import Labels
>>> config = parse_config('''
... route: {receiver: team, group_by: [alertname], group_wait: 30s}
... receivers: [{name: team}]
... ''')
>>> sent = []
>>> notifier = Notifier(config, None, sent.append)
>>> notifier.receive([NotifyAlert(Labels.of({"alertname": "Down"}))], now_ms=0)
[]
>>> notifier.tick(29_999), len(notifier.tick(30_000))
([], 1)
>>> sent[0].receiver, sent[0].group_key, sent[0].status
('team', '{}:{alertname="Down"}', 'firing')
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from collector.model import Labels
from slo.notify.alert_store import AlertStore, StoredAlert, normalize
from slo.notify.config import NotifyConfig, ReceiverConfig
from slo.notify.dispatch import AggregationGroup, Dispatcher
from slo.notify.inhibit import Inhibitor
from slo.notify.model import Notification, NotificationSink, NotifyAlert
from slo.notify.nflog import NotificationLog, needs_update
from slo.notify.routing import Route
from slo.notify.silences import Silences
from slo.notify.state import NotifyState

__all__ = ["AlertState", "AlertStatus", "GroupStatus", "Notifier"]

log = logging.getLogger(__name__)


class AlertState(enum.Enum):
    ACTIVE = "active"
    SUPPRESSED = "suppressed"  # silenced or inhibited


@dataclass(frozen=True)
class AlertStatus:
    """An alert as a dashboard shows it (Alertmanager's ``/api/v2/alerts`` item)."""

    alert: NotifyAlert
    state: AlertState
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    receivers: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return self.alert.fingerprint


@dataclass(frozen=True)
class GroupStatus:
    """An aggregation group (Alertmanager's ``/api/v2/alerts/groups`` item)."""

    group_key: str
    receiver: str
    labels: Labels
    alerts: tuple[AlertStatus, ...]
    next_flush_ms: int


class Notifier:
    """Routes, groups, silences, inhibits and deduplicates alerts into notifications.

    *engine* is the store's SQLAlchemy engine (silences and the notification log persist
    there, in ``notify_*`` tables), or None to keep them in memory only. *external_url* is
    the URL notifications link back to (``externalURL`` in webhook payloads).
    """

    def __init__(
        self,
        config: NotifyConfig,
        engine: Engine | None,
        sink: NotificationSink,
        *,
        external_url: str = "",
    ) -> None:
        self.config = config
        self.external_url = external_url
        self._sink = sink
        self._state = NotifyState(engine) if engine is not None else None
        self._lock = threading.RLock()
        self._alerts = AlertStore()
        self._dispatcher = Dispatcher(Route.build(config.route))
        self._inhibitor = Inhibitor(config.inhibit_rules)
        self._receivers = {r.name: r for r in config.receivers}
        self._silences: Silences | None = None
        self._log: NotificationLog | None = None
        self._latest_ms = 0  # the latest time a caller passed, for views that take none

    # --- lazily loaded persistent parts (no I/O in the constructor) ---------------------

    @property
    def silences(self) -> Silences:
        """The silence API: ``create``, ``update``, ``expire``, ``get``, ``list``."""
        with self._lock:
            if self._silences is None:
                self._silences = Silences(self._state)
            return self._silences

    @property
    def notification_log(self) -> NotificationLog:
        with self._lock:
            if self._log is None:
                self._log = NotificationLog(self._state)
            return self._log

    # --- alerts in ----------------------------------------------------------------------

    def receive(self, alerts: list[NotifyAlert], now_ms: int) -> list[str]:
        """Take alerts (new, repeated or resolved); returns a problem per rejected alert."""
        problems: list[str] = []
        timeout = self.config.global_config.resolve_timeout_ms
        with self._lock:
            self._latest_ms = max(self._latest_ms, now_ms)
            for alert in alerts:
                try:
                    stored = normalize(alert, now_ms, timeout)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                self._dispatcher.insert(self._alerts.put(stored, now_ms), now_ms)
        return problems

    def reload(self, config: NotifyConfig, now_ms: int) -> None:
        """Apply a new configuration. As in Alertmanager, groups start over (with their
        group_wait); the notification log keeps them from re-sending what was sent."""
        with self._lock:
            self.config = config
            self._dispatcher = Dispatcher(Route.build(config.route))
            self._inhibitor = Inhibitor(config.inhibit_rules)
            self._receivers = {r.name: r for r in config.receivers}
            for stored in self._alerts:
                if not stored.resolved(now_ms):
                    self._dispatcher.insert(stored, now_ms)

    # --- timers -------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[Notification]:
        """Flush every group whose timer is due at *now_ms*; returns what went to the sink."""
        with self._lock:
            self._latest_ms = max(self._latest_ms, now_ms)
            sent: list[Notification] = []
            due = self._dispatcher.due(now_ms)
            if due:
                self.silences.refresh()  # another process (the web role) may have changed them
            for group in due:
                self._dispatcher.flush(
                    group, now_ms, lambda g, alerts, t: self._notify(g, alerts, t, sent)
                )
            self._alerts.collect_garbage(now_ms)
            self.silences.collect_garbage(now_ms)
            self.notification_log.collect_garbage(now_ms)
            return sent

    def next_flush_ms(self) -> int | None:
        """When the earliest group timer is due (None without groups)."""
        with self._lock:
            return self._dispatcher.next_flush_ms()

    def _notify(
        self, group: AggregationGroup, alerts: list[NotifyAlert], now_ms: int, sent: list
    ) -> bool:
        receiver = self._receivers[group.receiver]
        sources = list(self._alerts)
        kept = [a for a in alerts if not self._muted(a, sources, now_ms)]
        if not kept:
            return True
        firing = frozenset(a.fingerprint for a in kept if not a.resolved(now_ms))
        resolved = frozenset(a.fingerprint for a in kept if a.resolved(now_ms))
        entry = self.notification_log.get(group.key, receiver.name)
        if not needs_update(
            entry,
            firing,
            resolved,
            send_resolved=receiver.send_resolved,
            repeat_interval_ms=group.route.options.repeat_interval_ms,
            now_ms=now_ms,
        ):
            return True
        notification = _notification(receiver, group, kept, bool(firing), now_ms)
        try:
            self._sink(notification)
        except Exception:  # the sink is another component; the group retries next interval
            log.exception("notification sink failed for %s (%s)", group.key, receiver.name)
            return False
        self.notification_log.log(group.key, receiver.name, firing, resolved, now_ms)
        sent.append(notification)
        return True

    def _muted(self, alert: NotifyAlert, sources: list[StoredAlert], now_ms: int) -> bool:
        labels = dict(alert.labels)
        if self._inhibitor.inhibited_by(labels, sources, now_ms) is not None:
            return True
        return bool(self.silences.mutes(labels, now_ms))

    # --- views for dashboards -----------------------------------------------------------

    def alerts(self, now_ms: int) -> list[AlertStatus]:
        """Alerts not yet resolved, by fingerprint, with why each is muted (if it is)."""
        with self._lock:
            self.silences.refresh()
            sources = list(self._alerts)
            statuses = [
                self._status(s.alert, sources, now_ms) for s in sources if not s.resolved(now_ms)
            ]
            return sorted(statuses, key=lambda s: s.fingerprint)

    def groups(self, now_ms: int | None = None) -> list[GroupStatus]:
        """Aggregation groups and their alerts (resolved ones included until notified);
        statuses are as of *now_ms*, by default the latest time passed to the notifier."""
        with self._lock:
            sources = list(self._alerts)
            at = self._latest_ms if now_ms is None else now_ms
            return [
                GroupStatus(
                    group_key=g.key,
                    receiver=g.receiver,
                    labels=g.labels,
                    alerts=tuple(self._status(s.alert, sources, at) for s in g.alerts.values()),
                    next_flush_ms=g.next_flush_ms,
                )
                for g in self._dispatcher.groups()
            ]

    def _status(self, alert: NotifyAlert, sources: list[StoredAlert], now_ms: int) -> AlertStatus:
        labels = dict(alert.labels)
        silenced = tuple(self.silences.mutes(labels, now_ms))
        source = self._inhibitor.inhibited_by(labels, sources, now_ms)
        inhibited = (source,) if source is not None else ()
        receivers = tuple(sorted({r.receiver for r in self._dispatcher.root.match(labels)}))
        state = AlertState.SUPPRESSED if silenced or inhibited else AlertState.ACTIVE
        return AlertStatus(alert, state, silenced, inhibited, receivers)


def _notification(
    receiver: ReceiverConfig,
    group: AggregationGroup,
    alerts: list[NotifyAlert],
    firing: bool,
    now_ms: int,
) -> Notification:
    return Notification(
        receiver=receiver.name,
        group_key=group.key,
        group_labels=group.labels,
        alerts=tuple(alerts),
        status="firing" if firing else "resolved",
        created_at_ms=now_ms,
    )
