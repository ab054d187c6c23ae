"""Alerts as the Alerts page shows them: pending and firing alerts of the rule manager, each
with what the notifier does with it (routed to which receivers, silenced by which silences,
inhibited by which alert), the alerts other Prometheus servers pushed to the notifier, and
the notification history of the outbox.

Silences themselves are in :mod:`web.queries.silences`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from collector.promql.result import Matrix
from slo.notify.matchers import Matcher, MatcherError, MatchType, matchers_match, parse_matchers
from slo.notify.receivers.payloads import alertmanager_fingerprint
from web.queries import Sources
from web.queries.promql import SeriesPoints, range_query, series_of

__all__ = [
    "STATE_FILTERS",
    "AlertFilterError",
    "AlertRow",
    "DeliveryRow",
    "alert_rows",
    "alerts_over_time",
    "notification_history",
    "parse_alert_filter",
    "pending_deliveries",
    "silence_matchers_for",
]

STATE_FILTERS = ("all", "firing", "pending")
_STATE_ORDER = {"firing": 0, "pending": 1}


class AlertFilterError(ValueError):
    """The page's alert filter does not parse; the message names the field."""


@dataclass(frozen=True)
class AlertRow:
    """One alert. ``source`` is ``rules`` (this server's rule manager) or ``pushed`` (an
    alert another server sent to the notifier). ``notify`` says what the notifier does with
    it: ``active`` (routed to ``receivers``), ``suppressed`` (see ``silenced_by`` and
    ``inhibited_by``), ``not sent`` (pending alerts are never sent), or ``no notifier``."""

    fingerprint: str
    alertname: str
    state: str
    source: str
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook_url: str  # empty unless an http(s) or relative URL
    value: float | None
    active_at_ms: int | None
    fired_at_ms: int | None
    notify: str
    silenced_by: list[str] = field(default_factory=list)
    inhibited_by: list[str] = field(default_factory=list)
    receivers: list[str] = field(default_factory=list)


def safe_link(url: str) -> str:
    """``url`` if a browser may follow it from a page (http, https or relative), else "".

    >>> safe_link("https://wiki/runbook#x"), safe_link("javascript:alert(1)")
    ('https://wiki/runbook#x', '')
    """
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("", "http", "https") and not url.startswith("//") else ""


def parse_alert_filter(text: str) -> list[Matcher]:
    """Alertmanager matchers (``{severity="page", team=~"db|web"}``) to filter alerts by.

    :raise AlertFilterError: naming the field.
    """
    if not text.strip():
        return []
    try:
        return parse_matchers(text)
    except MatcherError as exc:
        raise AlertFilterError(f"filter: {exc}") from None


def _statuses(sources: Sources, now_ms: int) -> dict[str, Any]:
    """The notifier's view of every alert it holds, by fingerprint."""
    if sources.notifier is None:
        return {}
    return {status.fingerprint: status for status in sources.notifier.alerts(now_ms)}


def _notify_fields(sources: Sources, labels: dict[str, str], status: Any, now_ms: int) -> dict:
    if sources.notifier is None:
        return {"notify": "no notifier"}
    if status is None:
        # Not sent (pending): a silence would still mute it once it fires.
        silenced = sources.notifier.silences.mutes(labels, now_ms)
        return {"notify": "not sent", "silenced_by": list(silenced)}
    return {
        "notify": status.state.value,
        "silenced_by": list(status.silenced_by),
        "inhibited_by": list(status.inhibited_by),
        "receivers": list(status.receivers),
    }


def _rule_alert_row(sources: Sources, alert: Any, statuses: dict, now_ms: int) -> AlertRow:
    labels = dict(alert.labels)
    fingerprint = alertmanager_fingerprint(alert.labels)
    return AlertRow(
        fingerprint=fingerprint,
        alertname=labels.get("alertname", ""),
        state=str(alert.state),
        source="rules",
        labels=labels,
        annotations=dict(alert.annotations),
        runbook_url=safe_link(alert.annotations.get("runbook_url", "")),
        value=alert.value,
        active_at_ms=alert.active_at_ms,
        fired_at_ms=alert.fired_at_ms,
        **_notify_fields(sources, labels, statuses.get(fingerprint), now_ms),
    )


