"""Reading Alertmanager's YAML: defaults, global inheritance, and positioned errors."""

from __future__ import annotations

import pytest

from slo.notify.config import EmailConfig, SlackConfig, WebhookConfig, load_config, parse_config
from slo.notify.yaml_nodes import ConfigError

FULL = """
global:
  resolve_timeout: 1m
  smtp_smarthost: mail.example.com:587
  smtp_from: alerts@example.com
  smtp_auth_username: am
  smtp_auth_password: secret
  smtp_require_tls: false
  slack_api_url: https://hooks.slack.com/services/T/B/X
  http_config:
    basic_auth: {username: u, password: p}
route:
  receiver: all
receivers:
- name: all
  webhook_configs:
  - url: http://127.0.0.1:5001/hook
  - url: https://example.com/hook
    send_resolved: false
    max_alerts: 10
    http_config:
      authorization: {credentials: tok}
      http_headers: {X-Team: {values: [db]}, X-Env: prod}
  slack_configs:
  - channel: '#alerts'
  - api_url: https://slack.example.com/hook
    send_resolved: true
    title: custom
  email_configs:
  - to: oncall@example.com
  - to: db@example.com
    from: db-alerts@example.com
    smarthost: other:25
    require_tls: true
    headers: {subject: hello, x-priority: "1"}
templates: ['/etc/alertmanager/*.tmpl']
"""


def test_defaults_and_global_inheritance() -> None:
    config = parse_config(FULL, "am.yml")
    assert config.global_config.resolve_timeout_ms == 60_000
    receiver = config.receiver("all")
    plain, custom = receiver.webhooks
    assert plain == WebhookConfig(url="http://127.0.0.1:5001/hook", http_config=plain.http_config)
    assert plain.send_resolved and plain.max_alerts == 0
    assert plain.http_config.basic_auth is not None  # from global.http_config
    assert plain.http_config.basic_auth.username == "u"
    assert not custom.send_resolved and custom.max_alerts == 10
    assert custom.http_config.authorization == ("Bearer", "tok")
    assert dict(custom.http_config.headers) == {"X-Team": "db", "X-Env": "prod"}
    inherited, own = receiver.slacks
    assert inherited.api_url == "https://hooks.slack.com/services/T/B/X"
    assert inherited.channel == "#alerts" and not inherited.send_resolved
    assert inherited.title == SlackConfig(api_url="x").title
    assert own.api_url == "https://slack.example.com/hook" and own.title == "custom"
    first, second = receiver.emails
    assert first == EmailConfig(
        to="oncall@example.com",
        from_addr="alerts@example.com",
        smarthost="mail.example.com:587",
        auth_username="am",
        auth_password="secret",
        require_tls=False,
    )
    assert (first.host, first.port) == ("mail.example.com", 587)
    assert second.from_addr == "db-alerts@example.com" and second.require_tls
    assert dict(second.headers) == {"Subject": "hello", "X-Priority": "1"}
    assert receiver.send_resolved
    assert config.templates == ("/etc/alertmanager/*.tmpl",)


def test_route_defaults_match_alertmanager() -> None:
    config = parse_config("route: {receiver: r}\nreceivers: [{name: r}]\n", "am.yml")
    assert config.route.group_by is None and config.route.group_wait_ms is None
    assert config.global_config.resolve_timeout_ms == 5 * 60_000
    assert config.receiver("r").send_resolved is False


BAD = """\
global:
  smtp_smarthost: nohostport
route:
  receiver: missing
  matchers: ['a="b"']
  routes:
  - matchers: ['team=~"("']
    receiver: r
    group_by: [alertname, '...']
    repeat_interval: 0
    whatever: 1
  - match: {1bad: x}
    group_wait: soon
receivers:
- name: r
  webhook_configs: [{url: "not a url"}]
  pagerduty_configs: [{routing_key: x}]
- name: r
- name: s
  email_configs: [{to: a@b}]
  slack_configs: [{}]
inhibit_rules:
- source_matchers: [severity=critical]
  target_matchers: ['severity="warning"']
  equal: [alertname, "bad-name"]
"""


def test_every_problem_is_reported_with_file_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD, "am.yml")
    problems = caught.value.problems
    expected = [
        "am.yml:2:19: global.smtp_smarthost: address 'nohostport' must be host:port",
        "am.yml:4:3: route: root route must not have any matchers",
        "am.yml:4:13: route: undefined receiver 'missing' used in route",
        "am.yml:7:16: route: matchers: invalid regular expression",
        "am.yml:9:15: route: cannot have wildcard group_by",
        "am.yml:10:22: route: repeat_interval cannot be zero",
        "am.yml:11:5: route: unknown field 'whatever'",
        "am.yml:12:19: route: match: invalid label name '1bad'",
        'am.yml:13:17: route: group_wait: not a valid duration: "soon"',
        "am.yml:16:27: receiver 'r': webhook_configs: url: 'not a url' is not an absolute",
        "am.yml:17:22: receiver 'r': pagerduty_configs are not supported",
        "am.yml:18:3: receiver name 'r' is not unique",
        "am.yml:20:19: receiver 's': email_configs: no from address set",
        "am.yml:21:19: receiver 's': slack_configs: no api_url set",
        "am.yml:25:22: inhibit_rules: equal: invalid label name 'bad-name'",
    ]
    expected.sort(key=lambda p: tuple(int(n) for n in p.split(":")[1:3]))
    assert len(problems) == len(expected), problems
    for text, problem in zip(expected, problems, strict=True):
        assert problem.startswith(text), (text, problem)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("route: [x]\n", "am.yml:1:8: route: expected a mapping"),
        ("receivers: []\n", "am.yml:1:1: config: no route provided"),
        ("route: {receiver: r}\nreceivers: [{name: r}]\nbogus: 1\n", "am.yml:3:1: config: unknown"),
        ("route: {receiver: r\n", "am.yml:2:1: invalid YAML"),
        ("route: {}\nreceivers: []\n", "root route must specify a default receiver"),
        ("", "empty notifier config"),
        (
            "route: {receiver: r, continue: true}\nreceivers: [{name: r}]\n",
            "cannot have continue in root route",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: []\n",
            "am.yml:3:17: time_intervals are not supported",
        ),
    ],
)
def test_structural_problems(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "am.yml")
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_load_config_names_an_unreadable_file(tmp_path) -> None:  # noqa: ANN001
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError, match="nope.yml: cannot read notifier config"):
        load_config(str(missing))
    good = tmp_path / "am.yml"
    good.write_text("route: {receiver: r}\nreceivers: [{name: r}]\n", encoding="utf-8")
    assert load_config(str(good)).source == str(good)
