"""Value checks every spec format shares: PromQL templates, names, labels, durations, zones.

Each check reads a node through a :class:`SpecReader`, records what is wrong, and returns the
checked value or None.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal

import yaml

from collector.promql.errors import PromQLError
from collector.promql.parser import parse
from collector.promql.series_notation import NotationError, parse_duration_ms
from slo.spec.yaml_reader import SpecReader, child

__all__ = [
    "WINDOW_PLACEHOLDER",
    "check_promql",
    "has_window",
    "is_label_name",
    "objective_from_percent",
    "percent_to_fraction",
    "read_fraction_or_percent",
    "read_duration",
    "read_labels",
    "read_promql",
    "read_safe_name",
    "read_time_zone",
]

WINDOW_PLACEHOLDER = "{{.window}}"
# Sloth accepts spaces inside the braces ({{ .window }}); we store the compact spelling.
_WINDOW_RE = re.compile(r"\{\{\s*\.window\s*\}\}")
#: Sloth's safe names: service and SLO names end up in label values and rule group names.
_SAFE_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def has_window(query: str) -> bool:
    return _WINDOW_RE.search(query) is not None


def check_promql(query: str) -> str | None:
    """The parse error of *query* with ``{{.window}}`` read as ``5m``, or None if it parses."""
    rendered = _WINDOW_RE.sub("5m", query)
    if "{{" in rendered:
        return "unknown template variable (only {{.window}} is supported)"
    try:
        parse(rendered)
    except PromQLError as exc:
        return f"invalid PromQL: {str(exc).removeprefix('1:1: parse error: ')}"
    return None


def read_promql(
    reader: SpecReader, node: yaml.Node, path: str, *, require_window: bool = True
) -> str | None:
    """A PromQL template; ``{{ .window }}`` is normalised to ``{{.window}}``."""
    query = reader.text(node, path)
    if query is None:
        return None
    query = _WINDOW_RE.sub(WINDOW_PLACEHOLDER, query.strip())
    if require_window and not has_window(query):
        reader.error(node, path, "the query must contain {{.window}} (the range of rate())")
        return None
    problem = check_promql(query)
    if problem is not None:
        reader.error(node, path, problem)
        return None
    return query


def read_safe_name(reader: SpecReader, node: yaml.Node, path: str) -> str | None:
    """A name that starts and ends alphanumeric and holds only ``A-Za-z0-9._-``."""
    name = reader.text(node, path)
    if name is None:
        return None
    if not _SAFE_NAME.fullmatch(name):
        reader.error(
            node,
            path,
            f"{name!r} must start and end with a letter or digit and contain only letters, "
            "digits, '.', '_' and '-'",
        )
        return None
    return name


def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME.fullmatch(name)) and not name.startswith("__")


def read_labels(
    reader: SpecReader, node: yaml.Node, path: str, *, annotations: bool = False
) -> dict[str, str] | None:
    """Labels (or annotations): Prometheus label names, non-empty values."""
    values = reader.string_map(node, path)
    if values is None or not isinstance(node, yaml.MappingNode):
        return values
    kind = "annotation" if annotations else "label"
    ok = True
    for key_node, value_node in node.value:
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if name is None or name not in values:
            continue
        if not is_label_name(name):
            reader.error(
                key_node,
                child(path, name),
                f"invalid {kind} name: use letters, digits and '_', not starting with a digit "
                "or '__'",
            )
            ok = False
        elif not values[name]:
            reader.error(value_node, child(path, name), f"{kind} value must not be empty")
            ok = False
    return values if ok else None


def read_duration(
    reader: SpecReader, node: yaml.Node, path: str, *, allow_zero: bool = False
) -> int | None:
    """A Prometheus duration (``30d``, ``1h30m``) in milliseconds."""
    text = reader.text(node, path)
    if text is None:
        return None
    try:
        ms = parse_duration_ms(text)
    except NotationError:
        reader.error(node, path, f"expected a duration like 30d or 1h30m, got {text!r}")
        return None
    if ms == 0 and not allow_zero:
        reader.error(node, path, "must be longer than 0")
        return None
    return ms


def read_time_zone(reader: SpecReader, node: yaml.Node, path: str) -> str | None:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``)."""
    name = reader.text(node, path)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.error(node, path, f"unknown time zone {name!r} (expected an IANA name)")
        return None
    return name


def read_fraction_or_percent(reader: SpecReader, node: yaml.Node, path: str) -> float | None:
    """Native objectives: a fraction (``0.999``) or a percent string (``99.9%``)."""
    if isinstance(node, yaml.ScalarNode) and node.value.strip().endswith("%"):
        try:
            percent = float(node.value.strip()[:-1])
        except ValueError:
            percent = None
        if percent is None or not 0 < percent < 100:
            reader.error(node, path, f"expected a percent between 0% and 100%, got {node.value}")
            return None
        return percent_to_fraction(percent)
    value = reader.number(node, path)
    if value is None:
        return None
    if not 0 < value < 1:
        hint = f"; write {value:g}% for a percent" if 1 <= value < 100 else ""
        reader.error(node, path, f"expected a fraction between 0 and 1, got {value:g}{hint}")
        return None
    return value


def objective_from_percent(
    reader: SpecReader, node: yaml.Node, path: str, value: float
) -> float | None:
    """A percent objective (Sloth, OpenSLO ``targetPercent``) as a fraction in (0, 1)."""
    if value == 100:
        reader.error(node, path, "an objective of 100% leaves no error budget")
        return None
    if not 0 < value < 100:
        reader.error(node, path, f"expected a percent between 0 and 100, got {value:g}")
        return None
    return percent_to_fraction(value)


def percent_to_fraction(percent: float) -> float:
    """99.9 -> 0.999 exactly as written (plain division gives 0.9990000000000001)."""
    return float(Decimal(repr(percent)) / 100)
