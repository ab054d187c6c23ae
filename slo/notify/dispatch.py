"""Aggregation groups and their timers (Alertmanager's ``dispatch/dispatch.go``), driven by
the caller's clock: :meth:`Dispatcher.insert` takes alerts, :meth:`Dispatcher.due` and
:meth:`Dispatcher.flush` run the timers at a time the caller passes.

A group is one route plus the values of the route's ``group_by`` labels. Its timer:

- a new group first flushes ``group_wait`` after it was created — or at once, if one of its
  alerts started more than ``group_wait`` ago (the group is late; waiting adds nothing);
- after each flush, every ``group_interval`` (on that grid: flushes do not drift when the
  caller ticks late);
- a flush hands the group's alerts to the notify function; when that succeeds, resolved
  alerts leave the group, and a group left empty is removed (Alertmanager removes it at its
  next 30-second maintenance; here it goes at once).

Firing alerts are handed on with ``ends_at_ms`` 0, as Alertmanager zeroes ``EndsAt`` of
alerts that are not resolved when it flushes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from collector.model import Labels
from slo.notify.alert_store import StoredAlert, alert_order
from slo.notify.model import NotifyAlert
from slo.notify.routing import Route, group_key, group_labels

__all__ = ["AggregationGroup", "Dispatcher", "NotifyFunction"]

#: Called with a group, its alerts as they are to be notified, and the flush time; returns
#: True on success (resolved alerts may then be dropped from the group).
NotifyFunction = Callable[["AggregationGroup", list[NotifyAlert], int], bool]


@dataclass
class AggregationGroup:
    """The alerts of one route with the same group labels, and when to flush them next."""

    route: Route
    labels: Labels
    key: str
    next_flush_ms: int
    has_flushed: bool = False
    alerts: dict[str, StoredAlert] = field(default_factory=dict)

    @property
    def receiver(self) -> str:
        return self.route.receiver

    def insert(self, stored: StoredAlert, now_ms: int) -> None:
        self.alerts[stored.fingerprint] = stored
        wait = self.route.options.group_wait_ms
        if not self.has_flushed and stored.alert.starts_at_ms + wait < now_ms:
            self.next_flush_ms = min(self.next_flush_ms, now_ms)

    def snapshot(self, now_ms: int) -> tuple[list[NotifyAlert], list[StoredAlert]]:
        """The alerts to notify at *now_ms* and the resolved ones among the stored."""
        alerts: list[NotifyAlert] = []
        resolved: list[StoredAlert] = []
        for stored in self.alerts.values():
            if stored.resolved(now_ms):
                resolved.append(stored)
                alerts.append(stored.alert)
            else:
                alerts.append(replace(stored.alert, ends_at_ms=0))
        return alert_order(alerts), resolved

    def advance_timer(self, now_ms: int) -> None:
        interval = self.route.options.group_interval_ms
        nxt = self.next_flush_ms + interval
        if nxt <= now_ms:
            nxt += (now_ms - nxt) // interval * interval + interval
        self.next_flush_ms = nxt
        self.has_flushed = True


class Dispatcher:
    """Sorts alerts into aggregation groups per route and flushes groups when due."""

    def __init__(self, root: Route) -> None:
        self.root = root
        self._groups: dict[tuple[str, Labels], AggregationGroup] = {}

    def insert(self, stored: StoredAlert, now_ms: int) -> list[Route]:
        """Put an alert into the group of every route it matches; returns those routes."""
        labels = dict(stored.alert.labels)
        routes = self.root.match(labels)
        for route in routes:
            glabels = group_labels(labels, route.options)
            slot = (route.id, glabels)
            group = self._groups.get(slot)
            if group is None:
                first = now_ms + route.options.group_wait_ms
                group = AggregationGroup(route, glabels, group_key(route, glabels), first)
                self._groups[slot] = group
            group.insert(stored, now_ms)
        return routes

    def groups(self) -> Iterator[AggregationGroup]:
        return iter(sorted(self._groups.values(), key=lambda g: (g.route.id, g.labels)))

    def due(self, now_ms: int) -> list[AggregationGroup]:
        """Groups whose timer has expired, earliest first."""
        due = [g for g in self._groups.values() if g.next_flush_ms <= now_ms]
        return sorted(due, key=lambda g: (g.next_flush_ms, g.route.id, g.labels))

    def next_flush_ms(self) -> int | None:
        """When the earliest timer expires (for a loop deciding how long to sleep)."""
        return min((g.next_flush_ms for g in self._groups.values()), default=None)

    def flush(self, group: AggregationGroup, now_ms: int, notify: NotifyFunction) -> bool:
        """Flush one group at *now_ms*; returns whether *notify* succeeded."""
        group.advance_timer(now_ms)
        if not group.alerts:
            return True
        alerts, resolved = group.snapshot(now_ms)
        ok = notify(group, alerts, now_ms)
        if ok:
            for stored in resolved:
                # Drop it unless a newer version of the alert arrived meanwhile.
                if group.alerts.get(stored.fingerprint) is stored:
                    del group.alerts[stored.fingerprint]
        if not group.alerts:
            self._groups.pop((group.route.id, group.labels), None)
        return ok
