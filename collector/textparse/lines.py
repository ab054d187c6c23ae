"""The grammar of one line: names, label sets, values, timestamps, exemplars, metadata.

Two paths read a sample line. The fast path is one regex (``_OM_FAST``/``_PROM_FAST``) for
the common shape, with label texts cached; everything else goes through :func:`_slow_line`,
which parses token by token and reports errors with their column.
"""

from __future__ import annotations

import re

from collector.textparse.types import Exemplar, LabelPairs, MetricType, _Bad

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_PAIR = _LNAME + r'="[^"\\\n]*"'
# The fast path: simple names and labels, single spaces, a plain value. The digit limits
# make overflow impossible, so the float()/int() results need no range checks.
_HEAD = (
    rf"({_NAME})(?:\{{({_PAIR}(?:,{_PAIR})*)?\}})?"
    r" (-?[0-9]{1,200}(?:\.[0-9]*)?(?:[eE][-+]?[0-9]{1,2})?|NaN|[+-]Inf)"
)
_OM_FAST = re.compile(_HEAD + r"(?: ([0-9]{1,12}(?:\.[0-9]{0,9})?))?\n?")
_PROM_FAST = re.compile(_HEAD + r"(?: (-?[0-9]{1,15}))?\n?")
_PAIR_RE = re.compile(rf'({_LNAME})="([^"\\\n]*)"')
_METRIC_NAME_RE = re.compile(_NAME)
_LABEL_NAME_RE = re.compile(_LNAME)
# Go's strconv.ParseFloat minus hex and underscores (Prometheus rejects "pP_"); ASCII only.
_NUMBER_RE = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:inf(?:inity)?)|(?i:nan)"
)
_PROM_TS_RE = re.compile(r"-?[0-9]+")
_UNIT_RE = re.compile(r"[a-zA-Z0-9_:]*")
_QUOTED_RE = re.compile(r'"([^"\\\n]*(?:\\.[^"\\\n]*)*)"')
_ESCAPE_RE = re.compile(r"\\(.)")
_OM_TOKEN = re.compile(r"[^ ]*")
_PROM_TOKEN = re.compile(r"[^ \t]*")
_OM_NAME_TOKEN = re.compile(r"[^{ ]*")
_PROM_NAME_TOKEN = re.compile(r"[^{ \t]*")
_LKEY_TOKEN = re.compile(r'[^=,}"\s]*')
_OM_META_RE = re.compile(r"# (HELP|TYPE|UNIT) ")
_PROM_META_RE = re.compile(r"[ \t]*#[ \t]+(HELP|TYPE)[ \t]+")
_LVAL_ESCAPES = {"n": "\n", "\\": "\\", '"': '"'}
_HELP_ESCAPES = {"n": "\n", "\\": "\\"}  # Prometheus format HELP: no \" escape
_INT64 = 2**63
_CACHE_MAX = 10_000  # label texts remembered; bounded so scrape-like input stays cheap
_EXEMPLAR_MAX_RUNES = 128

_T = MetricType
_OM_TYPES = {t.value: t for t in MetricType}
_PROM_TYPES = {"counter": _T.COUNTER, "gauge": _T.GAUGE, "histogram": _T.HISTOGRAM,
               "summary": _T.SUMMARY, "untyped": _T.UNKNOWN}  # fmt: skip
# Flags: what a label set has (valid numeric "le"/"quantile"), what a sample name needs.
_LE, _QUANTILE, _EXEMPLAR_OK = 1, 2, 4


def _unescape(raw: str, table: dict[str, str] = _LVAL_ESCAPES) -> str:
    # Unknown escapes stay as written ("\a" is backslash-a), like Prometheus' replacer.
    if "\\" not in raw:
        return raw
    return _ESCAPE_RE.sub(lambda m: table.get(m.group(1), m.group(0)), raw)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _canon(labels: LabelPairs) -> str:
    """A series' key: its label pairs in a fixed order, as the fast path spells them."""
    pieces = sorted(
        f'{k if _LABEL_NAME_RE.fullmatch(k) else chr(34) + _escape(k) + chr(34)}="{_escape(v)}'
        for k, v in labels
    )
    return '",'.join(pieces) + '"' if pieces else ""


