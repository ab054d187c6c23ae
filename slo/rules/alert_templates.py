"""Expanding an alerting rule's label and annotation templates for one alert instance.

A broken template never stops evaluation: like Prometheus, the label or annotation then reads
``<error expanding template: ...>`` and the alert goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from slo.rules.model import QueryFunc
from slo.rules.templates import TemplateError, expand_template

__all__ = ["TemplateContext", "expand_alert_text"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplateContext:
    """What every template of one alert instance sees (``$labels``, ``$value``, ...)."""

    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str]
    external_url: str
    timestamp_ms: int
    query: QueryFunc


def expand_alert_text(text: str, context: TemplateContext, alert_name: str) -> str:
    """Expand ``text``; a template error becomes the text, as Prometheus shows it."""
    if "{{" not in text:
        return text  # no actions: the template would render the text unchanged
    try:
        return expand_template(
            text,
            labels=context.labels,
            value=context.value,
            external_labels=context.external_labels,
            external_url=context.external_url,
            timestamp_ms=context.timestamp_ms,
            query=context.query,
            name=f"__alert_{alert_name}",
        )
    except TemplateError as exc:
        log.warning("expanding alert template failed for %s: %s", alert_name, exc)
        return f"<error expanding template: {exc}>"
