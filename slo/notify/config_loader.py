"""Reading Alertmanager's YAML (``route``, ``receivers``, ``inhibit_rules``, ``global``,
``templates``) into :class:`~slo.notify.config.NotifyConfig`, reporting every problem with
its file:line:column.

Validation follows Alertmanager's ``config.Load``: unknown fields are errors, the root route
needs a receiver and no matchers, every receiver a route names must exist, receiver names
are unique, ``group_by: ['...']`` cannot be mixed with label names, and ``group_interval``
and ``repeat_interval`` cannot be zero.
"""

from __future__ import annotations

from slo.notify.config import GlobalConfig, InhibitRule, NotifyConfig, ReceiverConfig, RouteConfig
from slo.notify.config_receivers import read_global, read_receiver
from slo.notify.matchers import Matcher, MatcherError, MatchType, is_label_name, parse_matchers
from slo.notify.yaml_nodes import ConfigError, Node, compose, optional

__all__ = ["load_config", "parse_config"]

_TOP_KEYS = (
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "time_intervals",
    "mute_time_intervals",
)
_ROUTE_KEYS = (
    "receiver",
    "group_by",
    "continue",
    "matchers",
    "match",
    "match_re",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
    "routes",
)
_INHIBIT_KEYS = (
    "source_matchers",
    "source_match",
    "source_match_re",
    "target_matchers",
    "target_match",
    "target_match_re",
    "equal",
)


