"""Parser for Prometheus' promqltest scripts (``promql/promqltest``, 3.x): text in, frozen
dataclasses out; the engine tests run the commands and parse the PromQL expressions.

>>> load, ev = parse_script('load 1m\\n  up{job="a"} 1+1x2 _ stale\\n\\n'
...                         'eval instant at 2m up\\n  expect no_warn\\n  up{job="a"} 3\\n')
>>> load.series[0].timestamps_ms.tolist(), ev.at_ms, ev.expected[0].value, ev.no_warn
([0, 60000, 120000, 240000], 120000, 3.0, True)

Prometheus' rules hold, surprises included (see the tests); a few script mistakes that
Prometheus only notices at run time, or never, are errors here, and native histograms and
``@st`` (start timestamp) lines are rejected as unsupported.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from collector.model import Labels
from collector.promql import series_notation as notation
from collector.promql.series_notation import MAX_POINTS_PER_SERIES

__all__ = [
    "MAX_POINTS_PER_SERIES",
    "Clear",
    "Command",
    "Eval",
    "EvalInstant",
    "EvalRange",
    "ExpectKind",
    "ExpectedSample",
    "ExpectedSeries",
    "Expectation",
    "Load",
    "LoadSeries",
    "RangeVector",
    "ScriptError",
    "parse_script",
]

_T = TypeVar("_T", bound="LoadSeries")
_SyntaxErr = notation.NotationError  # parse_script adds the file and the line being read


class ScriptError(ValueError):
    """A script that cannot be parsed; ``str()`` is ``file:line: message``."""

    def __init__(self, message: str, filename: str = "<script>", line: int = 0) -> None:
        super().__init__(message)
        self.message, self.filename, self.line = message, filename, line

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}: {self.message}"


class ExpectKind(enum.Enum):
    """``expect <kind>``; ``eval_fail|_warn|_info|_ordered`` make the same expectation."""

    FAIL = "fail"
    WARN = "warn"
    NO_WARN = "no_warn"
    INFO = "info"
    NO_INFO = "no_info"
    ORDERED = "ordered"


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """``msg``: exact match (warn/info as the API renders them, ending in ``(line:col)``);
    ``regex``: searched, not anchored; neither: any message matches."""

    kind: ExpectKind
    msg: str | None = None
    regex: str | None = None
    line: int

    def matches(self, text: str) -> bool:
        if self.msg is not None:
            return text == self.msg
        return self.regex is None or re.search(self.regex, text) is not None


@dataclass(frozen=True, kw_only=True, eq=False)
class LoadSeries:
    """Present values only: int64 ``timestamps_ms`` (``i * interval``) and float64
    ``values``; stale markers are ``STALE_NAN`` (compare bits, not isnan)."""

    labels: Labels
    timestamps_ms: np.ndarray
    values: np.ndarray
    line: int


@dataclass(frozen=True, kw_only=True, eq=False)
class ExpectedSeries(LoadSeries):
    """Like :class:`LoadSeries`, with absolute ``timestamps_ms``: start + i * step."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Load:
    interval_ms: int
    series: list[LoadSeries]
    with_nhcb: bool = False  # load_with_nhcb: classic histograms also load as NHCB
    line: int


@dataclass(frozen=True, kw_only=True)
class Clear:
    line: int


@dataclass(frozen=True, kw_only=True)
class ExpectedSample:
    labels: Labels
    value: float
    line: int


@dataclass(frozen=True, kw_only=True)
class RangeVector:
    """``expect range vector from <start> to <end> step <step>``, on an instant query."""

    start_ms: int
    end_ms: int
    step_ms: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Eval:
    """Checks besides the result; the flags sum up ``expectations``. ``warn``: at least one
    warning, each WARN expectation must match one and every warning one of them (``info``
    likewise); ``no_warn``: none. ``fail``: an error, equal to ``expect_fail_msg`` or found
    by ``expect_fail_regex`` when given. ``ordered``: in the order of ``expected``."""

    expr: str
    expectations: list[Expectation] = field(default_factory=list)
    fail: bool = False
    expect_fail_msg: str | None = None
    expect_fail_regex: str | None = None
    warn: bool = False
    no_warn: bool = False
    info: bool = False
    no_info: bool = False
    ordered: bool = False
    line: int


@dataclass(frozen=True, kw_only=True, eq=False)
class EvalInstant(Eval):
    """No ``expected`` (nor scalar, string, range vector): an empty result. A ``range_vector``
    moves ``at_ms`` to its end, as Prometheus does, and the lines go to ``expected_range``."""

    at_ms: int
    expected: list[ExpectedSample] = field(default_factory=list)
    expected_scalar: float | None = None
    expected_string: str | None = None  # None: no line (Prometheus then compares with "")
    range_vector: RangeVector | None = None
    expected_range: list[ExpectedSeries] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True, eq=False)
