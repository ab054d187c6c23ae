"""The alerts the notifier knows, keyed by fingerprint, merged as Alertmanager merges them.

When an alert arrives (Alertmanager's ``POST /api/v2/alerts`` and ``provider/mem``):

- no ``starts_at``: it starts now (or at ``ends_at`` if only that is given);
- no ``ends_at``: it is firing and resolves by itself after ``resolve_timeout``; such an
  end time is a *timeout*, weaker than one the sender set;
- an alert already known whose activity overlaps the new one is merged: the earliest start
  wins, and an explicit end time beats a timeout.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace

from collector.model import Labels
from slo.notify.model import NotifyAlert

__all__ = ["AlertStore", "StoredAlert", "alert_order", "normalize"]


@dataclass(frozen=True)
class StoredAlert:
    """An alert as held: ``timeout`` when ``ends_at_ms`` came from ``resolve_timeout``."""

    alert: NotifyAlert
    timeout: bool
    updated_at_ms: int

    @property
    def fingerprint(self) -> str:
        return self.alert.fingerprint

    def resolved(self, now_ms: int) -> bool:
        return self.alert.resolved(now_ms)


def normalize(alert: NotifyAlert, now_ms: int, resolve_timeout_ms: int) -> StoredAlert:
    """Fill in missing start and end times; raise ValueError for an invalid alert."""
    if not alert.labels:
        raise ValueError("at least one label pair required")
    starts, ends, timeout = alert.starts_at_ms, alert.ends_at_ms, False
    if starts <= 0:
        starts = ends if ends > 0 else now_ms
    if ends <= 0:
        ends, timeout = now_ms + resolve_timeout_ms, True
    if ends < starts:
        raise ValueError(f"{alert.labels}: start time must be before end time")
    fixed = replace(alert, starts_at_ms=starts, ends_at_ms=ends)
    return StoredAlert(fixed, timeout, now_ms)


def merge(old: StoredAlert, new: StoredAlert, now_ms: int) -> StoredAlert:
    """Alertmanager's ``Alert.Merge`` of an older and a younger version of one alert."""
    if new.updated_at_ms < old.updated_at_ms:
        old, new = new, old
    starts = min(old.alert.starts_at_ms, new.alert.starts_at_ms)
    ends, timeout = new.alert.ends_at_ms, new.timeout
    if new.resolved(now_ms):
        # The latest explicit resolution wins if both are resolved.
        if old.resolved(now_ms) and old.alert.ends_at_ms > ends:
            ends, timeout = old.alert.ends_at_ms, old.timeout
    elif old.alert.ends_at_ms > ends and not old.timeout:
        # A later end time the sender set beats a timeout.
        ends, timeout = old.alert.ends_at_ms, False
    alert = replace(new.alert, starts_at_ms=starts, ends_at_ms=ends)
    return StoredAlert(alert, timeout, new.updated_at_ms)


def _overlaps(old: NotifyAlert, new: NotifyAlert) -> bool:
    ends_inside = old.starts_at_ms < new.ends_at_ms < old.ends_at_ms
    starts_inside = old.starts_at_ms < new.starts_at_ms < old.ends_at_ms
    return ends_inside or starts_inside


class AlertStore:
    """Every alert by fingerprint (the sources for inhibition, the list for dashboards)."""

    #: Alertmanager forgets resolved alerts at its 30-minute garbage collection.
    GC_AFTER_MS = 30 * 60_000

    def __init__(self) -> None:
        self._alerts: dict[str, StoredAlert] = {}

    def put(self, incoming: StoredAlert, now_ms: int) -> StoredAlert:
        """Store *incoming*, merged with the known version when their activity overlaps."""
        old = self._alerts.get(incoming.fingerprint)
        if old is not None and _overlaps(old.alert, incoming.alert):
            incoming = merge(old, incoming, now_ms)
        self._alerts[incoming.fingerprint] = incoming
        return incoming

    def get(self, fingerprint: str) -> StoredAlert | None:
        return self._alerts.get(fingerprint)

    def __iter__(self) -> Iterator[StoredAlert]:
        return iter(list(self._alerts.values()))

    def __len__(self) -> int:
        return len(self._alerts)

    def collect_garbage(self, now_ms: int) -> None:
        """Drop alerts resolved longer than :attr:`GC_AFTER_MS` ago."""
        cut = now_ms - self.GC_AFTER_MS
        for fp, stored in list(self._alerts.items()):
            if stored.alert.ends_at_ms <= cut:
                del self._alerts[fp]


def _label_set_before(a: Labels, b: Labels) -> int:
    """Prometheus' ``LabelSet.Before``: fewer labels first, then by the first difference."""
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    da, db = dict(a), dict(b)
    for name in sorted(da.keys() | db.keys()):
        if name not in da:
            return -1
        if name not in db:
            return 1
        if da[name] != db[name]:
            return -1 if da[name] < db[name] else 1
    return 0


def _compare(a: NotifyAlert, b: NotifyAlert) -> int:
    # Alertmanager sorts by job, then instance (alerts having them first), then labels.
    for name in ("job", "instance"):
        va, vb = a.labels.get(name, None), b.labels.get(name, None)  # type: ignore[arg-type]
        if va is None and vb is None:
            continue
        if va is None:
            return 1
        if vb is None:
            return -1
        if va != vb:
            return -1 if va < vb else 1
    return _label_set_before(a.labels, b.labels)


def alert_order(alerts: list[NotifyAlert]) -> list[NotifyAlert]:
    """*alerts* in the order Alertmanager puts them in a notification."""
    return sorted(alerts, key=functools.cmp_to_key(_compare))
