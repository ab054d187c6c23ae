"""The notifier's configuration: Alertmanager's ``alertmanager.yml``, as frozen dataclasses.

Read a file with :func:`load_config` (or text with :func:`parse_config`); both live in
:mod:`slo.notify.config_loader` and are re-exported here. Every default below is
Alertmanager's, and receiver settings left empty inherit from ``global`` exactly as in
Alertmanager (SMTP settings, ``slack_api_url``, ``http_config``), so a receiver dataclass is
complete: a sender never looks at :class:`GlobalConfig`.

Durations are integer milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from slo.notify.matchers import Matcher

__all__ = [
    "DEFAULT_EMAIL_HTML",
    "DEFAULT_EMAIL_SUBJECT",
    "BasicAuth",
    "EmailConfig",
    "GlobalConfig",
    "HTTPConfig",
    "InhibitRule",
    "NotifyConfig",
    "ReceiverConfig",
    "RouteConfig",
    "SlackConfig",
    "WebhookConfig",
    "load_config",
    "parse_config",
]

#: Alertmanager's defaults (config/config.go and dispatch/route.go).
DEFAULT_RESOLVE_TIMEOUT_MS = 5 * 60_000
DEFAULT_GROUP_WAIT_MS = 30_000
DEFAULT_GROUP_INTERVAL_MS = 5 * 60_000
DEFAULT_REPEAT_INTERVAL_MS = 4 * 3_600_000

#: Email parts Alertmanager fills in when the config leaves them out.
DEFAULT_EMAIL_HTML = '{{ template "email.default.html" . }}'
DEFAULT_EMAIL_SUBJECT = '{{ template "email.default.subject" . }}'


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str = ""


@dataclass(frozen=True)
class HTTPConfig:
    """The part of Prometheus' ``http_config`` a sender needs.

    ``authorization`` is ``(type, credentials)``, e.g. ``("Bearer", "token")``; the legacy
    ``bearer_token`` key is read into it. ``headers`` are extra request headers.
    """

    basic_auth: BasicAuth | None = None
    authorization: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    proxy_url: str = ""
    follow_redirects: bool = True
    tls_insecure_skip_verify: bool = False


@dataclass(frozen=True)
class WebhookConfig:
    """``webhook_configs`` entry: POST Alertmanager's version-4 JSON to ``url``.

    ``max_alerts`` 0 means all alerts; otherwise the payload is truncated to that many and
    ``truncatedAlerts`` says how many were left out.
    """

    url: str
    send_resolved: bool = True
    max_alerts: int = 0
    http_config: HTTPConfig = field(default_factory=HTTPConfig)
    timeout_ms: int = 0  # 0: no timeout of its own (the sender's default applies)


@dataclass(frozen=True)
class SlackConfig:
    """``slack_configs`` entry. Text fields are Go templates, as in Alertmanager."""

    api_url: str
    channel: str = ""
    username: str = '{{ template "slack.default.username" . }}'
    title: str = '{{ template "slack.default.title" . }}'
    text: str = '{{ template "slack.default.text" . }}'
    send_resolved: bool = False
    color: str = '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
    title_link: str = '{{ template "slack.default.titlelink" . }}'
    pretext: str = '{{ template "slack.default.pretext" . }}'
    fallback: str = '{{ template "slack.default.fallback" . }}'
    footer: str = '{{ template "slack.default.footer" . }}'
    icon_emoji: str = '{{ template "slack.default.iconemoji" . }}'
    icon_url: str = '{{ template "slack.default.iconurl" . }}'
    link_names: bool = False
    http_config: HTTPConfig = field(default_factory=HTTPConfig)


@dataclass(frozen=True)
class EmailConfig:
    """``email_configs`` entry, with ``global.smtp_*`` already filled in.

    ``smarthost`` is ``host:port``. ``headers`` are as written (names in canonical
    ``Title-Case``); Alertmanager adds ``Subject`` (:data:`DEFAULT_EMAIL_SUBJECT`), ``To``
    and ``From`` at send time when they are absent, and so should the sender.
    """

    to: str
    from_addr: str
    smarthost: str
    auth_username: str = ""
    auth_password: str = ""
    require_tls: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    send_resolved: bool = False
    hello: str = "localhost"
    auth_identity: str = ""
    auth_secret: str = ""
    html: str = DEFAULT_EMAIL_HTML
    text: str = ""

    @property
    def host(self) -> str:
        return self.smarthost.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.smarthost.rpartition(":")[2])


@dataclass(frozen=True)
class ReceiverConfig:
    """A named receiver and its integrations (a receiver with none is valid: a sink)."""

    name: str
    webhooks: tuple[WebhookConfig, ...] = ()
    slacks: tuple[SlackConfig, ...] = ()
    emails: tuple[EmailConfig, ...] = ()

    @property
    def send_resolved(self) -> bool:
        """Whether any integration wants resolved notifications (used for deduplication)."""
        integrations = (*self.webhooks, *self.slacks, *self.emails)
        return any(i.send_resolved for i in integrations)


@dataclass(frozen=True)
class GlobalConfig:
    resolve_timeout_ms: int = DEFAULT_RESOLVE_TIMEOUT_MS
    http_config: HTTPConfig = field(default_factory=HTTPConfig)
    smtp_from: str = ""
    smtp_hello: str = "localhost"
    smtp_smarthost: str = ""
    smtp_auth_username: str = ""
    smtp_auth_password: str = ""
    smtp_auth_secret: str = ""
    smtp_auth_identity: str = ""
    smtp_require_tls: bool = True
    slack_api_url: str = ""


@dataclass(frozen=True)
class RouteConfig:
    """One node of the routing tree as written. ``None`` means "inherit from the parent".

    ``group_by`` is None when not set (or set to an empty list, which Alertmanager also
    treats as unset); ``group_by_all`` is ``group_by: ['...']``. ``matchers`` holds the
    new-style ``matchers`` and the legacy ``match``/``match_re`` together.
    """

    receiver: str | None = None
    group_by: tuple[str, ...] | None = None
    group_by_all: bool = False
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    group_wait_ms: int | None = None
    group_interval_ms: int | None = None
    repeat_interval_ms: int | None = None
    routes: tuple[RouteConfig, ...] = ()
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()


@dataclass(frozen=True)
class InhibitRule:
    """Mute alerts matching ``target_matchers`` while an alert matching ``source_matchers``
    fires with the same values of the ``equal`` labels."""

    source_matchers: tuple[Matcher, ...] = ()
    target_matchers: tuple[Matcher, ...] = ()
    equal: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotifyConfig:
    """A whole, validated configuration."""

    route: RouteConfig
    receivers: tuple[ReceiverConfig, ...]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    global_config: GlobalConfig = field(default_factory=GlobalConfig)
    templates: tuple[str, ...] = ()
    source: str = ""

    def receiver(self, name: str) -> ReceiverConfig:
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)


def parse_config(text: str, filename: str = "<config>") -> NotifyConfig:
    """Parse Alertmanager YAML; raises ``ConfigError`` listing every problem."""
    from slo.notify.config_loader import parse_config as _parse

    return _parse(text, filename)


def load_config(path: str) -> NotifyConfig:
    """Read and parse an ``alertmanager.yml``; raises ``ConfigError``."""
    from slo.notify.config_loader import load_config as _load

    return _load(path)