class EvalRange(Eval):
    start_ms: int
    end_ms: int
    step_ms: int
    expected: list[ExpectedSeries] = field(default_factory=list)


Command = Load | Clear | EvalInstant | EvalRange


def parse_script(text: str, filename: str = "<script>") -> list[Command]:
    """Parse a whole promqltest script; the first problem raises :class:`ScriptError`."""
    parser = _Parser(text)
    try:
        return parser.parse()
    except _SyntaxErr as exc:
        raise ScriptError(exc.args[0], filename, (*exc.args, parser.lineno)[1]) from None


# (?a): \s is Go's ASCII \s; Prometheus' own patterns are matched on whole, trimmed lines.
_LOAD = re.compile(r"(?a)load(?:_(with_nhcb))?\s+(.+)")
_INSTANT = re.compile(r"(?a)eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)")
_RANGE = re.compile(
    r"(?a)eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)"
)
_EXPECT = re.compile(
    r"(?a)expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?"
)
_RANGE_VECTOR = re.compile(r"(?a)expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)")


@dataclass
class _Draft:
    """An eval block being read."""

    line: int
    expr: str
    at_ms: int = 0
    span: tuple[int, int, int] | None = None  # a range query's start, end and step
    expectations: list[Expectation] = field(default_factory=list)
    series: dict[Labels, tuple[int, list[float | None]]] = field(default_factory=dict)
    scalar: float | None = None
    string: str | None = None
    range_vector: tuple[int, int, int] | None = None

    def instant_only(self, what: str) -> None:
        if self.span is not None:
            raise _SyntaxErr(f"{what} is only allowed for instant queries")


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = ["" if s.startswith("#") else s for s in (r.strip() for r in text.split("\n"))]
        self.lineno = 0  # the line last read (1-based), which is also the next line's index

    def parse(self) -> list[Command]:
        commands: list[Command] = []
        while self.lineno < len(self.lines):
            text = self.lines[self.lineno]
            self.lineno += 1
            word = re.split(r"[ \t]+", text, maxsplit=1)[0].lower()
            if word == "clear":
                commands.append(Clear(line=self.lineno))
            elif word.startswith("load"):
                commands.append(self._load(text))
            elif word.startswith("eval"):
                commands.append(self._eval(text))
            elif text:
                raise _SyntaxErr(f'invalid command "{text}"')
        return commands

    def _body(self) -> Iterator[str]:
        """The block's next lines up to a blank one; a caller may stop early."""
        while self.lineno < len(self.lines) and self.lines[self.lineno]:
            self.lineno += 1
            yield self.lines[self.lineno - 1]

    def _load(self, text: str) -> Load:
        line = self.lineno
        if (match := _LOAD.fullmatch(text)) is None:
            raise _SyntaxErr("invalid load command (load[_with_nhcb] <interval>)")
        interval, series = notation.parse_duration_ms(match[2]), {}
        for body in self._body():
            labels, values = notation.parse_series(body)
            series.pop(labels, None)  # a repeated series replaces the earlier line
            series[labels] = _series(LoadSeries, labels, self.lineno, values, (0, -1, interval))
        nhcb = bool(match[1])
        return Load(interval_ms=interval, series=list(series.values()), with_nhcb=nhcb, line=line)

    def _eval(self, text: str) -> EvalInstant | EvalRange:
        if match := _INSTANT.fullmatch(text):
            draft = _Draft(self.lineno, match[3], at_ms=notation.parse_duration_ms(match[2] or ""))
        elif match := _RANGE.fullmatch(text):
            start, end, step = (notation.parse_duration_ms(d) for d in match.groups()[1:4])
            if end < start:
                raise _SyntaxErr(f"end ({match[3]}) is before start ({match[2]})")
            draft = _Draft(self.lineno, match[5], span=(start, end, step))
        else:
            raise _SyntaxErr(
                "invalid eval command: expected 'eval[_<mode>] instant at <time> <query>"
                "' or 'eval[_<mode>] range from <t> to <t> step <d> <query>'"
            )
        if match[1]:  # eval_fail and co. are expect lines without a message
            draft.expectations.append(Expectation(kind=ExpectKind(match[1]), line=self.lineno))
        for body in self._body():
            if _eval_line(draft, body, self.lineno):
                break
        return _build(draft)


