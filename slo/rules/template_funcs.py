"""Prometheus' template functions (template/template.go): queries, label and text helpers,
regular expressions (RE2, as Go's regexp), URLs, and the humanize family.
"""

from __future__ import annotations

import ipaddress
import math
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, urlsplit

import re2

from slo.rules.model import QueryFunc
from slo.rules.template_builtins import BUILTINS, FuncError, Function
from slo.rules.template_humanize import (
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    humanize_timestamp,
    parse_duration,
    to_duration,
    to_time,
)
from slo.rules.template_values import AnyMap, GoHTML, QueryResult, TemplateSample

__all__ = ["FUNCTION_NAMES", "template_functions"]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_SAMPLE = "*template.sample"
_RESULT = "template.queryResult"
# RE2's C++ error codes, spelled as Go's regexp/syntax spells them.
_RE2_CODES = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "unexpected )",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "bad repetition argument": "invalid repeat count",
    "bad character class range": "invalid character class range",
    "bad named capture group": "invalid named capture group",
    "duplicate capture group name": "duplicate capture group name",
    "bad escape sequence": "invalid escape sequence",
    "trailing \\": "trailing backslash at end of expression",
    "bad perl operator": "invalid or unsupported Perl syntax",
}


def _compile(pattern: str) -> Any:
    """Compile with RE2; the error reads like Go's ``error parsing regexp: ...``."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        raw = exc.args[0]
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        code, _, arg = text.partition(": ")
        raise FuncError(f"error parsing regexp: {_RE2_CODES.get(code, code)}: `{arg}`") from None


def _expand(template: str, match: Any, names: dict[str, int]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        if template[i + 1 : i + 2] == "$":
            out.append("$")
            i += 2
            continue
        brace = template[i + 1 : i + 2] == "{"
        start = i + 1 + brace
        end = start
        while end < len(template) and (template[end].isalnum() or template[end] == "_"):
            end += 1
        name = template[start:end]
        if not name or (brace and template[end : end + 1] != "}"):
            out.append("$")  # malformed: the dollar stays as text
            i += 1
            continue
        i = end + brace
        group = None
        if name.isdigit() and (name == "0" or not name.startswith("0")):
            group = int(name) if int(name) <= match.re.groups else None
        else:
            group = names.get(name)
        if group is not None:
            out.append(match.group(group) or "")
    return "".join(out)


def _re_replace_all(pattern: str, replacement: str, text: str) -> str:
    try:
        regex = _compile(pattern)
    except FuncError as exc:
        quoted = f"`{pattern}`" if "`" not in pattern else repr(pattern)
        raise FuncError(f"regexp: Compile({quoted}): {exc}") from None
    out: list[str] = []
    last_end = 0
    for match in regex.finditer(text):
        start, end = match.start(), match.end()
        out.append(text[last_end:start])
        # Go skips an empty match right after the previous match.
        if end > last_end or start == 0:
            out.append(_expand(replacement, match, regex.groupindex))
        last_end = end
    out.append(text[last_end:])
    return "".join(out)


def _match(pattern: str, text: str) -> bool:
    return _compile(pattern).search(text) is not None


def _title(text: str) -> str:
    """``cases.Title(language.AmericanEnglish, cases.NoLower)``: upper-case the first letter of
    each word, leave the rest alone. Words join across ``'``, ``.`` and ``:`` between letters
    and across digits and ``_``, as Unicode word segmentation does."""
    out: list[str] = []
    in_word = False
    for i, char in enumerate(text):
        word_char = char.isalnum() or char == "_" or unicodedata.category(char) == "Mn"
        joiner = char in "'.:\u2019\u00b7" and in_word and text[i + 1 : i + 2].isalpha()
        if word_char and not in_word and char.isalpha():
            upper = char.title()
            out.append(upper if len(upper) == 1 else char)
        else:
            out.append(char)
        in_word = word_char or joiner
    return "".join(out)


def _case(text: str, convert: Callable[[str], str]) -> str:
    """Go's per-rune case mapping: a rune whose mapping is not a single rune stays."""
    return "".join(c2 if len(c2 := convert(c)) == 1 else c for c in text)


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """``net.SplitHostPort``; None where Go returns an error."""
    colon = hostport.rfind(":")
    if colon < 0:
        return None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host, first = hostport[1:end], end + 1
        if "[" in hostport[1:] or "]" in hostport[first:]:
            return None
    else:
        host = hostport[:colon]
        if ":" in host or "[" in hostport or "]" in hostport:
            return None
    return host, hostport[colon + 1 :]


