"""One delivery attempt: which integrations a receiver has, sending to one of them, what
came of it, and when to try again.

A receiver's integrations are addressed as Alertmanager names them in its logs:
``webhook[0]``, ``slack[1]``, ``email[0]``. Each is delivered and retried on its own, so a
Slack outage does not hold back the webhook of the same receiver.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass

from slo.notify.config import EmailConfig, ReceiverConfig, SlackConfig, WebhookConfig
from slo.notify.model import Notification
from slo.notify.receivers.email import send_email
from slo.notify.receivers.slack import send_slack
from slo.notify.receivers.transport import DeliveryError, Transport
from slo.notify.receivers.webhook import send_webhook

__all__ = [
    "Backoff",
    "DeliveryResult",
    "DeliveryStatus",
    "IntegrationConfig",
    "deliver",
    "find_integration",
    "integrations",
]

IntegrationConfig = WebhookConfig | SlackConfig | EmailConfig

_SENDERS: dict[str, Callable[..., bool]] = {
    "webhook": send_webhook,
    "slack": send_slack,
    "email": send_email,
}


class DeliveryStatus(enum.Enum):
    """What became of one outbox entry (also the ``status`` of a history record)."""

    DELIVERED = "delivered"  # the receiver accepted it
    RETRYING = "retrying"  # failed; another attempt is scheduled
    FAILED = "failed"  # failed for good (a 4xx, a receiver no longer configured)
    SKIPPED = "skipped"  # nothing to send: only resolved alerts, send_resolved off
    SUPERSEDED = "superseded"  # a newer notification for the same group replaced it


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt, as :meth:`Outbox.deliver_due` reports it."""

    outbox_id: int
    receiver: str
    integration: str
    group_key: str
    status: DeliveryStatus
    attempt: int
    time_ms: int
    error: str = ""
    next_attempt_ms: int | None = None


def integrations(receiver: ReceiverConfig) -> list[tuple[str, IntegrationConfig]]:
    """``[("webhook[0]", cfg), ("slack[0]", cfg), ...]`` in config order."""
    named: list[tuple[str, IntegrationConfig]] = []
    for kind, configs in (
        ("webhook", receiver.webhooks),
        ("slack", receiver.slacks),
        ("email", receiver.emails),
    ):
        named += [(f"{kind}[{i}]", config) for i, config in enumerate(configs)]
    return named


def find_integration(receiver: ReceiverConfig | None, name: str) -> IntegrationConfig | None:
    if receiver is None:
        return None
    return dict(integrations(receiver)).get(name)


def deliver(
    name: str,
    config: IntegrationConfig,
    notification: Notification,
    *,
    external_url: str,
    transport: Transport,
    timeout_s: float,
) -> DeliveryStatus:
    """Send ``notification`` through integration ``name`` (``webhook[0]``...).

    Returns DELIVERED or SKIPPED; raises ``DeliveryError`` (with ``retryable``) otherwise.
    """
    send = _SENDERS.get(name.partition("[")[0])
    if send is None:
        raise DeliveryError(f"unknown integration {name!r}", retryable=False)
    sent = send(
        config, notification, external_url=external_url, transport=transport, timeout_s=timeout_s
    )
    return DeliveryStatus.DELIVERED if sent else DeliveryStatus.SKIPPED


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, capped.

    Attempt ``n`` (1-based, the one that just failed) waits ``initial * multiplier**(n-1)``
    capped at ``maximum``, then scaled by a random factor in ``[1 - jitter, 1]`` so that
    many notifications failing together do not all come back at the same instant.

    >>> b = Backoff(initial_ms=1000, maximum_ms=8000, jitter=0.0)
    >>> [b.delay_ms(n, random.Random(0)) for n in range(1, 6)]
    [1000, 2000, 4000, 8000, 8000]
    """

    initial_ms: int = 1_000
    maximum_ms: int = 5 * 60_000
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial_ms <= 0 or self.maximum_ms < self.initial_ms or self.multiplier < 1:
            raise ValueError("backoff needs 0 < initial_ms <= maximum_ms and multiplier >= 1")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("backoff jitter must be within [0, 1)")

    def delay_ms(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> int:
        """Wait after failed attempt ``attempt``; never shorter than the receiver's
        ``Retry-After`` (itself capped at ``maximum_ms``)."""
        exponent = min(max(attempt - 1, 0), 64)
        base = min(float(self.maximum_ms), self.initial_ms * self.multiplier**exponent)
        delay = base * (1.0 - self.jitter * rng.random())
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s * 1000.0, float(self.maximum_ms)))
        return max(1, int(delay))
