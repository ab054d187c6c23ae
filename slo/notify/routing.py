"""The routing tree: which routes (receiver, grouping, timers) an alert goes to.

Semantics are Alertmanager's ``dispatch/route.go``:

- a node's options start as a copy of its parent's (the root's as Alertmanager's defaults:
  no grouping, group_wait 30s, group_interval 5m, repeat_interval 4h); what the node sets
  overrides them;
- matching is depth first, left to right: a node that matches descends into its children;
  the first matching child ends the search among its siblings unless it has ``continue``;
  a matching node none of whose children match is itself the result.

>>> from slo.notify.config import RouteConfig
>>> root = Route.build(RouteConfig(receiver="default", group_by=("alertname",)))
>>> [r.receiver for r in root.match({"alertname": "Down"})]
['default']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from collector.model import Labels
from slo.notify.config import (
    DEFAULT_GROUP_INTERVAL_MS,
    DEFAULT_GROUP_WAIT_MS,
    DEFAULT_REPEAT_INTERVAL_MS,
    RouteConfig,
)
from slo.notify.matchers import Matcher, go_quote, matchers_match, matchers_string

__all__ = ["Route", "RouteOptions", "group_key", "group_labels"]


@dataclass(frozen=True)
class RouteOptions:
    """What a route does with the alerts it matches, after inheritance."""

    receiver: str = ""
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False
    group_wait_ms: int = DEFAULT_GROUP_WAIT_MS
    group_interval_ms: int = DEFAULT_GROUP_INTERVAL_MS
    repeat_interval_ms: int = DEFAULT_REPEAT_INTERVAL_MS

    def inherit(self, config: RouteConfig) -> RouteOptions:
        """These options as a child written as *config* sees them."""
        group_by, group_by_all = self.group_by, self.group_by_all
        if config.group_by is not None:
            group_by, group_by_all = frozenset(config.group_by), False
        elif config.group_by_all:
            group_by_all = True

        def pick(value: int | None, inherited: int) -> int:
            return inherited if value is None else value

        return RouteOptions(
            receiver=config.receiver or self.receiver,
            group_by=group_by,
            group_by_all=group_by_all,
            group_wait_ms=pick(config.group_wait_ms, self.group_wait_ms),
            group_interval_ms=pick(config.group_interval_ms, self.group_interval_ms),
            repeat_interval_ms=pick(config.repeat_interval_ms, self.repeat_interval_ms),
        )


class Route:
    """One node of the routing tree, built from a :class:`RouteConfig` with inheritance."""

    def __init__(
        self,
        options: RouteOptions,
        matchers: tuple[Matcher, ...],
        continue_: bool,
        parent: Route | None,
    ) -> None:
        self.options = options
        self.matchers = matchers
        self.continue_ = continue_
        self.parent = parent
        self.routes: tuple[Route, ...] = ()
        self.key = (parent.key + "/" if parent else "") + matchers_string(matchers)
        # Unique within a tree: the key plus the position among the parent's children
        # (children are attached one by one, so the count so far is this one's index).
        self.id = self.key + (f"/{len(parent.routes)}" if parent is not None else "")

    @classmethod
    def build(cls, config: RouteConfig, parent: Route | None = None) -> Route:
        base = parent.options if parent is not None else RouteOptions()
        route = cls(base.inherit(config), config.matchers, config.continue_, parent)
        children: list[Route] = []
        for child_config in config.routes:
            # The child's id needs its position, so children are attached one by one.
            child = cls.build(child_config, route)
            children.append(child)
            route.routes = tuple(children)
        return route

    @property
    def receiver(self) -> str:
        return self.options.receiver

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with *labels* is dispatched to, in tree order."""
        if not matchers_match(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            matches = child.match(labels)
            found.extend(matches)
            if matches and not child.continue_:
                break
        return found or [self]

    def walk(self) -> Iterator[Route]:
        """This node and all below it, depth first."""
        yield self
        for child in self.routes:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"Route({self.id!r}, receiver={self.receiver!r})"


def group_labels(labels: Mapping[str, str], options: RouteOptions) -> Labels:
    """The labels that name the alert's aggregation group on a route."""
    if options.group_by_all:
        return Labels.of(labels)
    return Labels.of({k: v for k, v in labels.items() if k in options.group_by})


def group_key(route: Route, labels: Labels) -> str:
    """Alertmanager's group key, ``{}/{severity="page"}:{alertname="Down"}``."""
    text = ", ".join(f"{name}={go_quote(value)}" for name, value in labels)
    return f"{route.key}:{{{text}}}"