def _strip_port(hostport: str) -> str:
    parts = _split_host_port(hostport)
    return hostport if parts is None else parts[0]


def _strip_domain(hostport: str) -> str:
    parts = _split_host_port(hostport)
    host, port = parts if parts is not None else (hostport, "")
    try:
        ipaddress.ip_address(host)
        return hostport
    except ValueError:
        pass
    host = host.split(".")[0]
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _sample(value: TemplateSample | None) -> TemplateSample:
    if value is None:
        raise FuncError("runtime error: invalid memory address or nil pointer dereference")
    return value


def _first(result: QueryResult | None) -> TemplateSample:
    if not result:
        raise FuncError("first() called on vector with no elements")
    return result[0]


def _sort_by_label(label: str, result: QueryResult | None) -> QueryResult:
    if result is None:
        return QueryResult()
    result.sort(key=lambda s: s.labels.get(label, ""))  # list.sort is stable, like sort.Stable
    return result


def _query_function(query: QueryFunc | None, timestamp_ms: int) -> Callable[[str], QueryResult]:
    def run(expr: str) -> QueryResult:
        if query is None:
            raise FuncError("no query engine: templates here cannot run queries")
        try:
            vector = query(expr, timestamp_ms)
        except Exception as exc:  # the engine's error is the function's error, as in Go
            raise FuncError(str(exc)) from None
        return QueryResult(TemplateSample(dict(s.labels), float(s.value)) for s in vector)

    return run


def _url_parts(external_url: str) -> tuple[str, str]:
    return urlsplit(external_url).path, external_url


def template_functions(
    query: QueryFunc | None, timestamp_ms: int, external_url: str
) -> dict[str, Function]:
    """Go's builtins plus Prometheus' functions, bound to one evaluation."""
    path, url = _url_parts(external_url)
    any1 = ("any",)
    one_string = ("string",)
    prometheus = {
        "query": Function(one_string, None, _query_function(query, timestamp_ms)),
        "first": Function((_RESULT,), None, _first),
        "label": Function(("string", _SAMPLE), None, lambda n, s: _sample(s).labels.get(n, "")),
        "value": Function((_SAMPLE,), None, lambda s: _sample(s).value),
        "strvalue": Function((_SAMPLE,), None, lambda s: _sample(s).labels.get("__value__", "")),
        "args": Function((), "any", lambda *a: AnyMap({f"arg{i}": v for i, v in enumerate(a)})),
        "reReplaceAll": Function(("string",) * 3, None, _re_replace_all),
        "safeHtml": Function(one_string, None, GoHTML),
        "match": Function(("string", "string"), None, _match),
        "title": Function(one_string, None, _title),
        "toUpper": Function(one_string, None, lambda s: _case(s, str.upper)),
        "toLower": Function(one_string, None, lambda s: _case(s, str.lower)),
        "graphLink": Function(one_string, None, lambda e: f"/graph?g0.expr={_qe(e)}&g0.tab=0"),
        "tableLink": Function(one_string, None, lambda e: f"/graph?g0.expr={_qe(e)}&g0.tab=1"),
        "sortByLabel": Function(("string", _RESULT), None, _sort_by_label),
        "stripPort": Function(one_string, None, _strip_port),
        "stripDomain": Function(one_string, None, _strip_domain),
        "humanize": Function(any1, None, humanize),
        "humanize1024": Function(any1, None, humanize1024),
        "humanizeDuration": Function(any1, None, humanize_duration),
        "humanizePercentage": Function(any1, None, humanize_percentage),
        "humanizeTimestamp": Function(any1, None, humanize_timestamp),
        "toTime": Function(any1, None, to_time),
        "toDuration": Function(any1, None, to_duration),
        "now": Function((), None, lambda: timestamp_ms / 1000.0),
        "pathPrefix": Function((), None, lambda: path),
        "externalURL": Function((), None, lambda: url),
        "parseDuration": Function(one_string, None, parse_duration),
        "urlQueryEscape": Function(one_string, None, _qe),
    }
    return BUILTINS | prometheus


def _qe(text: str) -> str:
    """``url.QueryEscape``."""
    return quote_plus(text, safe="")


#: Every function name a template may call (what the parser accepts).
FUNCTION_NAMES = frozenset(template_functions(None, 0, ""))

_ = math  # NaN handling lives in template_humanize
