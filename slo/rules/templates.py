"""Alert label and annotation templates, expanded the way Prometheus expands them.

Prometheus runs Go's text/template with its own functions over every alert's labels and
annotations, after prepending (on the same line) ``{{$labels := .Labels}}``,
``{{$externalLabels := .ExternalLabels}}``, ``{{$externalURL := .ExternalURL}}`` and
``{{$value := .Value}}``.
We do the same with a parser and executor of our own (``template_parse``, ``template_eval``),
Prometheus' functions (``template_funcs``) and Go's number formatting (``template_gofmt``), so
``{{ $value }}``, ``{{ $value | humanize }}`` and the error texts read as Prometheus writes them.

>>> expand_template("{{ $labels.job }} at {{ $value | humanizePercentage }}",
...                 labels={"job": "api"}, value=0.1234)
'api at 12.34%'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from slo.rules.model import QueryFunc
from slo.rules.template_eval import TemplateExecError, execute
from slo.rules.template_funcs import FUNCTION_NAMES, template_functions
from slo.rules.template_parse import ParsedTemplate, TemplateSyntaxError, parse_template
from slo.rules.template_values import AlertData

__all__ = ["ALERT_TEMPLATE_DEFS", "TemplateError", "check_template", "expand_template"]

#: What Prometheus puts before every alert template (on the same line, so columns of errors
#: on the first line count these characters too, as Prometheus' do).
ALERT_TEMPLATE_DEFS = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)

_EMPTY: Mapping[str, str] = {}


class TemplateError(ValueError):
    """A template that does not parse or fails to execute.

    ``str(error)`` is Prometheus' text (``error executing template __alert_X: template:
    __alert_X:1:125: executing "__alert_X" at <humanize "abc">: error calling humanize: ...``);
    ``detail`` is Go's text/template message alone (from ``template:`` on).
    """

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@lru_cache(maxsize=2048)
def _parsed(name: str, text: str) -> ParsedTemplate:
    return parse_template(name, ALERT_TEMPLATE_DEFS + text, FUNCTION_NAMES)


def check_template(text: str, name: str = "__alert") -> str | None:
    """Go's parse error for ``text`` as an alert template (what ``promtool check rules``
    reports, e.g. ``template: __alert_X:1: function "nope" not defined``), or None."""
    try:
        _parsed(name, text)
    except TemplateSyntaxError as exc:
        return str(exc)
    return None


def expand_template(
    text: str,
    *,
    labels: Mapping[str, str],
    value: float,
    external_labels: Mapping[str, str] = _EMPTY,
    external_url: str = "",
    timestamp_ms: int = 0,
    query: QueryFunc | None = None,
    name: str = "__alert",
) -> str:
    """Expand one alert label or annotation template.

    :param labels: the alert's labels (``$labels``, ``.Labels``)
    :param value: the alert's sample value (``$value``, ``.Value``)
    :param timestamp_ms: evaluation time: what ``query`` runs at and ``now`` returns
    :param query: runs the ``query`` function's PromQL; None makes ``query`` an error
    :param name: the template's name in error messages; Prometheus uses ``__alert_<alertname>``
    :raise TemplateError: the template does not parse or fails, with Prometheus' message
    """
    if "{{" not in text:
        return text  # no actions: Go would print the text unchanged
    try:
        parsed = _parsed(name, text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"error parsing template {name}: {exc}", str(exc)) from None
    data = AlertData(
        labels=dict(labels),
        external_labels=dict(external_labels),
        external_url=external_url,
        value=float(value),
    )
    functions = template_functions(query, timestamp_ms, external_url)
    try:
        return execute(parsed, data, functions)
    except TemplateExecError as exc:
        raise TemplateError(f"error executing template {name}: {exc}", str(exc)) from None
    except RecursionError:
        message = f"template: {name}: nesting too deep to execute"
        raise TemplateError(f"error executing template {name}: {message}", message) from None