def _number(token: str, what: str, pos: int) -> float:
    if _NUMBER_RE.fullmatch(token) is None:
        raise _Bad(f"invalid {what} {token!r}" if token else f"expected a {what}", pos)
    value = float(token)
    if value in (float("inf"), float("-inf")) and token.lstrip("+-")[0] not in "iI":
        raise _Bad(f"{what} {token!r} is out of range for a float64", pos)
    return value


def _om_timestamp(token: str, pos: int) -> int:
    seconds = _number(token, "timestamp", pos)
    millis = seconds * 1000.0  # then truncated toward zero, as Go's int64() does
    if not -_INT64 <= millis < _INT64:  # also rejects NaN and the infinities
        raise _Bad(f"invalid timestamp {token!r}", pos)
    return int(millis)


def _end(token: re.Pattern[str], text: str, pos: int) -> int:
    """End of ``token`` (a pattern that always matches, maybe empty) at ``pos``."""
    return token.match(text, pos).end()  # type: ignore[union-attr]


def _quoted(text: str, pos: int) -> tuple[str, int]:
    m = _QUOTED_RE.match(text, pos)
    if m is None:
        raise _Bad("unterminated quoted string", pos)
    return _unescape(m.group(1)), m.end()


def _skip(text: str, pos: int, om: bool) -> int:
    if om:
        return pos
    while text[pos : pos + 1] in (" ", "\t") and pos < len(text):
        pos += 1
    return pos


def _label_key(text: str, pos: int) -> tuple[str, bool, int]:
    if text.startswith('"', pos):
        key, end = _quoted(text, pos)
        if not key:
            raise _Bad("empty quoted name", pos)
        return key, True, end
    end = _end(_LKEY_TOKEN, text, pos)
    key = text[pos:end]
    if not key:
        raise _Bad("expected a label name", pos)
    if _LABEL_NAME_RE.fullmatch(key) is None:
        raise _Bad(f"invalid label name {key!r}", pos)
    return key, False, end


