"""SLOs to rule groups: the entry point of :mod:`slo.compile`.

>>> from slo.spec.model import Alerting, EventsSLI, SLO, SourcePosition, Window
>>> slo = SLO(service="shop", name="availability", objective=0.999,
...           window=Window("rolling", 30 * 86_400_000),
...           sli=EventsSLI(error_query='sum(rate(reqs{code=~"5.."}[{{.window}}]))',
...                         total_query="sum(rate(reqs[{{.window}}]))"),
...           alerting=Alerting(name="ShopAvailability"),
...           source=SourcePosition("slos.yml", 3, 5))
>>> for group in compile_slo(slo):
...     print(group.name, len(group.rules))
sloth-slo-sli-recordings-shop-availability 10
sloth-slo-meta-recordings-shop-availability 7
sloth-slo-alerts-shop-availability 2
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from slo.compile.alerts import DEFAULT_ALERT_NAME, alert_group
from slo.compile.errors import CompileError
from slo.compile.recording import meta_recordings, sli_recordings
from slo.rules.model import RuleGroup
from slo.spec.model import SLO, SLIQueries
from slo.spec.sli_queries import sli_queries

__all__ = ["compile_slo", "compile_slos"]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def compile_slo(slo: SLO, queries: SLIQueries | None = None) -> list[RuleGroup]:
    """The SLI recordings, meta recordings and (unless both tiers are off) alert groups.

    ``queries`` defaults to :func:`slo.spec.sli_queries.sli_queries` of the SLO's SLI.
    Raises :class:`CompileError` (naming the SLO's file:line:column) for SLOs Prometheus
    would reject or that cannot be computed as asked.
    """
    _check(slo)
    queries = queries if queries is not None else sli_queries(slo.sli)
    has_events = queries.error_events is not None and queries.total_events is not None
    if slo.min_traffic is not None and not has_events:
        raise CompileError(
            slo.source,
            "min_traffic needs an SLI with event counts (events, latency, Web Vitals, spans); "
            "a ratio or probe SLI has no total event rate to compare with it",
        )
    groups = [sli_recordings(slo, queries), meta_recordings(slo)]
    alerts = alert_group(slo, guarded=slo.min_traffic is not None)
    if alerts is not None:
        groups.append(alerts)
    return groups


def compile_slos(slos: Iterable[SLO]) -> list[RuleGroup]:
    """:func:`compile_slo` of each SLO in order; two SLOs with one ``sloth_id`` are an error
    (their groups would share names, which Prometheus rejects)."""
    seen: dict[str, SLO] = {}
    groups: list[RuleGroup] = []
    for slo in slos:
        if (first := seen.get(slo.id)) is not None:
            raise CompileError(
                slo.source,
                f'SLO "{slo.name}" of service "{slo.service}" is defined twice '
                f"(first at {first.source}); sloth_id {slo.id!r} must be unique",
            )
        seen[slo.id] = slo
        groups.extend(compile_slo(slo))
    return groups


def _check(slo: SLO) -> None:
    if not 0 < slo.objective < 1:
        raise CompileError(slo.source, f"objective must be between 0 and 1, not {slo.objective}")
    if slo.window.duration_ms <= 0:
        raise CompileError(slo.source, "the SLO window must be longer than zero")
    if slo.min_traffic is not None and slo.min_traffic < 0:
        raise CompileError(slo.source, f"min_traffic must not be negative: {slo.min_traffic}")
    alert_name = slo.alerting.name or DEFAULT_ALERT_NAME
    if not _METRIC_NAME.fullmatch(alert_name):
        raise CompileError(
            slo.source,
            f"invalid alert name {alert_name!r} (Prometheus needs "
            "letters, digits, _ and :, not starting with a digit)",
        )
    alerting = slo.alerting
    for what, names in (
        ("label", slo.labels),
        ("alert label", alerting.labels),
        ("alert annotation", alerting.annotations),
        ("page alert label", alerting.page.labels),
        ("page alert annotation", alerting.page.annotations),
        ("ticket alert label", alerting.ticket.labels),
        ("ticket alert annotation", alerting.ticket.annotations),
    ):
        _check_names(slo, what, names)


def _check_names(slo: SLO, what: str, names: Mapping[str, str]) -> None:
    for name in names:
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            raise CompileError(
                slo.source,
                f"invalid {what} name {name!r} (letters, digits and _, not starting with a "
                "digit or __)",
            )