def load_config(path: str) -> NotifyConfig:
    """Read and parse *path*; an unreadable file is a :class:`ConfigError` too."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read notifier config: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{path}: cannot read notifier config: not UTF-8 ({exc.reason})"]
        ) from None
    return parse_config(text, path)


def parse_config(text: str, filename: str = "<config>") -> NotifyConfig:
    """Parse Alertmanager YAML text; raises :class:`ConfigError` listing every problem."""
    root, problems = compose(text, filename)
    if root is None:
        problems.raise_if_any()
        raise ConfigError([f"{filename}: empty notifier config: a route and receivers are needed"])
    entries = root.mapping("config", _TOP_KEYS)
    for key in ("time_intervals", "mute_time_intervals"):
        if key in entries:
            entries[key].fail(f"{key} are not supported by sloscope yet")
    glob = read_global(entries.get("global"))
    receivers = _receivers(entries.get("receivers"), glob)
    route = None
    if "route" not in entries or entries["route"].is_null:
        root.fail("config: no route provided")
    else:
        used: list[tuple[str, Node]] = []
        route = _route(entries["route"], used)
        _check_root(entries["route"], route)
        names = {r.name for r in receivers}
        for name, node in used:
            if name not in names:
                node.fail(f"route: undefined receiver {name!r} used in route")
    rule_nodes = (
        entries["inhibit_rules"].sequence("inhibit_rules") if "inhibit_rules" in entries else []
    )
    rules = [_inhibit_rule(n) for n in rule_nodes]
    templates = entries["templates"].strings("templates") if "templates" in entries else []
    problems.raise_if_any()
    assert route is not None  # a missing route was reported above
    return NotifyConfig(
        route=route,
        receivers=tuple(receivers),
        inhibit_rules=tuple(rules),
        global_config=glob,
        templates=tuple(t for t, _ in templates),
        source=filename,
    )


def _receivers(node: Node | None, glob: GlobalConfig) -> list[ReceiverConfig]:
    receivers: list[ReceiverConfig] = []
    if node is None:
        return receivers
    seen: set[str] = set()
    for item in node.sequence("receivers"):
        receiver = read_receiver(item, glob)
        if receiver is None:
            continue
        if receiver.name in seen:
            item.fail(f"receiver name {receiver.name!r} is not unique")
            continue
        seen.add(receiver.name)
        receivers.append(receiver)
    return receivers


def _check_root(node: Node, route: RouteConfig) -> None:
    if not route.receiver:
        node.fail("route: root route must specify a default receiver")
    if route.matchers:
        node.fail("route: root route must not have any matchers")
    if route.continue_:
        node.fail("route: cannot have continue in root route")


def _route(node: Node, used: list[tuple[str, Node]]) -> RouteConfig:
    """One routing node as written (inheritance happens in :mod:`slo.notify.routing`).

    Receiver names it uses are appended to *used* with their nodes, to be checked later.
    """
    entries = node.mapping("route", _ROUTE_KEYS)
    group_by, group_by_all = _group_by(entries.get("group_by"))
    matchers = _matchers(entries, "matchers", "match", "match_re", "route")
    intervals = {}
    for key in ("group_wait", "group_interval", "repeat_interval"):
        value = optional(entries, key, lambda n, k=key: n.duration_ms(f"route: {k}"))
        if value == 0 and key != "group_wait":
            entries[key].fail(f"route: {key} cannot be zero")
        intervals[f"{key}_ms"] = value
    receiver = optional(entries, "receiver", lambda n: n.string("route: receiver")) or None
    if receiver:
        used.append((receiver, entries["receiver"]))
    routes = entries["routes"].sequence("routes") if "routes" in entries else []
    return RouteConfig(
        receiver=receiver,
        group_by=group_by,
        group_by_all=group_by_all,
        matchers=tuple(matchers),
        continue_=bool(optional(entries, "continue", lambda n: n.boolean("route: continue"))),
        routes=tuple(_route(child, used) for child in routes),
        mute_time_intervals=_names(entries, "mute_time_intervals"),
        active_time_intervals=_names(entries, "active_time_intervals"),
        **intervals,
    )


def _names(entries: dict[str, Node], key: str) -> tuple[str, ...]:
    if key not in entries:
        return ()
    entries[key].fail(f"route: {key} are not supported by sloscope yet")
    return ()


def _group_by(node: Node | None) -> tuple[tuple[str, ...] | None, bool]:
    if node is None or node.is_null:
        return None, False
    labels: list[str] = []
    wildcard = False
    for name, item in node.strings("route: group_by"):
        if name == "...":
            wildcard = True
        elif not is_label_name(name):
            item.fail(f"route: invalid label name {name!r} in group_by list")
        elif name in labels:
            item.fail(f"route: duplicated label {name!r} in group_by")
        else:
            labels.append(name)
    if wildcard and labels:
        node.fail("route: cannot have wildcard group_by ('...') and other labels at the same time")
    # As in Alertmanager, an empty list does not override the parent's grouping.
    return (tuple(labels) if labels else None), wildcard


def _matchers(entries: dict[str, Node], new: str, eq: str, regex: str, what: str) -> list[Matcher]:
    """New-style matcher lines plus legacy equality and regex maps, in Alertmanager's order."""
    out: list[Matcher] = []
    for legacy, kind in ((eq, MatchType.EQUAL), (regex, MatchType.REGEX)):
        for name, value_node in (
            entries[legacy].items(f"{what}: {legacy}") if legacy in entries else ()
        ):
            value = value_node.string(f"{what}: {legacy}")
            if not is_label_name(name):
                value_node.fail(f"{what}: {legacy}: invalid label name {name!r}")
            elif value is not None:
                try:
                    out.append(Matcher(kind, name, value))
                except MatcherError as exc:
                    value_node.fail(f"{what}: {legacy}: {exc}")
    for line, item in entries[new].strings(f"{what}: {new}") if new in entries else ():
        try:
            out.extend(parse_matchers(line))
        except MatcherError as exc:
            item.fail(f"{what}: {new}: {exc}")
    return sorted(out, key=lambda m: m.sort_key)


def _inhibit_rule(node: Node) -> InhibitRule:
    entries = node.mapping("inhibit_rules", _INHIBIT_KEYS)
    source = _matchers(entries, "source_matchers", "source_match", "source_match_re", "inhibit")
    target = _matchers(entries, "target_matchers", "target_match", "target_match_re", "inhibit")
    equal: list[str] = []
    for name, item in (
        entries["equal"].strings("inhibit_rules: equal") if "equal" in entries else ()
    ):
        if not is_label_name(name):
            item.fail(f"inhibit_rules: equal: invalid label name {name!r}")
        equal.append(name)
    return InhibitRule(tuple(source), tuple(target), tuple(equal))