def _parse_labels(
    text: str, pos: int, om: bool, exemplar: bool
) -> tuple[str | None, LabelPairs, int]:
    """Parse after '{' up to and including '}'; returns (quoted metric name, labels, end)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    qname = None
    pos = _skip(text, pos, om)
    if text.startswith("}", pos):
        return None, (), pos + 1
    while True:
        start = pos
        key, quoted, pos = _label_key(text, pos)
        pos = _skip(text, pos, om)
        if quoted and text[pos : pos + 1] in (",", "}"):  # {"my.metric", ...}
            if exemplar or qname is not None:
                raise _Bad("unexpected metric name in label set", start)
            qname = key
        else:
            if not text.startswith("=", pos):
                raise _Bad(f"expected '=' after label name {key!r}", pos)
            pos = _skip(text, pos + 1, om)
            if not text.startswith('"', pos):
                raise _Bad(f"expected a quoted value for label {key!r}", pos)
            value, pos = _quoted(text, pos)
            if key in seen or key == "__name__":
                why = "duplicate label name" if key in seen else "reserved label name"
                raise _Bad(f"{why} {key!r}", start)
            seen.add(key)
            pairs.append((key, value))
            pos = _skip(text, pos, om)
        if text.startswith("}", pos):
            return qname, tuple(pairs), pos + 1
        if not text.startswith(",", pos):
            raise _Bad("expected ',' or '}' in label set", pos)
        pos = _skip(text, pos + 1, om)
        if text.startswith("}", pos):
            if om:
                raise _Bad("trailing comma in label set", pos - 1)
            return qname, tuple(pairs), pos + 1


def _parse_exemplar(text: str, pos: int) -> tuple[Exemplar, int]:
    if not text.startswith("{", pos):
        raise _Bad("expected '{' to start the exemplar's labels", pos)
    _, labels, pos = _parse_labels(text, pos + 1, True, True)
    if sum(len(k) + len(v) for k, v in labels) > _EXEMPLAR_MAX_RUNES:
        raise _Bad(f"exemplar labels exceed {_EXEMPLAR_MAX_RUNES} characters", pos)
    if not text.startswith(" ", pos):
        raise _Bad("expected a space and the exemplar value", pos)
    end = _end(_OM_TOKEN, text, pos + 1)
    value = _number(text[pos + 1 : end], "exemplar value", pos + 1)
    ts = None
    if text.startswith(" ", end):
        pos = end + 1
        end = _end(_OM_TOKEN, text, pos)
        ts = _om_timestamp(text[pos:end], pos)
    return Exemplar(labels, value, ts), end


def _om_tail(text: str, pos: int) -> tuple[float, int | None, Exemplar | None]:
    if not text.startswith(" ", pos):
        raise _Bad("expected a space and a value after the series", pos)
    end = _end(_OM_TOKEN, text, pos + 1)
    value = _number(text[pos + 1 : end], "value", pos + 1)
    ts = exemplar = None
    if end < len(text) and not text.startswith(" # ", end):
        pos = end + 1
        end = _end(_OM_TOKEN, text, pos)
        ts = _om_timestamp(text[pos:end], pos)
    if text.startswith(" # ", end):
        exemplar, end = _parse_exemplar(text, end + 3)
    if end != len(text):
        raise _Bad("unexpected text at end of line", end)
    return value, ts, exemplar


def _prom_tail(text: str, pos: int) -> tuple[float, int | None, None]:
    start = _skip(text, pos, False)
    if start == pos:
        raise _Bad("expected whitespace and a value after the series", pos)
    end = _end(_PROM_TOKEN, text, start)
    value = _number(text[start:end], "value", start)
    pos = _skip(text, end, False)
    if pos == len(text):
        return value, None, None
    if text.startswith("#", pos):
        raise _Bad("exemplars are only allowed in OpenMetrics", pos)
    end = _end(_PROM_TOKEN, text, pos)
    token = text[pos:end]
    if _PROM_TS_RE.fullmatch(token) is None or not -_INT64 <= int(token) < _INT64:
        raise _Bad(f"invalid timestamp {token!r} (integer milliseconds expected)", pos)
    if _skip(text, end, False) != len(text):
        raise _Bad("unexpected text after the timestamp", _skip(text, end, False))
    return value, int(token), None


_Fields = tuple[str, LabelPairs, float, int | None, Exemplar | None]


def _parse_sample(text: str, om: bool) -> _Fields:
    start = _skip(text, 0, om)
    pos = _end(_OM_NAME_TOKEN if om else _PROM_NAME_TOKEN, text, start)
    name: str | None = text[start:pos] or None
    if name is not None and _METRIC_NAME_RE.fullmatch(name) is None:
        raise _Bad(f"invalid metric name {name!r}", start)
    labels: LabelPairs = ()
    brace = _skip(text, pos, om)
    if text.startswith("{", brace):
        qname, labels, pos = _parse_labels(text, brace + 1, om, False)
        if qname is not None and name is not None:
            raise _Bad("metric name given both before and inside the braces", brace)
        name = name or qname
    if name is None:
        raise _Bad("expected a metric name", pos)
    value, ts, exemplar = _om_tail(text, pos) if om else _prom_tail(text, pos)
    return name, labels, value, ts, exemplar


def _parse_meta(text: str, om: bool) -> tuple[str, str, object] | None:
    """``# HELP/TYPE/UNIT name payload`` -> (kind, name, value); None for a plain comment."""
    m = (_OM_META_RE if om else _PROM_META_RE).match(text)
    if m is None:
        if om:
            raise _Bad("only # HELP, # TYPE, # UNIT and # EOF may start with '#'", 0)
        return None
    kind, pos = m.group(1), m.end()
    if text.startswith('"', pos):
        name, end = _quoted(text, pos)
    else:
        end = _end(_OM_TOKEN if om else _PROM_TOKEN, text, pos)
        name = text[pos:end]
        if _METRIC_NAME_RE.fullmatch(name) is None:
            raise _Bad(f"invalid metric name {name!r} after # {kind}", pos)
    if om and not text.startswith(" ", end):
        raise _Bad(f"expected a space and the {kind} text after the metric name", end)
    payload = text[end + 1 :] if om else text[end:].lstrip(" \t")
    if kind == "TYPE":
        mtype = (_OM_TYPES if om else _PROM_TYPES).get(payload)
        if mtype is None:
            raise _Bad(f"invalid metric type {payload!r}", end + 1)
        return kind, name, mtype
    if kind == "HELP":
        return kind, name, _unescape(payload, _LVAL_ESCAPES if om else _HELP_ESCAPES) or None
    if _UNIT_RE.fullmatch(payload) is None:
        raise _Bad(f"invalid unit {payload!r}", end + 1)
    if payload and not name.endswith("_" + payload):
        raise _Bad(f"unit {payload!r} is not a suffix of metric family name {name!r}", end + 1)
    return kind, name, payload or None


