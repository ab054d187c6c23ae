"""Reading ``receivers`` and ``global`` from Alertmanager YAML, with ``global`` inheritance.

Alertmanager fills a receiver's empty settings from ``global`` while loading (SMTP settings
for email, ``slack_api_url`` for Slack, ``http_config`` for every HTTP integration) and fails
the load when neither sets a required one; so does this module.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from slo.notify.config import (
    BasicAuth,
    EmailConfig,
    GlobalConfig,
    HTTPConfig,
    ReceiverConfig,
    SlackConfig,
    WebhookConfig,
)
from slo.notify.yaml_nodes import Node, optional

__all__ = ["read_global", "read_receiver"]

_HTTP_KEYS = (
    "basic_auth",
    "authorization",
    "bearer_token",
    "proxy_url",
    "follow_redirects",
    "enable_http2",
    "tls_config",
    "http_headers",
)
# Settings for integrations sloscope does not have; accepted so stock files load, unused.
_OTHER_GLOBALS = (
    "pagerduty_url",
    "opsgenie_api_url",
    "opsgenie_api_key",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_corp_id",
    "victorops_api_url",
    "victorops_api_key",
    "telegram_api_url",
    "webex_api_url",
)
_GLOBAL_TEXT_KEYS = (
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_secret",
    "smtp_auth_identity",
    "slack_api_url",
)
_GLOBAL_KEYS = (
    "resolve_timeout",
    "http_config",
    "smtp_require_tls",
    *_GLOBAL_TEXT_KEYS,
    *_OTHER_GLOBALS,
)
_INTEGRATIONS = ("webhook_configs", "slack_configs", "email_configs")
_UNSUPPORTED_INTEGRATIONS = (
    "pagerduty_configs",
    "opsgenie_configs",
    "pushover_configs",
    "victorops_configs",
    "wechat_configs",
    "sns_configs",
    "telegram_configs",
    "webex_configs",
    "discord_configs",
    "msteams_configs",
)
_WEBHOOK_KEYS = ("url", "send_resolved", "max_alerts", "http_config", "timeout")
_SLACK_TEXT_KEYS = (
    "channel",
    "username",
    "title",
    "text",
    "color",
    "title_link",
    "pretext",
    "fallback",
    "footer",
    "icon_emoji",
    "icon_url",
)
_SLACK_KEYS = ("api_url", "send_resolved", "link_names", "http_config", *_SLACK_TEXT_KEYS)
_EMAIL_TEXT_KEYS = (
    "hello",
    "auth_username",
    "auth_password",
    "auth_secret",
    "auth_identity",
    "html",
    "text",
)
_EMAIL_KEYS = ("to", "from", "smarthost", "headers", "require_tls", "send_resolved")
_EMAIL_KEYS += _EMAIL_TEXT_KEYS


def read_global(node: Node | None) -> GlobalConfig:
    if node is None:
        return GlobalConfig()
    entries = node.mapping("global", _GLOBAL_KEYS)
    values: dict[str, object] = {}
    for key in _GLOBAL_TEXT_KEYS:
        if key in entries:
            values[key] = entries[key].string(f"global.{key}") or ""
    if (timeout := optional(entries, "resolve_timeout", _duration("resolve_timeout"))) is not None:
        values["resolve_timeout_ms"] = timeout
    if (tls := optional(entries, "smtp_require_tls", _bool("smtp_require_tls"))) is not None:
        values["smtp_require_tls"] = tls
    if "http_config" in entries:
        values["http_config"] = read_http_config(entries["http_config"], "global.http_config")
    if values.get("smtp_smarthost"):
        _check_hostport(entries["smtp_smarthost"], "global.smtp_smarthost")
    if values.get("slack_api_url"):
        _check_url(entries["slack_api_url"], "global.slack_api_url", str(values["slack_api_url"]))
    return GlobalConfig(**values)  # type: ignore[arg-type]


def read_receiver(node: Node, glob: GlobalConfig) -> ReceiverConfig | None:
    entries = node.mapping("receiver", ("name", *_INTEGRATIONS, *_UNSUPPORTED_INTEGRATIONS))
    name = optional(entries, "name", lambda n: n.string("receiver name"))
    if not name:
        node.fail("receiver: missing name")
        return None
    for key in _UNSUPPORTED_INTEGRATIONS:
        if key in entries:
            entries[key].fail(f"receiver {name!r}: {key} are not supported by sloscope")
    what = f"receiver {name!r}"
    webhooks = [_webhook(n, glob, what) for n in _items(entries, "webhook_configs", what)]
    slacks = [_slack(n, glob, what) for n in _items(entries, "slack_configs", what)]
    emails = [_email(n, glob, what) for n in _items(entries, "email_configs", what)]
    return ReceiverConfig(
        name=name,
        webhooks=tuple(w for w in webhooks if w is not None),
        slacks=tuple(s for s in slacks if s is not None),
        emails=tuple(e for e in emails if e is not None),
    )


def _items(entries: dict[str, Node], key: str, what: str) -> list[Node]:
    return entries[key].sequence(f"{what}: {key}") if key in entries else []


def _webhook(node: Node, glob: GlobalConfig, what: str) -> WebhookConfig | None:
    where = f"{what}: webhook_configs"
    entries = node.mapping(where, _WEBHOOK_KEYS)
    url = optional(entries, "url", lambda n: n.string(f"{where}: url"))
    if not url:
        node.fail(f"{where}: url must be configured")
        return None
    _check_url(entries["url"], f"{where}: url", url)
    config = WebhookConfig(url=url, http_config=_http(entries, glob, where))
    if (resolved := optional(entries, "send_resolved", _bool(where))) is not None:
        config = replace(config, send_resolved=resolved)
    if (max_alerts := optional(entries, "max_alerts", lambda n: n.integer(where))) is not None:
        if max_alerts < 0:
            entries["max_alerts"].fail(f"{where}: max_alerts must not be negative")
        config = replace(config, max_alerts=max_alerts)
    if (timeout := optional(entries, "timeout", _duration(f"{where}: timeout"))) is not None:
        config = replace(config, timeout_ms=timeout)
    return config


def _slack(node: Node, glob: GlobalConfig, what: str) -> SlackConfig | None:
    where = f"{what}: slack_configs"
    entries = node.mapping(where, _SLACK_KEYS)
    api_url = optional(entries, "api_url", lambda n: n.string(f"{where}: api_url"))
    if api_url:
        _check_url(entries["api_url"], f"{where}: api_url", api_url)
    elif glob.slack_api_url:
        api_url = glob.slack_api_url
    else:
        node.fail(f"{where}: no api_url set and no global slack_api_url")
        return None
    texts = {k: entries[k].string(f"{where}: {k}") or "" for k in _SLACK_TEXT_KEYS if k in entries}
    config = SlackConfig(api_url=api_url, http_config=_http(entries, glob, where), **texts)
    if (resolved := optional(entries, "send_resolved", _bool(where))) is not None:
        config = replace(config, send_resolved=resolved)
    if (link_names := optional(entries, "link_names", _bool(where))) is not None:
        config = replace(config, link_names=link_names)
    return config


def _email(node: Node, glob: GlobalConfig, what: str) -> EmailConfig | None:
    where = f"{what}: email_configs"
    entries = node.mapping(where, _EMAIL_KEYS)
    to = optional(entries, "to", lambda n: n.string(f"{where}: to"))
    if not to:
        node.fail(f"{where}: missing to address")
        return None
    from_addr = optional(entries, "from", lambda n: n.string(f"{where}: from")) or glob.smtp_from
    if not from_addr:
        node.fail(f"{where}: no from address set and no global smtp_from")
    smarthost = optional(entries, "smarthost", lambda n: n.string(where)) or glob.smtp_smarthost
    if not smarthost:
        node.fail(f"{where}: no smarthost set and no global smtp_smarthost")
    elif "smarthost" in entries:
        _check_hostport(entries["smarthost"], f"{where}: smarthost")
    texts = {k: entries[k].string(f"{where}: {k}") or "" for k in _EMAIL_TEXT_KEYS if k in entries}
    for key in ("hello", "auth_username", "auth_password", "auth_secret", "auth_identity"):
        if not texts.get(key):
            texts[key] = getattr(glob, f"smtp_{key}")
    require_tls = optional(entries, "require_tls", _bool(where))
    return EmailConfig(
        to=to,
        from_addr=from_addr,
        smarthost=smarthost,
        require_tls=glob.smtp_require_tls if require_tls is None else require_tls,
        headers=_email_headers(entries.get("headers"), where),
        send_resolved=bool(optional(entries, "send_resolved", _bool(where))),
        **texts,
    )


def _email_headers(node: Node | None, where: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    if node is None:
        return headers
    for name, value in node.items(f"{where}: headers"):
        # Alertmanager stores header names in canonical MIME form and rejects duplicates.
        canonical = "-".join(part.capitalize() for part in name.split("-"))
        if canonical in headers:
            value.fail(f"{where}: duplicate header {canonical!r}")
        headers[canonical] = value.string(f"{where}: headers") or ""
    return headers


def _http(entries: dict[str, Node], glob: GlobalConfig, where: str) -> HTTPConfig:
    if "http_config" not in entries:
        return glob.http_config
    return read_http_config(entries["http_config"], f"{where}: http_config")


def read_http_config(node: Node, where: str) -> HTTPConfig:
    entries = node.mapping(where, _HTTP_KEYS)
    basic = authorization = None
    if "basic_auth" in entries:
        auth = entries["basic_auth"].mapping(f"{where}.basic_auth", ("username", "password"))
        username = optional(auth, "username", lambda n: n.string(where)) or ""
        basic = BasicAuth(username, optional(auth, "password", lambda n: n.string(where)) or "")
    if "authorization" in entries:
        auth = entries["authorization"].mapping(f"{where}.authorization", ("type", "credentials"))
        kind = optional(auth, "type", lambda n: n.string(where)) or "Bearer"
        authorization = (kind, optional(auth, "credentials", lambda n: n.string(where)) or "")
    if token := optional(entries, "bearer_token", lambda n: n.string(where)):
        authorization = ("Bearer", token)
    if basic and authorization:
        node.fail(f"{where}: at most one of basic_auth, authorization and bearer_token")
    tls = {}
    if "tls_config" in entries:
        tls = entries["tls_config"].mapping(f"{where}.tls_config", ("insecure_skip_verify",))
    return HTTPConfig(
        basic_auth=basic,
        authorization=authorization,
        headers=_http_headers(entries.get("http_headers"), where),
        proxy_url=optional(entries, "proxy_url", lambda n: n.string(where)) or "",
        follow_redirects=optional(entries, "follow_redirects", _bool(where)) is not False,
        tls_insecure_skip_verify=bool(optional(tls, "insecure_skip_verify", _bool(where))),
    )


def _http_headers(node: Node | None, where: str) -> dict[str, str]:
    """Prometheus' ``http_headers``: ``Name: {values: [...]}``, or simply ``Name: value``."""
    headers: dict[str, str] = {}
    for name, value in node.items(f"{where}.http_headers") if node else ():
        if value.raw.tag == "tag:yaml.org,2002:map":
            spec = value.mapping(f"{where}.http_headers.{name}", ("values", "secrets"))
            texts = [
                t
                for key in ("values", "secrets")
                if key in spec
                for t, _ in spec[key].strings(where)
            ]
            headers[name] = ", ".join(texts)
        else:
            headers[name] = value.string(f"{where}.http_headers") or ""
    return headers


def _check_url(node: Node, where: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        node.fail(f"{where}: {url!r} is not an absolute http(s) URL")


def _check_hostport(node: Node, where: str) -> None:
    text = node.string(where) or ""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        node.fail(f"{where}: address {text!r} must be host:port")


def _bool(where: str):  # noqa: ANN202 - a small reader factory
    return lambda n: n.boolean(where)


def _duration(where: str):  # noqa: ANN202
    return lambda n: n.duration_ms(where)
