"""The routing tree: matching order, continue, and inheritance of receiver/grouping/timers."""

from __future__ import annotations

from slo.notify.config import parse_config
from slo.notify.routing import Route, group_key, group_labels

TREE = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
  - matchers: ['team="db"']
    receiver: db
    group_interval: 1m
    routes:
    - matchers: ['severity="page"']
      receiver: db-pager
      continue: true
      repeat_interval: 1h
    - match_re: {severity: "page|critical"}
      group_by: ['...']
  - matchers: ['{team=~"web|api", env!="test"}']
    receiver: web
    continue: true
    group_by: [alertname, instance]
  - matchers: ['team="web"']
    receiver: web-audit
  - matchers: ['team="api"']
    receiver: api
    group_by: []
receivers: [{name: default}, {name: db}, {name: db-pager}, {name: web}, {name: web-audit},
            {name: api}]
"""


def routes_for(labels: dict[str, str]) -> list[Route]:
    return Route.build(parse_config(TREE, "am.yml").route).match(labels)


def test_unmatched_alert_goes_to_the_root() -> None:
    [route] = routes_for({"alertname": "X", "team": "other"})
    assert route.receiver == "default"
    assert route.options.group_by == frozenset({"alertname"})
    assert route.options.group_wait_ms == 10_000
    assert route.options.repeat_interval_ms == 4 * 3_600_000


def test_first_matching_child_stops_siblings_and_children_inherit() -> None:
    [route] = routes_for({"alertname": "X", "team": "db", "severity": "warning"})
    assert route.receiver == "db"
    assert route.options.group_interval_ms == 60_000
    assert route.options.group_wait_ms == 10_000  # from the root


def test_continue_on_a_nested_route_reaches_its_next_sibling() -> None:
    found = routes_for({"alertname": "X", "team": "db", "severity": "page"})
    assert [r.receiver for r in found] == ["db-pager", "db"]
    pager, sibling = found
    assert pager.options.repeat_interval_ms == 3_600_000
    assert pager.options.group_interval_ms == 60_000
    # The sibling has no receiver of its own: it inherits "db" and groups by everything.
    assert sibling.options.group_by_all and sibling.options.repeat_interval_ms == 4 * 3_600_000


def test_continue_at_the_top_level_and_negative_matchers() -> None:
    assert [r.receiver for r in routes_for({"team": "web"})] == ["web", "web-audit"]
    assert [r.receiver for r in routes_for({"team": "web", "env": "test"})] == ["web-audit"]


def test_empty_group_by_list_inherits_like_alertmanager() -> None:
    [route] = routes_for({"alertname": "X", "team": "api", "env": "test"})
    assert route.receiver == "api"
    assert route.options.group_by == frozenset({"alertname"})


def test_group_labels_and_keys() -> None:
    labels = {"alertname": "Down", "instance": "h:1", "team": "db", "severity": "page"}
    pager, every = routes_for(labels)
    assert dict(group_labels(labels, pager.options)) == {"alertname": "Down"}
    assert dict(group_labels(labels, every.options)) == labels
    key = group_key(pager, group_labels(labels, pager.options))
    assert key == '{}/{team="db"}/{severity="page"}:{alertname="Down"}'
    regex_key = group_key(every, group_labels({"a": 'q"b'}, every.options))
    assert regex_key == '{}/{team="db"}/{severity=~"page|critical"}:{a="q\\"b"}'


def test_route_ids_are_unique_even_for_equal_matchers() -> None:
    config = parse_config(
        """
route:
  receiver: a
  routes: [{matchers: [x=1], receiver: a}, {matchers: [x=1], receiver: b}]
receivers: [{name: a}, {name: b}]
""",
        "am.yml",
    )
    ids = [r.id for r in Route.build(config.route).walk()]
    assert ids == ["{}", '{}/{x="1"}/0', '{}/{x="1"}/1']
