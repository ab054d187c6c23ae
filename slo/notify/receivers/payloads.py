"""What every receiver renders from: Alertmanager's template data and its default texts.

Pure functions, no I/O. The shapes follow Alertmanager 0.25 (``template.Data``,
``template.Alert``, ``template/default.tmpl``) so a message from sloscope reads like one from
Alertmanager, and a webhook consumer written for Alertmanager parses ours unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

from collector.model import Labels
from slo.notify.model import Notification, NotifyAlert

__all__ = [
    "GO_ZERO_TIME",
    "AlertData",
    "TemplateData",
    "alertmanager_fingerprint",
    "alertmanager_url",
    "rfc3339",
    "sorted_pairs",
    "subject",
    "template_data",
    "text_alert_list",
]

#: How Go's ``time.Time{}`` marshals to JSON; Alertmanager sends it for "not set".
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_MASK64 = (1 << 64) - 1
_SEPARATOR = 0xFF
# Go's regexp.QuoteMeta escapes exactly these; Python's re.escape escapes more.
_GO_REGEXP_SPECIALS = frozenset("\\.+*?()|[]{}^$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339(ms: int) -> str:
    """Go's RFC 3339 (nanosecond layout, trailing zeros cut) in UTC; 0 is Go's zero time.

    >>> rfc3339(1700000000120), rfc3339(1700000000000), rfc3339(0)
    ('2023-11-14T22:13:20.12Z', '2023-11-14T22:13:20Z', '0001-01-01T00:00:00Z')
    """
    if ms == 0:
        return GO_ZERO_TIME
    moment = _EPOCH + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{ms % 1000:03d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def alertmanager_fingerprint(labels: Labels) -> str:
    """The fingerprint Alertmanager shows for a label set (Prometheus ``model.Fingerprint``):
    FNV-1a 64 over sorted ``name 0xff value 0xff``, printed as 16 hex digits."""
    digest = _FNV64_OFFSET
    for name, value in sorted(labels):
        for chunk in (name.encode(), value.encode()):
            for byte in chunk:
                digest = ((digest ^ byte) * _FNV64_PRIME) & _MASK64
            digest = ((digest ^ _SEPARATOR) * _FNV64_PRIME) & _MASK64
    return f"{digest:016x}"


def sorted_pairs(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Go's ``KV.SortedPairs``: ``alertname`` first, then by name."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return sorted(items, key=lambda kv: (kv[0] != "alertname", kv[0]))


def _quote_meta(text: str) -> str:
    return "".join("\\" + ch if ch in _GO_REGEXP_SPECIALS else ch for ch in text)


@dataclass(frozen=True)
class AlertData:
    """One alert as templates see it (Alertmanager's ``template.Alert``)."""

    status: str
    labels: Labels
    annotations: Mapping[str, str]
    starts_at_ms: int
    ends_at_ms: int
    generator_url: str
    fingerprint: str

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "labels": dict(self.labels),
            "annotations": dict(sorted(self.annotations.items())),
            "startsAt": rfc3339(self.starts_at_ms),
            "endsAt": rfc3339(self.ends_at_ms),
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class TemplateData:
    """A notification as templates see it (Alertmanager's ``template.Data``)."""

    receiver: str
    status: str
    alerts: tuple[AlertData, ...]
    group_labels: Labels
    common_labels: Labels
    common_annotations: Mapping[str, str]
    external_url: str

    @property
    def firing(self) -> tuple[AlertData, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    @property
    def resolved(self) -> tuple[AlertData, ...]:
        return tuple(a for a in self.alerts if a.status == "resolved")

    def to_json(self) -> dict[str, object]:
        """The fields in the order Go's encoder writes them."""
        return {
            "receiver": self.receiver,
            "status": self.status,
            "alerts": [a.to_json() for a in self.alerts],
            "groupLabels": dict(self.group_labels),
            "commonLabels": dict(self.common_labels),
            "commonAnnotations": dict(sorted(self.common_annotations.items())),
            "externalURL": self.external_url,
        }


def _alert_data(alert: NotifyAlert, now_ms: int) -> AlertData:
    resolved = alert.resolved(now_ms)
    return AlertData(
        status="resolved" if resolved else "firing",
        labels=alert.labels,
        annotations=dict(alert.annotations),
        starts_at_ms=alert.starts_at_ms,
        # Alertmanager zeroes endsAt of alerts still firing when it flushes a group, so a
        # firing alert never shows the timeout it would resolve at.
        ends_at_ms=alert.ends_at_ms if resolved else 0,
        generator_url=alert.generator_url,
        fingerprint=alertmanager_fingerprint(alert.labels),
    )


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


def template_data(
    notification: Notification,
    external_url: str,
    alerts: Iterable[NotifyAlert] | None = None,
) -> TemplateData:
    """Template data for ``notification`` (or for a subset of its alerts, e.g. after
    ``max_alerts`` truncation or dropping resolved alerts); alert status is judged at the
    notification's creation time so rendering is repeatable."""
    chosen = tuple(notification.alerts if alerts is None else alerts)
    rendered = tuple(_alert_data(a, notification.created_at_ms) for a in chosen)
    status = "firing" if any(a.status == "firing" for a in rendered) else "resolved"
    return TemplateData(
        receiver=_quote_meta(notification.receiver),
        status=status if rendered else notification.status,
        alerts=rendered,
        group_labels=notification.group_labels,
        common_labels=Labels.of(_common([dict(a.labels) for a in chosen])),
        common_annotations=_common([a.annotations for a in chosen]),
        external_url=external_url.rstrip("/"),
    )


def alertmanager_url(data: TemplateData) -> str:
    """``__alertmanagerURL``: where the alert list for this receiver is shown."""
    return f"{data.external_url}/#/alerts?receiver={quote_plus(data.receiver)}"


def subject(data: TemplateData) -> str:
    """``__subject`` of Alertmanager's default templates, e.g.
    ``[FIRING:2] HighLatency (api prod)``."""
    head = data.status.upper()
    if data.status == "firing":
        head += f":{len(data.firing)}"
    group_values = " ".join(value for _, value in sorted_pairs(data.group_labels))
    text = f"[{head}] {group_values} "
    if len(data.common_labels) > len(data.group_labels):
        group_names = {name for name, _ in data.group_labels}
        rest = " ".join(v for k, v in sorted_pairs(data.common_labels) if k not in group_names)
        text += f"({rest})"
    return text


def text_alert_list(alerts: Iterable[AlertData]) -> str:
    """``__text_alert_list``: labels, annotations and source of each alert, as plain text."""
    parts: list[str] = []
    for alert in alerts:
        parts.append("Labels:\n")
        parts.extend(f" - {name} = {value}\n" for name, value in sorted_pairs(alert.labels))
        parts.append("Annotations:\n")
        parts.extend(f" - {k} = {v}\n" for k, v in sorted_pairs(alert.annotations))
        parts.append(f"Source: {alert.generator_url}\n")
    return "".join(parts)
