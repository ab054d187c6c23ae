"""An SLO's multi-window multi-burn-rate alerts: one page and one ticket alert, as in Sloth.

Each alert fires when, for any of its tiers, the error ratio over both the long and the short
window exceeds ``factor x error budget`` (see :mod:`slo.compile.windows`). Two additions:

- Minimum traffic (``SLO.min_traffic``): each window's condition also needs that window's
  total event rate to be at least the minimum, so a handful of failed requests at 3 am does
  not page anyone.
- Inhibition: the ticket alert is ``unless``-ed with the page alert's condition, so the same
  burn does not raise both. Both alerts also carry ``sloth_severity``/``severity`` and the
  ``sloth_id``/``sloth_service``/``sloth_slo`` labels, so an Alertmanager (or sloscope's
  notifier) ``inhibit_rules`` entry keyed on ``sloth_id`` can do the same while a page is
  firing for longer than the condition holds.
"""

from __future__ import annotations

from decimal import Decimal

from slo.compile import naming
from slo.compile.recording import rule_position
from slo.compile.windows import BurnRateTier, burn_rate_tiers, format_number
from slo.rules.model import AlertingRule, RuleGroup
from slo.spec.model import SLO, AlertTier

__all__ = ["DEFAULT_ALERT_NAME", "alert_group", "burn_condition"]

#: Pyrra's alert name, for specs that do not name their alert.
DEFAULT_ALERT_NAME = "ErrorBudgetBurn"

_WHO = "{{$labels.sloth_service}} {{$labels.sloth_slo}}"
_SUMMARY = f"{_WHO} SLO error budget burn rate is over expected."
_TITLE = f"({{severity}}) {_WHO} SLO error budget burn rate is too fast."
_INDENT = "    "


def _indent(text: str) -> str:
    return "\n".join(_INDENT + line for line in text.splitlines())


def _window_check(slo: SLO, window_ms: int, threshold: str, guarded: bool) -> str:
    selector = naming.slo_selector(slo)
    burning = f"{naming.error_ratio_name(window_ms)}{selector} > {threshold}"
    if guarded:
        assert slo.min_traffic is not None
        traffic = f"{naming.total_events_name(window_ms)}{selector}"
        burning = f"({burning}) and ({traffic} >= {format_number(slo.min_traffic)})"
    return f"max({burning}) without (sloth_window)"


def burn_condition(slo: SLO, tiers: list[BurnRateTier], guarded: bool) -> str:
    """``(short and long) or (short and long) ...`` over ``tiers``, Sloth's layout."""
    budget = format_number(Decimal(naming.error_budget(slo)))
    blocks = []
    for tier in tiers:
        threshold = f"({format_number(tier.factor)} * {budget})"
        checks = [_window_check(slo, w, threshold, guarded) for w in tier.windows_ms]
        blocks.append("(\n" + _indent("\nand\n".join(checks)) + "\n)")
    return "\nor\n".join(blocks)


def _alert(slo: SLO, severity: str, tier: AlertTier, expr: str) -> AlertingRule:
    alerting = slo.alerting
    # The SLO's own labels reach the alert through the recorded series it is computed from.
    labels = {
        "sloth_id": slo.id,
        "sloth_service": slo.service,
        "sloth_slo": slo.name,
        "severity": severity,
        **alerting.labels,
        **tier.labels,
        "sloth_severity": severity,
    }
    annotations = {
        "summary": _SUMMARY,
        "title": _TITLE.replace("{severity}", severity),
        **alerting.annotations,
        **tier.annotations,
    }
    return AlertingRule(
        alert=alerting.name or DEFAULT_ALERT_NAME,
        expr=expr,
        for_ms=tier.for_ms,
        labels=labels,
        annotations=annotations,
        position=rule_position(slo),
    )


def alert_group(slo: SLO, guarded: bool) -> RuleGroup | None:
    """``sloth-slo-alerts-<id>``, or None when both tiers are disabled.

    ``guarded``: the SLO has a minimum traffic and its total event rates are recorded.
    """
    tiers = burn_rate_tiers(slo.window.duration_ms)
    page = burn_condition(slo, [t for t in tiers if t.severity == "page"], guarded)
    ticket = burn_condition(slo, [t for t in tiers if t.severity == "ticket"], guarded)
    rules = []
    if slo.alerting.page.enabled:
        rules.append(_alert(slo, "page", slo.alerting.page, page))
    if slo.alerting.ticket.enabled:
        if slo.alerting.page.enabled:
            ticket = f"(\n{_indent(ticket)}\n)\nunless\n(\n{_indent(page)}\n)"
        rules.append(_alert(slo, "ticket", slo.alerting.ticket, ticket))
    if not rules:
        return None
    return RuleGroup(
        name=f"sloth-slo-alerts-{slo.id}",
        file=slo.source.file,
        rules=tuple(rules),
        position=rule_position(slo),
    )