def _slow_line(text: str, om: bool) -> tuple[tuple[str, str, object] | None, _Fields | None]:
    """Any line the fast path declined: (metadata, None), (None, sample) or (None, None)."""
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r") and (text == "# EOF\r" or not text.lstrip(" \t").startswith("#")):
        # Fatal for samples and "# EOF"; HELP text may legally end in "\r".
        raise _Bad("carriage return at end of line; lines must end with \\n only", len(text) - 1)
    if text.startswith("\ufeff"):
        raise _Bad("byte order mark at start of input", 0)
    if om:
        if not text:
            raise _Bad("empty line (not allowed in OpenMetrics)", 0)
        if text.startswith("# EOF"):
            raise _Bad("unexpected text after '# EOF'", 5)
        if text.startswith("#"):
            return _parse_meta(text, True), None
    else:
        stripped = text.lstrip(" \t")
        if not stripped:
            return None, None
        if stripped.startswith("#"):
            return _parse_meta(text, False), None
    return None, _parse_sample(text, om)


# --- the fast path: label texts the regex accepted, cached -------------------------------

_Entry = tuple[LabelPairs, str, int]


def _label_flags(labels: dict[str, str]) -> int:
    """_LE / _QUANTILE when those labels are present and hold numbers."""
    flags = _LE if "le" in labels and _NUMBER_RE.fullmatch(labels["le"]) else 0
    if "quantile" in labels and _NUMBER_RE.fullmatch(labels["quantile"]):
        flags |= _QUANTILE
    return flags


class _Pairs(dict[str, tuple[str, str]]):
    """Interned ``name="value`` pairs: label values repeat across series far more than
    whole label sets do. Bounded like the label-set cache."""

    def __missing__(self, piece: str) -> tuple[str, str]:
        if len(self) >= _CACHE_MAX:
            self.clear()
        name, value = piece.split('="', 1)
        pair = self[piece] = (name, value)
        return pair


def _simple_labels(
    cache: dict[str, _Entry], pairs: _Pairs, lstr: str, offset: int, line: int
) -> _Entry:
    """Fast-path label text (no escapes) -> cached (labels, canonical series key, flags)."""
    if '=",' in lstr:  # a value may start with ',', so splitting on '",' could cut it
        labels = tuple(_PAIR_RE.findall(lstr))
        canon = _canon(labels)
    else:  # values hold no '"', so '",' only ends a pair and '="' only ends a name
        pieces = lstr[:-1].split('",')
        labels = tuple(map(pairs.__getitem__, pieces))
        ordered = sorted(pieces)
        canon = lstr if ordered == pieces else '",'.join(ordered) + '"'
    by_name = dict(labels)
    if len(by_name) != len(labels) or "__name__" in by_name:
        try:
            _parse_labels(lstr + "}", 0, True, False)  # raises with the precise message
        except _Bad as e:
            raise _Bad(e.message, (e.pos or 0) + offset).at(line) from None
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    entry = cache[lstr] = (labels, canon, _label_flags(by_name))
    return entry
