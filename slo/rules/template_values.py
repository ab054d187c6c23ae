"""The Go values a Prometheus template works with, modelled in Python.

Go's text/template is typed: ``gt $value 5`` fails because 5 is an ``int`` and ``$value`` a
``float64``, and ``toUpper $value`` fails because a float is not a string. To give the same
results and the same errors we keep Go's type of every value: ``float`` is float64, ``int`` is
int, ``str`` is string, ``bool`` is bool, ``None`` is a missing (invalid) value, a ``dict`` is a
``map[string]string`` and the classes below stand for the remaining Go types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlertData",
    "AnyMap",
    "GoHTML",
    "QueryResult",
    "TemplateSample",
    "go_kind",
    "go_type",
    "is_true",
]


class GoHTML(str):
    """``html/template.HTML`` (what ``safeHtml`` returns): a string of another Go type."""


class AnyMap(dict[str, Any]):
    """``map[string]interface {}`` (what ``args`` returns): a missing key is a missing value."""


@dataclass
class TemplateSample:
    """Prometheus' ``*template.sample``: one element of a ``query`` result."""

    labels: dict[str, str]
    value: float

    def fields(self) -> Mapping[str, Any]:
        return {"Labels": self.labels, "Value": self.value}


class QueryResult(list[TemplateSample]):
    """Prometheus' ``template.queryResult`` (``[]*template.sample``)."""


@dataclass
class AlertData:
    """The dot of an alert template: ``.Labels``, ``.ExternalLabels``, ``.ExternalURL`` and
    ``.Value``."""

    labels: dict[str, str]
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    value: float = 0.0

    TYPE = (
        "struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value interface {} }"
    )

    def fields(self) -> Mapping[str, Any]:
        return {
            "Labels": self.labels,
            "ExternalLabels": self.external_labels,
            "ExternalURL": self.external_url,
            "Value": self.value,
        }


def go_type(value: Any) -> str:
    """The Go type name of ``value``, as Go's error messages print it."""
    from slo.rules.template_time import GoDuration, GoTime

    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, GoHTML):
        return "template.HTML"
    if isinstance(value, str):
        return "string"
    if isinstance(value, AnyMap):
        return "map[string]interface {}"
    if isinstance(value, dict):
        return "map[string]string"
    if isinstance(value, QueryResult):
        return "template.queryResult"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, TemplateSample):
        return "*template.sample"
    if isinstance(value, AlertData):
        return AlertData.TYPE
    if isinstance(value, GoTime):
        return "*time.Time"
    if isinstance(value, GoDuration):
        return "*time.Duration"
    return "<nil>"


def go_kind(value: Any) -> str:
    """Go's ``reflect.Kind`` of ``value``, after following pointers."""
    from slo.rules.template_time import GoDuration, GoTime

    if value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (GoDuration, GoTime, TemplateSample)):
        return "ptr"  # what toDuration, toTime and query hand out
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    if isinstance(value, AlertData):
        return "struct"
    return "invalid"


def is_true(value: Any) -> bool:
    """Go template truth: the zero value of a type is false, everything else true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, dict, list)):
        return len(value) > 0
    return True  # non-nil pointers and structs
