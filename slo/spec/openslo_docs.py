"""OpenSLO v1 objects by kind and name, across every document of every file read together.

References (``indicatorRef``, ``alertPolicyRef``, ``conditionRef``, ``metricSourceRef``) are
looked up here; each object is read once (:meth:`OpenSLOIndex.parsed`), so a problem in an SLI
shared by three SLOs is reported once, where the SLI is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from slo.spec.checks import is_label_name, read_safe_name
from slo.spec.yaml_reader import SpecReader, child, describe

__all__ = ["KINDS", "OpenSLODoc", "OpenSLOIndex", "read_header", "read_metadata"]

KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
    "DataSource",
    "Service",
)
_METADATA_KEYS = ("name", "displayName", "labels", "annotations", "namespace")
_NOT_LABEL = re.compile(r"[^a-zA-Z0-9_]")


@dataclass
class OpenSLODoc:
    """One object: its kind, name, metadata and the (unread) spec node."""

    kind: str
    name: str
    reader: SpecReader
    node: yaml.Node
    spec: yaml.Node | None
    path: str = ""
    name_node: yaml.Node | None = None
    display_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    _parsed: object = None
    _done: bool = False


@dataclass(frozen=True)
class _Metadata:
    name: str | None
    display_name: str
    labels: dict[str, str]


def read_metadata(reader: SpecReader, node: yaml.Node | None, path: str) -> _Metadata:
    """``metadata``: a required safe name, optional display name and labels.

    OpenSLO label values may be lists; they are joined with commas. Label keys may hold
    ``-`` and ``.``, which Prometheus does not allow: those become ``_``.
    """
    if node is None:
        return _Metadata(None, "", {})
    entries = reader.mapping(node, path, _METADATA_KEYS, ("name",))
    if entries is None:
        return _Metadata(None, "", {})
    name = None
    if "name" in entries:
        name = read_safe_name(reader, entries["name"], child(path, "name"))
    display = ""
    if "displayName" in entries:
        display = reader.text(entries["displayName"], child(path, "displayName")) or ""
    labels = (
        _labels(reader, entries["labels"], child(path, "labels")) if "labels" in entries else {}
    )
    if "annotations" in entries:
        reader.string_map(entries["annotations"], child(path, "annotations"))
    return _Metadata(name, display, labels)


def _labels(reader: SpecReader, node: yaml.Node, path: str) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        reader.error(node, path, f"expected a mapping, got {describe(node)}")
        return {}
    out = {}
    for key_node, value_node in node.value:
        key = reader.text(key_node, path)
        if key is None:
            continue
        if isinstance(value_node, yaml.SequenceNode):
            values = [reader.text(v, child(path, key)) for v in value_node.value]
            value = ",".join(v for v in values if v is not None)
        else:
            value = reader.text(value_node, child(path, key)) or ""
        name = key if is_label_name(key) else _NOT_LABEL.sub("_", key).lstrip("_") or "label"
        if name[0].isdigit():
            name = f"_{name}"
        out[name] = value
    return out


def read_header(reader: SpecReader, doc: yaml.Node) -> OpenSLODoc | None:
    """An object's ``kind`` and ``metadata``; its ``spec`` is read later."""
    top = reader.mapping(doc, "", ("apiVersion", "kind", "metadata", "spec"), ("kind", "metadata"))
    if top is None or "kind" not in top:
        return None
    kind = reader.text(top["kind"], "kind")
    if kind is not None and kind not in KINDS:
        reader.error(
            top["kind"],
            "kind",
            f"unknown OpenSLO kind {kind!r} (expected one of: {', '.join(KINDS)})",
        )
        return None
    meta = read_metadata(reader, top.get("metadata"), "metadata")
    if kind is None or meta.name is None:
        return None
    if "spec" not in top and kind != "Service":
        reader.error(doc, "spec", "required key is missing")
        return None
    name_node = _name_node(top["metadata"])
    spec = top.get("spec")
    return OpenSLODoc(
        kind, meta.name, reader, doc, spec, "spec", name_node, meta.display_name, meta.labels
    )


def _name_node(metadata: yaml.Node) -> yaml.Node | None:
    if not isinstance(metadata, yaml.MappingNode):
        return None
    return next((v for k, v in metadata.value if getattr(k, "value", None) == "name"), None)


class OpenSLOIndex:
    """Every OpenSLO object read so far, by (kind, name)."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], OpenSLODoc] = {}

    def add(self, doc: OpenSLODoc) -> None:
        key = (doc.kind, doc.name)
        first = self.docs.get(key)
        if first is not None:
            where = first.reader.position(first.name_node or first.node)
            doc.reader.error(
                doc.name_node or doc.node,
                "metadata.name",
                f"duplicate {doc.kind} {doc.name!r} (first at {where})",
            )
            return
        self.docs[key] = doc

    def of_kind(self, kind: str) -> list[OpenSLODoc]:
        return [doc for (k, _), doc in self.docs.items() if k == kind]

    def lookup(
        self, kind: str, reader: SpecReader, node: yaml.Node, path: str
    ) -> OpenSLODoc | None:
        """The object a ``...Ref`` node names; an unknown name is an error at the ref."""
        name = reader.text(node, path)
        if name is None:
            return None
        doc = self.docs.get((kind, name))
        if doc is None:
            known = sorted(n for k, n in self.docs if k == kind)
            hint = f" (known: {', '.join(known)})" if known else ""
            reader.error(node, path, f"unknown {kind} {name!r}{hint}")
        return doc

    @staticmethod
    def parsed(doc: OpenSLODoc, parse: Callable[[OpenSLODoc], object]) -> object:
        """*parse* of *doc*, computed once."""
        if not doc._done:
            doc._parsed = parse(doc)
            doc._done = True
        return doc._parsed
