"""The notification log: what was last sent for each (group, receiver), and whether to send
again (Alertmanager's ``nflog`` and ``DedupStage``).

A flush sends a notification when :func:`needs_update` says so:

- never sent before: only if something fires (a group of resolved alerts stays quiet);
- an alert fires that the last notification did not list as firing: send;
- nothing fires any more but the last notification listed firing alerts: send (the
  "resolved" notification, whatever ``send_resolved`` says, so the log is cleared);
- the receiver wants resolved notifications and an alert resolved since: send;
- otherwise only once ``repeat_interval`` has passed — strictly: a flush exactly
  ``repeat_interval`` after the last send does not repeat; the next flush does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["LogEntry", "LogStorage", "NotificationLog", "needs_update"]


@dataclass(frozen=True)
class LogEntry:
    group_key: str
    receiver: str
    firing: frozenset[str]
    resolved: frozenset[str]
    timestamp_ms: int
    expires_at_ms: int


class LogStorage(Protocol):
    """Where log entries persist (:class:`slo.notify.state.NotifyState` is the real one)."""

    def load_log(self) -> list[LogEntry]: ...

    def save_log_entry(self, entry: LogEntry) -> None: ...

    def delete_log_entries(self, keys: Iterable[tuple[str, str]]) -> None: ...


def needs_update(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    *,
    send_resolved: bool,
    repeat_interval_ms: int,
    now_ms: int,
) -> bool:
    """Whether a flush with these firing/resolved fingerprints sends a notification."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.timestamp_ms < now_ms - repeat_interval_ms


class NotificationLog:
    """Last notification per (group key, receiver), persisted through *storage*."""

    #: Alertmanager keeps log entries for its ``--data.retention`` (120h).
    RETENTION_MS = 120 * 3_600_000

    def __init__(self, storage: LogStorage | None = None) -> None:
        self._storage = storage
        self._entries: dict[tuple[str, str], LogEntry] = {}
        if storage is not None:
            self._entries = {(e.group_key, e.receiver): e for e in storage.load_log()}

    def get(self, group_key: str, receiver: str) -> LogEntry | None:
        return self._entries.get((group_key, receiver))

    def log(
        self,
        group_key: str,
        receiver: str,
        firing: frozenset[str],
        resolved: frozenset[str],
        now_ms: int,
    ) -> LogEntry:
        entry = LogEntry(group_key, receiver, firing, resolved, now_ms, now_ms + self.RETENTION_MS)
        if self._storage is not None:
            self._storage.save_log_entry(entry)
        self._entries[(group_key, receiver)] = entry
        return entry

    def entries(self) -> list[LogEntry]:
        return list(self._entries.values())

    def collect_garbage(self, now_ms: int) -> None:
        old = [key for key, e in self._entries.items() if e.expires_at_ms <= now_ms]
        for key in old:
            del self._entries[key]
        if old and self._storage is not None:
            self._storage.delete_log_entries(old)
