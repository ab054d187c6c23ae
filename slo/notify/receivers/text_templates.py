"""Rendering the Go-template text fields of receiver configs (Slack title, email subject...).

sloscope does not embed Go's template engine. It renders what Alertmanager configs use in
practice: the named default templates (``{{ template "slack.default.title" . }}``), plain
fields of the notification (``{{ .Status }}``, ``{{ .CommonLabels.severity }}``,
``{{ .CommonAnnotations.summary }}``, ``{{ .GroupLabels.alertname }}``, ``{{ .Receiver }}``,
``{{ .ExternalURL }}``, optionally piped to ``toUpper``/``toLower``/``title``) and
``{{ if eq .Status "firing" }}A{{ else }}B{{ end }}``. Any other action is left in the text
verbatim (and logged) so a notification is still delivered and the
unsupported part is visible rather than silently blank.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable

from slo.notify.receivers.payloads import (
    AlertData,
    TemplateData,
    alertmanager_url,
    sorted_pairs,
    subject,
    text_alert_list,
)

__all__ = ["PRODUCT_NAME", "email_html", "email_text", "render"]

log = logging.getLogger(__name__)

#: What ``{{ template "__alertmanager" . }}`` says: the sender is sloscope, on purpose.
PRODUCT_NAME = "sloscope"

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_IF_STATUS = re.compile(
    r'\{\{-?\s*if\s+eq\s+\.Status\s+"(\w+)"\s*-?\}\}(.*?)'
    r"(?:\{\{-?\s*else\s*-?\}\}(.*?))?\{\{-?\s*end\s*-?\}\}",
    re.S,
)
_TEMPLATE_CALL = re.compile(r'template\s+"([^"]+)"\s+\.')
_FIELD = re.compile(r"\.(\w+)(?:\.(\w+))?((?:\s*\|\s*\w+)*)")
_PIPES: dict[str, Callable[[str], str]] = {
    "toUpper": str.upper,
    "toLower": str.lower,
    "title": str.title,
}


def _fallback(data: TemplateData) -> str:
    return f"{subject(data)} | {alertmanager_url(data)}"


_NAMED: dict[str, Callable[[TemplateData], str]] = {
    "__subject": subject,
    "__alertmanager": lambda data: PRODUCT_NAME,
    "__alertmanagerURL": alertmanager_url,
    "__description": lambda data: "",
    "slack.default.title": subject,
    "slack.default.username": lambda data: PRODUCT_NAME,
    "slack.default.fallback": _fallback,
    "slack.default.titlelink": alertmanager_url,
    "slack.default.color": lambda data: "danger" if data.status == "firing" else "good",
    "email.default.subject": subject,
}
_EMPTY_NAMED = {
    "slack.default.callbackid",
    "slack.default.pretext",
    "slack.default.iconemoji",
    "slack.default.iconurl",
    "slack.default.text",
    "slack.default.footer",
}


def _field(data: TemplateData, name: str, key: str | None) -> str | None:
    scalars = {"Status": data.status, "Receiver": data.receiver, "ExternalURL": data.external_url}
    maps = {
        "GroupLabels": dict(data.group_labels),
        "CommonLabels": dict(data.common_labels),
        "CommonAnnotations": dict(data.common_annotations),
    }
    if key is None:
        return scalars.get(name)
    return maps[name].get(key, "") if name in maps else None


def _action(expr: str, data: TemplateData) -> str | None:
    """One ``{{ ... }}``'s output, or None when it is not something we render."""
    if call := _TEMPLATE_CALL.fullmatch(expr):
        name = call.group(1)
        if name in _EMPTY_NAMED:
            return ""
        if name == "email.default.html":
            return email_html(data)
        renderer = _NAMED.get(name)
        return renderer(data) if renderer is not None else None
    field = _FIELD.fullmatch(expr)
    if field is None:
        return None
    value = _field(data, field.group(1), field.group(2))
    if value is None:
        return None
    for pipe in filter(None, (p.strip() for p in field.group(3).split("|"))):
        if pipe not in _PIPES:
            return None
        value = _PIPES[pipe](value)
    return value


def render(text: str, data: TemplateData) -> str:
    """Render a receiver text field for ``data`` (see the module docstring for what works)."""
    if "{{" not in text:
        return text
    text = _IF_STATUS.sub(
        lambda m: m.group(2) if data.status == m.group(1) else (m.group(3) or ""), text
    )
    unsupported: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        rendered = _action(match.group(1), data)
        if rendered is None:
            unsupported.append(match.group(0))
            return match.group(0)
        return rendered

    result = _ACTION.sub(substitute, text)
    if unsupported:
        log.warning("template actions left as written (not supported): %s", unsupported)
    return result


def email_text(data: TemplateData) -> str:
    """The plain-text part: subject, then the firing and the resolved alerts."""
    parts = [subject(data).rstrip(), "", f"View in {PRODUCT_NAME}: {alertmanager_url(data)}"]
    if data.firing:
        parts += ["", f"[{len(data.firing)}] Firing", text_alert_list(data.firing).rstrip()]
    if data.resolved:
        parts += ["", f"[{len(data.resolved)}] Resolved", text_alert_list(data.resolved).rstrip()]
    return "\n".join(parts) + "\n"


def _html_alert(alert: AlertData) -> str:
    esc = html.escape
    labels = "".join(f"{esc(k)} = {esc(v)}<br />" for k, v in sorted_pairs(alert.labels))
    notes = "".join(f"{esc(k)} = {esc(v)}<br />" for k, v in sorted_pairs(alert.annotations))
    heading = "<strong>Annotations</strong><br />" if alert.annotations else ""
    return (
        f'<tr><td class="content-block"><strong>Labels</strong><br />{labels}{heading}{notes}'
        f'<a href="{esc(alert.generator_url, quote=True)}">Source</a><br /></td></tr>'
    )


def email_html(data: TemplateData) -> str:
    """``email.default.html`` without its inlined stylesheet: the same blocks and texts."""
    esc = html.escape
    count = len(data.alerts)
    group = " ".join(f"{esc(k)}={esc(v)}" for k, v in sorted_pairs(data.group_labels))
    banner = "alert-warning" if data.firing else "alert-good"
    rows = [
        f'<tr><td class="alert {banner}">{count} alert{"s" if count > 1 else ""} for {group}'
        "</td></tr>",
        f'<tr><td class="content-block"><a href="{esc(alertmanager_url(data), quote=True)}" '
        f'class="btn-primary">View in {PRODUCT_NAME}</a></td></tr>',
    ]
    if data.firing:
        rows.append(
            f'<tr><td class="content-block"><strong>[{len(data.firing)}] Firing</strong></td></tr>'
        )
        rows += [_html_alert(a) for a in data.firing]
    if data.resolved:
        if data.firing:
            rows.append('<tr><td class="content-block"><br /><hr /><br /></td></tr>')
        rows.append(
            f'<tr><td class="content-block"><strong>[{len(data.resolved)}] Resolved'
            "</strong></td></tr>"
        )
        rows += [_html_alert(a) for a in data.resolved]
    footer = (
        f'<div class="footer"><a href="{esc(data.external_url, quote=True)}">Sent by '
        f"{PRODUCT_NAME}</a></div>"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="UTF-8" />'
        f"<title>{esc(subject(data))}</title></head>\n<body>\n"
        f'<table class="main" width="100%">{"".join(rows)}</table>\n{footer}\n</body></html>\n'
    )
