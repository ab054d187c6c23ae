"""The :func:`parse` loop: each line through the fast path or the slow one, then the family
and series rules, yielding families and samples as they complete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from collector.textparse.families import _backwards, _check_sample, _Grouper
from collector.textparse.lines import (
    _OM_FAST,
    _PROM_FAST,
    _canon,
    _Entry,
    _label_flags,
    _Pairs,
    _simple_labels,
    _slow_line,
)
from collector.textparse.types import MetricFamily, TextFormat, TextParseError, TextSample, _Bad

# Building frozen dataclasses through __init__ costs twice as much as setting the slots
# directly, so the hot loop fills the slots itself: same class, same fields, same semantics.
_SAMPLE_SLOTS = tuple(getattr(TextSample, f).__set__ for f in TextSample.__slots__)


def _parse(lines: Iterable[str], om: bool) -> Iterator[TextSample | MetricFamily]:
    groups, pairs, cache = _Grouper(om), _Pairs(), dict[str, _Entry]()
    fast = (_OM_FAST if om else _PROM_FAST).fullmatch
    new, (s0, s1, s2, s3, s4, s5) = object.__new__, _SAMPLE_SLOTS
    last_name: str | None = None
    need, exemplar_ok, series = 0, 0, dict[str, int]()
    numbered, lineno, text = enumerate(lines, 1), 0, ""
    for lineno, text in numbered:
        m = fast(text)
        if m is not None:
            name, lstr, vstr, tstr = m.groups()
            value, exemplar = float(vstr), None
            ts = None if tstr is None else int(float(tstr) * 1000.0) if om else int(tstr)
            if lstr is None:
                labels, canon, lflags = (), "", 0
            else:
                entry = cache.get(lstr)
                if entry is None:
                    entry = _simple_labels(cache, pairs, lstr, m.start(2), lineno)
                labels, canon, lflags = entry
        elif om and (text == "# EOF" or text == "# EOF\n"):
            break
        else:
            try:
                meta, fields = _slow_line(text, om)
                if meta is not None:
                    yield from groups.meta(*meta, lineno)
            except _Bad as e:
                raise e.at(lineno) from None
            if fields is None:
                last_name = None  # after metadata the next sample must find its family again
                continue
            name, labels, value, ts, exemplar = fields
            canon, lflags = _canon(labels), _label_flags(dict(labels))
        if name != last_name:
            try:
                families, need, exemplar_ok, series = groups.enter(name, lineno)
            except _Bad as e:
                raise e.at(lineno) from None
            yield from families
            last_name = name
        if (need and not lflags & need) or (exemplar is not None and not exemplar_ok):
            _check_sample(need | exemplar_ok, lflags, exemplar, name, lineno)
        if ts is not None and om:
            prev = series.get(canon)
            if prev is not None and ts < prev:
                _backwards(name, canon, ts, prev, lineno)
            series[canon] = ts
        sample = new(TextSample)
        s0(sample, name), s1(sample, labels), s2(sample, value)
        s3(sample, ts), s4(sample, lineno), s5(sample, exemplar)
        yield sample
    else:
        if om:
            raise TextParseError(max(lineno, 1), "missing '# EOF' at end of input")
    yield from groups.finish()
    if om:
        _check_after_eof(numbered, text)


def _check_after_eof(numbered: Iterator[tuple[int, str]], eof_text: str) -> None:
    # One empty item may follow an "# EOF" without "\n": that is what str.split("\n") gives.
    allow_empty = not eof_text.endswith("\n")
    for lineno, text in numbered:
        if text == "" and allow_empty:
            allow_empty = False
            continue
        raise TextParseError(lineno, "unexpected data after '# EOF'")


def parse(lines: Iterable[str], fmt: TextFormat) -> Iterator[TextSample | MetricFamily]:
    """Parse exposition text lazily; raises :class:`TextParseError` at the first error.

    ``lines`` holds one line per item, with or without its ``\\n``. Timestamps come out as
    integer milliseconds: OpenMetrics seconds are converted, Prometheus-format ones are
    already milliseconds.
    """
    if not isinstance(fmt, TextFormat):
        raise TypeError(f"fmt must be a TextFormat, not {fmt!r}")
    return _parse(lines, fmt is TextFormat.OPENMETRICS)
