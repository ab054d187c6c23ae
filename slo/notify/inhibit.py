"""Inhibition: a firing alert mutes other alerts (Alertmanager's ``inhibit/inhibit.go``).

An alert is inhibited by a rule when it matches the rule's target matchers and some *other*
alert that is not resolved matches the source matchers and has the same value for every
label in ``equal`` (a label absent from both counts as equal). When an alert matches both
the source and the target side, alerts that also match both sides are not counted as its
sources, so an alert never inhibits itself or a twin. Silenced alerts still inhibit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from slo.notify.alert_store import StoredAlert
from slo.notify.config import InhibitRule
from slo.notify.matchers import matchers_match

__all__ = ["Inhibitor"]


class Inhibitor:
    """Answers "is this alert inhibited, and by which alert?" for a set of rules."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules = tuple(rules)

    def inhibited_by(
        self, labels: Mapping[str, str], alerts: Iterable[StoredAlert], now_ms: int
    ) -> str | None:
        """Fingerprint of an alert that inhibits one with *labels*, or None."""
        if not self.rules:
            return None
        candidates = [a for a in alerts if not a.resolved(now_ms)]
        for rule in self.rules:
            if not matchers_match(rule.target_matchers, labels):
                continue
            both_sides = matchers_match(rule.source_matchers, labels)
            source = _find_source(rule, labels, candidates, exclude_two_sided=both_sides)
            if source is not None:
                return source
        return None


def _find_source(
    rule: InhibitRule,
    labels: Mapping[str, str],
    alerts: Iterable[StoredAlert],
    exclude_two_sided: bool,
) -> str | None:
    for stored in alerts:
        source = dict(stored.alert.labels)
        if not matchers_match(rule.source_matchers, source):
            continue
        if any(source.get(name, "") != labels.get(name, "") for name in rule.equal):
            continue
        if exclude_two_sided and matchers_match(rule.target_matchers, source):
            continue
        return stored.fingerprint
    return None
