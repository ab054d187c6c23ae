"""The dashboard's only door to data: PromQL over the store, the span store, and the rule
manager and notifier when the server runs them.

Views and chart builders never touch the store, the engine or the rule objects themselves:
they call the functions of this package's modules with a :class:`Sources`.

>>> from collector.store.sql import SqlStore
>>> store = SqlStore("sqlite:///:memory:"); store.open()
>>> sources = Sources(store)
>>> sources.has_traces, sources.has_rules
(False, False)
>>> store.close()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from collector.promql.engine import Engine, EngineOptions
from collector.store.interfaces import Querier
from collector.store.spans import SpanStore

__all__ = ["NotifierLike", "RuleManagerLike", "Sources"]


class RuleManagerLike(Protocol):
    """What the dashboard reads of :class:`slo.rules.manager.RuleManager`."""

    def groups(self) -> list[Any]: ...  # pragma: no cover - protocol

    def alerts(self) -> list[Any]: ...  # pragma: no cover - protocol


class NotifierLike(Protocol):
    """What the dashboard reads of :class:`slo.notify.notifier.Notifier`."""

    def alerts(self, now_ms: int) -> list[Any]: ...  # pragma: no cover - protocol


@dataclass
class Sources:
    """Where the dashboard's data comes from; everything but ``querier`` is optional, and
    pages say so plainly when a source is missing (a collector-less server has no traces)."""

    querier: Querier
    span_store: SpanStore | None = None
    rule_manager: RuleManagerLike | None = None
    notifier: NotifierLike | None = None
    #: the SLOs the server compiled from ``slo.files`` (``slo.spec.model.SLO``)
    slos: tuple[Any, ...] = ()
    #: the notifier's durable outbox (``slo.notify.outbox.Outbox``), for delivery history
    outbox: Any = None
    exemplars: Any = None  # collector.store.exemplars.ExemplarStore
    engine_options: EngineOptions | None = None
    engine: Engine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.querier, self.engine_options)

    @property
    def has_traces(self) -> bool:
        return self.span_store is not None

    @property
    def has_rules(self) -> bool:
        return self.rule_manager is not None