def _eval_line(draft: _Draft, text: str, line: int) -> bool:
    """Read one line of an eval block; True when the line ends the block."""
    legacy = re.match(r"expected_fail_(message|regexp)", text)
    first = draft.expectations[0] if draft.expectations else None
    if legacy and first and first.kind is ExpectKind.FAIL and first.line == draft.line:
        value = text[legacy.end() :].strip() or None  # eval_fail's own expectation is first
        exact = legacy[1] == "message"
        draft.expectations[0] = Expectation(
            kind=ExpectKind.FAIL,
            line=line,
            msg=value if exact else None,
            regex=None if exact else _regex(value),
        )
        return True
    if text.startswith("expect range vector"):
        if (match := _RANGE_VECTOR.fullmatch(text)) is None:
            raise _SyntaxErr(f'invalid range vector definition "{text}"')
        start, end, step = (notation.parse_duration_ms(d) for d in match.groups())
        if end < start:
            raise _SyntaxErr(f"range vector end ({match[2]}) is before its start ({match[1]})")
        draft.instant_only("expect range vector")
        draft.range_vector = (start, end, step)
    elif text.startswith("expect string"):
        literal = text[len("expect string ") :] if text.startswith("expect string ") else ""
        if not re.fullmatch(r"\"(?:[^\"\\]|\\.)*\"|`[^`]*`", literal):
            raise _SyntaxErr("expect string needs a string in double quotes or backquotes")
        draft.instant_only("expect string")
        draft.string = notation.unquote(literal)
    elif text.split(" ")[0] == "expect":  # so a metric named expect must be written expect{}
        draft.expectations.append(_expectation(draft, text, line))
    elif notation.is_go_number(text):
        draft.instant_only("a scalar result")
        draft.scalar = notation.go_number(text)
        return True
    else:
        labels, values = notation.parse_series(text)
        if draft.span or draft.range_vector:
            _series(ExpectedSeries, labels, line, values, draft.span or draft.range_vector)
        elif len(values) != 1 or values[0] is None:
            raise _SyntaxErr(
                "an instant query expects one value per series (or use "
                "'expect range vector' for a range vector result)"
            )
        draft.series.pop(labels, None)  # a repeated series replaces the earlier line
        draft.series[labels] = (line, values)
    return False


def _regex(pattern: str | None) -> str | None:
    try:
        re.compile(pattern or "")
    except re.error as exc:
        raise _SyntaxErr(f'invalid regex "{pattern}": {exc}') from None
    return pattern


def _expectation(draft: _Draft, text: str, line: int) -> Expectation:
    if (match := _EXPECT.fullmatch(text)) is None:
        raise _SyntaxErr(
            "invalid expect statement, must match `expect <type> <match_type>: "
            "<string>` (fail|warn|no_warn|info|no_info|ordered, msg|regex)"
        )
    kind, how, value = ExpectKind(match[1]), match[2], (match[3] or "").strip()
    if how and kind in (ExpectKind.ORDERED, ExpectKind.NO_WARN, ExpectKind.NO_INFO):
        raise _SyntaxErr(f"expect {kind.value} takes no {how}: <string>")
    kinds = [e.kind for e in draft.expectations] + [kind]
    for yes, no in ((ExpectKind.WARN, ExpectKind.NO_WARN), (ExpectKind.INFO, ExpectKind.NO_INFO)):
        if yes in kinds and no in kinds:
            raise _SyntaxErr(f"{yes.value} and {no.value} expectations cannot be used together")
    if kinds.count(ExpectKind.FAIL) > 1:
        raise _SyntaxErr("only one expect fail line (or eval_fail) is allowed")
    if kind is ExpectKind.ORDERED:
        draft.instant_only("expect ordered")
    if how == "regex":
        return Expectation(kind=kind, regex=_regex(value), line=line)
    return Expectation(kind=kind, msg=value if how else None, line=line)


def _build(draft: _Draft) -> EvalInstant | EvalRange:
    fail = next((e for e in draft.expectations if e.kind is ExpectKind.FAIL), None)
    common: dict[str, Any] = {
        k.value: any(e.kind is k for e in draft.expectations) for k in ExpectKind
    }
    common.update(
        line=draft.line,
        expr=draft.expr,
        expectations=draft.expectations,
        expect_fail_msg=fail and fail.msg,
        expect_fail_regex=fail and fail.regex,
    )
    if span := draft.span or draft.range_vector:
        matrix = [
            _series(ExpectedSeries, lb, ln, vals, span) for lb, (ln, vals) in draft.series.items()
        ]
        if draft.span:
            start, end, step = span
            return EvalRange(start_ms=start, end_ms=end, step_ms=step, expected=matrix, **common)
        rv = RangeVector(start_ms=span[0], end_ms=span[1], step_ms=span[2])
        return EvalInstant(at_ms=rv.end_ms, range_vector=rv, expected_range=matrix, **common)
    samples = [
        ExpectedSample(labels=lb, value=vals[0], line=ln)
        for lb, (ln, vals) in draft.series.items()
        if vals[0] is not None
    ]
    return EvalInstant(
        at_ms=draft.at_ms,
        expected=samples,
        expected_scalar=draft.scalar,
        expected_string=draft.string,
        **common,
    )


def _series(
    cls: type[_T], labels: Labels, line: int, values: list[float | None], span: tuple[int, int, int]
) -> _T:
    times, present = notation.place_values(labels, values, span)
    return cls(
        labels=labels,
        timestamps_ms=np.array(times, dtype=np.int64),
        line=line,
        values=np.array(present, dtype=np.float64),
    )
