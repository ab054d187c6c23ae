"""Reading SLO spec files of any supported format: :func:`load_slo_files`.

>>> slos, errors = load_slo_texts({"shop.yml": '''
... service: shop
... slos:
...   - name: availability
...     objective: 99.9%
...     sli:
...       events:
...         error_query: sum(rate(errors_total[{{.window}}]))
...         total_query: sum(rate(requests_total[{{.window}}]))
... '''})
>>> [(slo.id, slo.objective) for slo in slos], errors
([('shop-availability', 0.999)], [])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import yaml

from slo.spec.errors import SpecError
from slo.spec.model import SLO
from slo.spec.native import read_native
from slo.spec.openslo import resolve_openslo
from slo.spec.openslo_docs import OpenSLOIndex, read_header
from slo.spec.sloth import read_sloth, read_sloth_k8s
from slo.spec.yaml_reader import SpecReader, compose_documents

__all__ = ["detect_format", "load_slo_files", "load_slo_texts"]

_SLOTH_K8S = "sloth.slok.dev/v1"
_SLOTH_VERSION = "prometheus/v1"
_OPENSLO = "openslo/v1"


def load_slo_files(paths: Iterable[str]) -> tuple[list[SLO], list[SpecError]]:
    """Read every file of *paths* together (OpenSLO references may cross files).

    Returns the SLOs of documents without problems and every problem found, sorted by file
    and position. A file that cannot be read is one problem; the others are still read.
    """
    texts: dict[str, str] = {}
    errors: list[SpecError] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                texts[path] = fh.read()
        except OSError as exc:
            errors.append(SpecError(path, 0, 0, f"cannot read file: {exc.strerror}"))
        except UnicodeDecodeError as exc:
            errors.append(SpecError(path, 0, 0, f"cannot read file: not UTF-8 ({exc.reason})"))
    slos, more = load_slo_texts(texts)
    return slos, sorted(errors + more)


def load_slo_texts(texts: Mapping[str, str]) -> tuple[list[SLO], list[SpecError]]:
    """Like :func:`load_slo_files` for contents already in memory: file name -> YAML text."""
    errors: list[SpecError] = []
    slos: list[SLO] = []
    index = OpenSLOIndex()
    for file, text in texts.items():
        docs, syntax = compose_documents(text, file)
        errors.extend(syntax)
        if not docs and not syntax:
            errors.append(SpecError(file, 0, 0, "no SLO spec in file (it is empty)"))
        reader = SpecReader(file, errors)
        for doc in docs:
            slos.extend(_read_document(reader, doc, index))
    slos.extend(resolve_openslo(index))
    _check_duplicates(slos, errors)
    return slos, sorted(errors)


def _scalar(doc: yaml.MappingNode, key: str) -> str | None:
    for key_node, value_node in doc.value:
        if getattr(key_node, "value", None) == key and isinstance(value_node, yaml.ScalarNode):
            return value_node.value
    return None


def detect_format(reader: SpecReader, doc: yaml.Node) -> str | None:
    """``native``, ``sloth``, ``sloth-k8s`` or ``openslo``; None (after an error) if unknown."""
    if not isinstance(doc, yaml.MappingNode):
        reader.error(doc, "", "expected a mapping (an SLO spec document)")
        return None
    api_version, version = _scalar(doc, "apiVersion"), _scalar(doc, "version")
    if api_version == _OPENSLO:
        return "openslo"
    if api_version == _SLOTH_K8S:
        kind = _scalar(doc, "kind")
        if kind == "PrometheusServiceLevel":
            return "sloth-k8s"
        reader.error(doc, "kind", f"expected PrometheusServiceLevel for {_SLOTH_K8S}, got {kind!r}")
        return None
    if api_version is not None:
        hint = "; only openslo/v1 is supported" if api_version.startswith("openslo/") else ""
        reader.error(doc, "apiVersion", f"unknown apiVersion {api_version!r}{hint}")
        return None
    if version is not None:
        if version == _SLOTH_VERSION:
            return "sloth"
        reader.error(
            doc, "version", f"unknown Sloth spec version {version!r}; expected {_SLOTH_VERSION}"
        )
        return None
    if _has_key(doc, "slos"):
        return "native"
    reader.error(
        doc,
        "",
        "not an SLO spec: expected 'version: prometheus/v1' (Sloth), 'apiVersion: openslo/v1' "
        "(OpenSLO), 'apiVersion: sloth.slok.dev/v1', or top-level 'service' and 'slos' (native)",
    )
    return None


def _has_key(doc: yaml.MappingNode, key: str) -> bool:
    return any(getattr(k, "value", None) == key for k, _ in doc.value)


def _read_document(reader: SpecReader, doc: yaml.Node, index: OpenSLOIndex) -> list[SLO]:
    spec_format = detect_format(reader, doc)
    if spec_format == "native":
        return read_native(reader, doc)
    if spec_format == "sloth":
        return read_sloth(reader, doc)
    if spec_format == "sloth-k8s":
        return read_sloth_k8s(reader, doc)
    if spec_format == "openslo":
        header = read_header(reader, doc)
        if header is not None:
            index.add(header)
    return []


def _check_duplicates(slos: list[SLO], errors: list[SpecError]) -> None:
    """Two SLOs with one ``service-name`` would write the same recording rules."""
    first: dict[str, SLO] = {}
    keep = []
    for slo in slos:
        seen = first.get(slo.id)
        if seen is None:
            first[slo.id] = slo
            keep.append(slo)
            continue
        src = slo.source
        message = f"duplicate SLO {slo.id!r} (first at {seen.source})"
        errors.append(SpecError(src.file, src.line, src.column, message))
    slos[:] = keep
