"""Alerting rules at run time: alert instances and their pending -> firing -> resolved life.

This follows Prometheus' ``rules/alerting.go``: every label set the expression returns is an
alert instance, ``pending`` until it has been active for the rule's ``for``, then ``firing``;
when the expression stops returning it, it is resolved (``inactive``) unless
``keep_firing_for`` holds it. Resolved alerts stay 15 minutes so their resolution keeps being
sent. Each evaluation writes ``ALERTS`` (value 1) and ``ALERTS_FOR_STATE`` (value: when the
alert became active, unix seconds) for every pending or firing alert.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from collector.model import METRIC_NAME, Labels
from collector.store.matchers import Matcher
from slo.rules.alert_templates import TemplateContext, expand_alert_text
from slo.rules.model import AlertingRule, QueryFunc
from slo.rules.rule_health import RuleEvalError

__all__ = [
    "ALERTS_FOR_STATE_METRIC",
    "ALERTS_METRIC",
    "Alert",
    "AlertState",
    "AlertingEvaluator",
    "RESOLVED_RETENTION_MS",
]

ALERTS_METRIC = "ALERTS"
ALERTS_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
ALERT_NAME_LABEL = "alertname"
ALERT_STATE_LABEL = "alertstate"
#: How long a resolved alert is kept (and re-sent) so a lost notification is repeated.
RESOLVED_RETENTION_MS = 15 * 60_000
DUPLICATE_ALERT_LABELSET = (
    "vector contains metrics with the same labelset after applying alert labels"
)

Sample = tuple[Labels, int, float]


class AlertState(enum.IntEnum):
    """Ordered so that the rule's state is the maximum of its alerts' states."""

    UNKNOWN = 0
    INACTIVE = 1
    PENDING = 2
    FIRING = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass
class Alert:
    """One alert instance. Times are integer ms since the epoch; ``None`` means not (yet).

    ``resolved_at_ms`` is set once the alert is inactive; ``valid_until_ms`` is the ``endsAt``
    sent while it is active; ``expr`` is the rule's expression (for generator URLs).
    """

    labels: Labels
    annotations: dict[str, str]
    state: AlertState
    value: float
    active_at_ms: int
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    last_sent_at_ms: int | None = None
    valid_until_ms: int | None = None
    keep_firing_since_ms: int | None = None
    expr: str = field(default="", compare=False)

    def copy(self) -> Alert:
        return replace(self, annotations=dict(self.annotations))

    def needs_sending(self, ts_ms: int, resend_delay_ms: int) -> bool:
        """Firing and resolved alerts are (re)sent every resend delay; pending ones never."""
        if self.state is AlertState.PENDING:
            return False
        if self.resolved_at_ms is not None and (
            self.last_sent_at_ms is None or self.resolved_at_ms > self.last_sent_at_ms
        ):
            return True  # resolved since the last send
        return self.last_sent_at_ms is None or self.last_sent_at_ms + resend_delay_ms < ts_ms


class AlertingEvaluator:
    """The run-time state of one :class:`AlertingRule`.

    ``labels`` are the rule's labels merged over its group's (the rule's win). ``restored``
    is False while the rule waits for its ``for`` state to be restored after a restart; until
    then it evaluates but writes no ``ALERTS``/``ALERTS_FOR_STATE`` samples.
    """

    def __init__(
        self,
        rule: AlertingRule,
        *,
        labels: Mapping[str, str],
        external_labels: Mapping[str, str],
        external_url: str,
        restored: bool = True,
    ) -> None:
        self.rule = rule
        self.name = rule.alert
        self.labels = dict(labels)
        self.external_labels = dict(external_labels)
        self.external_url = external_url
        self.restored = restored
        self.active: dict[Labels, Alert] = {}
        self.evaluated = False

    @property
    def hold_ms(self) -> int:
        return self.rule.for_ms

    def eval(self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int) -> list[Sample]:
        """Evaluate at ``ts_ms``; returns the ALERTS samples to write.

        :raise RuleEvalError: duplicate label sets, or more alerts than ``limit`` (the rule's
            alerts are then dropped, as Prometheus does).
        """
        self.evaluated = True
        found = self._alerts_from(query(self.rule.expr, ts_ms - query_offset_ms), ts_ms, query)
        for key, alert in found.items():
            current = self.active.get(key)
            if current is not None and current.state is not AlertState.INACTIVE:
                current.value = alert.value
                current.annotations = alert.annotations
            else:
                self.active[key] = alert
        samples: list[Sample] = []
        active_or_pending = 0
        for key, alert in list(self.active.items()):
            if not self._still_active(key, alert, found, ts_ms):
                continue
            active_or_pending += 1
            self._advance(alert, ts_ms)
            if self.restored:
                samples += self._series_of(alert, ts_ms - query_offset_ms)
        if limit > 0 and active_or_pending > limit:
            self.active = {}
            raise RuleEvalError(f"exceeded limit of {limit} with {active_or_pending} alerts")
        return samples

    def _alerts_from(self, vector, ts_ms: int, query: QueryFunc) -> dict[Labels, Alert]:
        found: dict[Labels, Alert] = {}
        for sample in vector:
            context = TemplateContext(
                labels=dict(sample.labels),
                value=sample.value,
                external_labels=self.external_labels,
                external_url=self.external_url,
                timestamp_ms=ts_ms,
                query=query,
            )
            merged = {k: v for k, v in sample.labels if k != METRIC_NAME}
            for name, text in self.labels.items():
                merged[name] = expand_alert_text(text, context, self.name)
            merged[ALERT_NAME_LABEL] = self.name
            labels = Labels.of(merged)
            if labels in found:
                raise RuleEvalError(DUPLICATE_ALERT_LABELSET)
            annotations = {
                name: expand_alert_text(text, context, self.name)
                for name, text in self.rule.annotations.items()
            }
            found[labels] = Alert(
                labels, annotations, AlertState.PENDING, sample.value, ts_ms, expr=self.rule.expr
            )
        return found

    def _still_active(
        self, key: Labels, alert: Alert, found: Mapping[Labels, Alert], ts_ms: int
    ) -> bool:
        """Resolve an alert the expression no longer returns; False if it is not active."""
        if key in found:
            alert.keep_firing_since_ms = None
            return True
        keep_firing = False
        keep_for = self.rule.keep_firing_for_ms
        if alert.state is AlertState.FIRING and keep_for > 0:
            if alert.keep_firing_since_ms is None:
                alert.keep_firing_since_ms = ts_ms
            keep_firing = ts_ms - alert.keep_firing_since_ms < keep_for
        if alert.state is AlertState.PENDING or (
            alert.resolved_at_ms is not None
            and ts_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
        ):
            del self.active[key]
        if alert.state is not AlertState.INACTIVE and not keep_firing:
            alert.state = AlertState.INACTIVE
            alert.resolved_at_ms = ts_ms
        return keep_firing

    def _advance(self, alert: Alert, ts_ms: int) -> None:
        held = ts_ms - alert.active_at_ms
        if alert.state is AlertState.PENDING and held >= self.hold_ms:
            alert.state = AlertState.FIRING
            alert.fired_at_ms = ts_ms
        if alert.state is AlertState.FIRING and held < self.hold_ms:
            # A restored or copied alert under a longer ``for``: back to pending.
            alert.state = AlertState.PENDING
            alert.fired_at_ms = None
            alert.last_sent_at_ms = None
            alert.keep_firing_since_ms = None

    def _series_of(self, alert: Alert, ts_ms: int) -> list[Sample]:
        # The raw rule labels go first, as in Prometheus: a label whose template expanded to
        # the empty string is absent from the alert but keeps its raw text here.
        base = {**self.labels, **dict(alert.labels), ALERT_NAME_LABEL: self.name}
        alerts = Labels.of(
            {**base, METRIC_NAME: ALERTS_METRIC, ALERT_STATE_LABEL: str(alert.state)}
        )
        for_state = Labels.of({**base, METRIC_NAME: ALERTS_FOR_STATE_METRIC})
        return [(alerts, ts_ms, 1.0), (for_state, ts_ms, float(alert.active_at_ms // 1000))]

    def for_state_matchers(self) -> list[Matcher]:
        """Matchers selecting every ``ALERTS_FOR_STATE`` series of this rule.

        Label values with template syntax are left out: they differ per alert instance.
        """
        wanted = {**self.labels, METRIC_NAME: ALERTS_FOR_STATE_METRIC, ALERT_NAME_LABEL: self.name}
        return [
            Matcher.equal(name, value)
            for name, value in sorted(wanted.items())
            if value and "{{" not in value
        ]

    # -- views ---------------------------------------------------------------------------

    def state(self) -> AlertState:
        """The highest state of the rule's alerts; unknown before the first evaluation."""
        if not self.evaluated:
            return AlertState.UNKNOWN
        return max((a.state for a in self.active.values()), default=AlertState.INACTIVE)

    def alerts(self) -> list[Alert]:
        """Copies of every alert held, resolved ones still retained included."""
        return [alert.copy() for alert in self.active.values()]

    def active_alerts(self) -> list[Alert]:
        """Copies of the pending and firing alerts."""
        return [a.copy() for a in self.active.values() if a.resolved_at_ms is None]

    def alerts_to_send(self, ts_ms: int, resend_delay_ms: int, interval_ms: int) -> list[Alert]:
        """Alerts due to be sent at ``ts_ms``; marks them sent and sets ``valid_until_ms``."""
        due = []
        for alert in self.active.values():
            if alert.needs_sending(ts_ms, resend_delay_ms):
                alert.last_sent_at_ms = ts_ms
                # Survives two missed evaluations or failed sends before Alertmanager times out.
                alert.valid_until_ms = ts_ms + 4 * max(interval_ms, resend_delay_ms)
                due.append(alert.copy())
        return due
