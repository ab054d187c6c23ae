"""OTLP JSON's one departure from proto3 JSON: trace and span ids are hex, not base64.

``google.protobuf.json_format`` reads ``bytes`` fields as base64, and most hex strings are
also valid base64, so without this step ids would decode silently to the wrong bytes.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["hex_ids_to_base64"]

# Field names in both JSON spellings: spans, links, span events' parents, exemplars.
_ID_FIELDS = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)


def hex_ids_to_base64(document: object) -> None:
    """Rewrite, in place, every id field of a parsed OTLP JSON document from hex to base64.

    Attribute keys are values (``{"key": "traceId", ...}``), never object keys, so user
    attributes named like ids are left alone. A malformed id raises ``ValueError``.

    >>> doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "0102"}]}]}]}
    >>> hex_ids_to_base64(doc); doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    {'spanId': 'AQI='}
    """
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _ID_FIELDS and isinstance(value, str):
                    node[key] = _to_base64(key, value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))


def _to_base64(key: str, value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{key} is not hex: {value[:64]!r}") from None
    except binascii.Error:  # pragma: no cover - fromhex raises ValueError
        raise ValueError(f"{key} is not hex") from None
    return base64.b64encode(raw).decode("ascii")
