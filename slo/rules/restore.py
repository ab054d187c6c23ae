"""Restoring alerts' ``for`` state after a restart, from the stored ``ALERTS_FOR_STATE``.

Prometheus' ``RestoreForState``: after a restart the group evaluates (twice, so recording
rules have caught up), then each pending alert found again looks up its ``ALERTS_FOR_STATE``
series written before the restart (its value: when the alert became active). So that an
alert neither fires early nor has to wait its whole ``for`` again:

- it had already fired: it keeps its old active time and fires at the next evaluation;
- less than ``for_grace_period`` of its ``for`` was left: it fires ``for_grace_period``
  after the restore;
- otherwise: its active time moves forward by the outage, so the time it spent pending
  before the restart still counts.

Only state written within ``outage_tolerance`` before the restore counts, and rules whose
``for`` is shorter than ``for_grace_period`` are not restored at all.
"""

from __future__ import annotations

import logging

from collector.model import METRIC_NAME, Labels, is_stale_nan
from collector.store.interfaces import Querier
from slo.rules.alerting import AlertingEvaluator
from slo.rules.group import GroupEvaluator

__all__ = ["DEFAULT_FOR_GRACE_PERIOD_MS", "DEFAULT_OUTAGE_TOLERANCE_MS", "restore_for_state"]

log = logging.getLogger(__name__)

#: Prometheus' ``--rules.alert.for-outage-tolerance`` and ``--rules.alert.for-grace-period``.
DEFAULT_OUTAGE_TOLERANCE_MS = 3_600_000
DEFAULT_FOR_GRACE_PERIOD_MS = 600_000


def restore_for_state(
    group: GroupEvaluator,
    querier: Querier,
    ts_ms: int,
    *,
    outage_tolerance_ms: int = DEFAULT_OUTAGE_TOLERANCE_MS,
    for_grace_period_ms: int = DEFAULT_FOR_GRACE_PERIOD_MS,
) -> None:
    """Restore the ``for`` state of ``group``'s alerts at ``ts_ms``; marks them restored."""
    for rule in group.alerting():
        try:
            if rule.hold_ms >= for_grace_period_ms:
                _restore_rule(rule, querier, ts_ms, outage_tolerance_ms, for_grace_period_ms)
        except Exception as exc:  # there is no retry: the alerts wait their whole ``for``
            log.error("restoring the 'for' state of %s failed: %s", rule.name, exc)
        rule.restored = True


def _restore_rule(
    rule: AlertingEvaluator, querier: Querier, ts_ms: int, tolerance_ms: int, grace_ms: int
) -> None:
    last: dict[Labels, tuple[int, float]] = {}
    for data in querier.select(rule.for_state_matchers(), ts_ms - tolerance_ms, ts_ms):
        if len(data.timestamps):
            key = Labels(pair for pair in data.labels if pair[0] != METRIC_NAME)
            last[key] = (int(data.timestamps[-1]), float(data.values[-1]))
    for alert in rule.active.values():
        found = last.get(alert.labels)
        if found is None or is_stale_nan(found[1]):
            continue  # no state, or the alert had ended before the restart
        alert.active_at_ms = restored_active_at(
            found, ts_ms, hold_ms=rule.hold_ms, for_grace_period_ms=grace_ms
        )


def restored_active_at(
    last_state: tuple[int, float], ts_ms: int, *, hold_ms: int, for_grace_period_ms: int
) -> int:
    """The active time to give an alert whose last ``ALERTS_FOR_STATE`` sample is
    ``(timestamp_ms, active_at_seconds)``, restored at ``ts_ms`` (whole seconds, as stored)."""
    down_at_ms = last_state[0] // 1000 * 1000
    active_at_ms = int(last_state[1]) * 1000
    remaining_ms = hold_ms - (down_at_ms - active_at_ms)
    if remaining_ms <= 0:
        return active_at_ms  # it was firing: it fires again at the next evaluation
    if remaining_ms < for_grace_period_ms:
        return ts_ms + for_grace_period_ms - hold_ms
    return active_at_ms + (ts_ms - down_at_ms)
