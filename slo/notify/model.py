"""What flows into the notifier (alerts from the rule manager) and out of it (notifications
for one receiver and one alert group), in Alertmanager's terms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collector.model import Labels

__all__ = ["NotificationSink", "Notification", "NotifyAlert"]


@dataclass(frozen=True)
class NotifyAlert:
    """An alert as Alertmanager holds it. Times are integer milliseconds since the epoch;
    ``ends_at_ms`` is when the alert resolved (or, while firing, when it would time out)."""

    labels: Labels
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at_ms: int = 0
    ends_at_ms: int = 0
    generator_url: str = ""

    def resolved(self, now_ms: int) -> bool:
        return 0 < self.ends_at_ms <= now_ms

    @property
    def fingerprint(self) -> str:
        """The 16-hex-digit id Alertmanager shows for this label set (same algorithm)."""
        from slo.notify.receivers.payloads import alertmanager_fingerprint

        return alertmanager_fingerprint(self.labels)


@dataclass(frozen=True)
class Notification:
    """One message to send: a receiver, an aggregation group and the alerts in it.

    ``status`` is "firing" when any alert fires, else "resolved" (Alertmanager's rule).
    """

    receiver: str
    group_key: str
    group_labels: Labels
    alerts: tuple[NotifyAlert, ...]
    status: str
    created_at_ms: int
    truncated_alerts: int = 0


#: Where the dispatcher hands notifications; the durable outbox is the real one.
NotificationSink = Callable[[Notification], None]