def _pushed_row(sources: Sources, status: Any, now_ms: int) -> AlertRow:
    alert = status.alert
    labels = dict(alert.labels)
    return AlertRow(
        fingerprint=status.fingerprint,
        alertname=labels.get("alertname", ""),
        state="firing",
        source="pushed",
        labels=labels,
        annotations=dict(alert.annotations),
        runbook_url=safe_link(alert.annotations.get("runbook_url", "")),
        value=None,
        active_at_ms=alert.starts_at_ms or None,
        fired_at_ms=alert.starts_at_ms or None,
        **_notify_fields(sources, labels, status, now_ms),
    )


def alert_rows(
    sources: Sources, now_ms: int, *, state: str = "all", matchers: Sequence[Matcher] = ()
) -> list[AlertRow]:
    """Pending and firing alerts now (firing first, then by name and labels), those of the
    rule manager and those pushed to the notifier, filtered by ``state`` and ``matchers``."""
    statuses = _statuses(sources, now_ms)
    rules = [] if sources.rule_manager is None else sources.rule_manager.alerts()
    rows = [_rule_alert_row(sources, alert, statuses, now_ms) for alert in rules]
    known = {row.fingerprint for row in rows}
    rows += [_pushed_row(sources, s, now_ms) for fp, s in statuses.items() if fp not in known]
    chosen = [
        row for row in rows if state in ("all", row.state) and matchers_match(matchers, row.labels)
    ]
    return sorted(
        chosen,
        key=lambda r: (_STATE_ORDER.get(r.state, 2), r.alertname, sorted(r.labels.items())),
    )


def silence_matchers_for(labels: dict[str, str]) -> list[str]:
    """Equality matchers for every label of an alert: the pre-filled silence of an alert,
    as Alertmanager's UI makes it.

    >>> silence_matchers_for({"alertname": "Down", "job": 'a"b'})
    ['alertname="Down"', 'job="a\\\\"b"']
    """
    return [str(Matcher(MatchType.EQUAL, k, v)) for k, v in sorted(labels.items())]


def alerts_over_time(
    sources: Sources, start_ms: int, end_ms: int, step_ms: int
) -> list[SeriesPoints]:
    """Pending and firing alerts per alert name over the range, from ``ALERTS``."""
    expr = "sum by (alertname, alertstate) (ALERTS)"
    result = range_query(sources, expr, start_ms, end_ms, step_ms)
    if not isinstance(result.value, Matrix):
        return []
    series = series_of(result)
    named = [
        SeriesPoints(
            f"{s.labels.get('alertname', '')} ({s.labels.get('alertstate', '')})",
            s.labels,
            s.times_ms,
            s.values,
        )
        for s in series
    ]
    return sorted(named, key=lambda s: s.name)


@dataclass(frozen=True)
class DeliveryRow:
    """One notification delivery attempt (or a queued delivery, with ``status`` pending)."""

    time_ms: int
    receiver: str
    integration: str
    group_key: str
    status: str
    attempt: int
    error: str
    next_attempt_ms: int | None = None


def notification_history(
    sources: Sources, start_ms: int, end_ms: int, limit: int = 100
) -> list[DeliveryRow] | None:
    """Delivery attempts within the range, newest first (at most ``limit``); None without
    an outbox. The outbox is asked for its latest 10 x ``limit`` attempts."""
    if sources.outbox is None:
        return None
    rows = [
        DeliveryRow(
            a.time_ms,
            a.receiver,
            a.integration,
            a.group_key,
            getattr(a.status, "value", str(a.status)),
            a.attempt,
            a.error,
        )
        for a in sources.outbox.history(limit * 10)
        if start_ms <= a.time_ms <= end_ms
    ]
    return rows[:limit]


def pending_deliveries(sources: Sources) -> list[DeliveryRow]:
    """Notifications waiting in the outbox (not delivered yet), oldest first."""
    if sources.outbox is None:
        return []
    return [
        DeliveryRow(
            p.created_at_ms,
            p.receiver,
            p.integration,
            p.group_key,
            "pending",
            p.attempts,
            p.last_error,
            p.next_attempt_ms,
        )
        for p in sources.outbox.pending()
    ]
