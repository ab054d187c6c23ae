"""Rule unit-test files, in ``promtool test rules``' format.

>>> test_file = parse_unittest_text('''
... rule_files: [rules.yml]
... evaluation_interval: 1m
... tests:
...   - interval: 1m
...     input_series:
...       - series: 'up{job="api"}'
...         values: '1 0x3'
...     alert_rule_test:
...       - eval_time: 3m
...         alertname: ApiDown
...         exp_alerts: [{exp_labels: {job: api}}]
... ''', "tests/api_test.yml")
>>> test_file.rule_files, test_file.tests[0].input_series[0].values
(['tests/rules.yml'], [1.0, 0.0, 0.0, 0.0, 0.0])

Problems are collected (every one, with ``file:line:column``) and raised together as a
:class:`UnitTestFormatError`. ``rule_files`` are relative to the test file and may be globs;
they are resolved when the file is read (:func:`resolve_rule_files`).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from dataclasses import dataclass, field

from collector.model import Labels
from slo.rules.unittest_fields import FieldReader

__all__ = [
    "AlertTest",
    "ExpectedAlert",
    "ExpectedSample",
    "InputSeries",
    "PromqlTest",
    "TestGroup",
    "UnitTestFile",
    "UnitTestFormatError",
    "parse_unittest_text",
    "read_unittest_file",
    "resolve_rule_files",
]

DEFAULT_EVALUATION_INTERVAL_MS = 60_000


class UnitTestFormatError(ValueError):
    """A test file that cannot be read; ``problems`` are ``file:line:col: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class InputSeries:
    labels: Labels
    values: list[float | None]  # None: no sample at that step (``_``)


@dataclass(frozen=True)
class ExpectedAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class AlertTest:
    eval_time_ms: int
    alertname: str
    exp_alerts: tuple[ExpectedAlert, ...]


@dataclass(frozen=True)
class ExpectedSample:
    labels: Labels
    value: float


@dataclass(frozen=True)
class PromqlTest:
    expr: str
    eval_time_ms: int
    exp_samples: tuple[ExpectedSample, ...]


@dataclass(frozen=True)
class TestGroup:
    """One entry of ``tests``: its own input series, checks and external labels."""

    __test__ = False  # not a pytest test class, despite the name

    interval_ms: int
    input_series: tuple[InputSeries, ...] = ()
    alert_tests: tuple[AlertTest, ...] = ()
    promql_tests: tuple[PromqlTest, ...] = ()
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    name: str = ""
    start_ms: int = 0

    @property
    def max_eval_time_ms(self) -> int:
        times = [t.eval_time_ms for t in self.alert_tests + self.promql_tests]  # type: ignore[operator]
        return max(times, default=0)


@dataclass(frozen=True)
class UnitTestFile:
    path: str
    rule_files: list[str]
    evaluation_interval_ms: int = DEFAULT_EVALUATION_INTERVAL_MS
    group_eval_order: tuple[str, ...] = ()
    tests: tuple[TestGroup, ...] = ()
    fuzzy_compare: bool = False


def read_unittest_file(path: str) -> UnitTestFile:
    """Read and parse a test file; raises :class:`UnitTestFormatError`."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise UnitTestFormatError([f"{path}: cannot read test file: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        message = f"{path}: cannot read test file: not UTF-8 ({exc.reason} at byte {exc.start})"
        raise UnitTestFormatError([message]) from None
    return parse_unittest_text(text, path)


def parse_unittest_text(text: str, path: str) -> UnitTestFile:
    """Parse a test file's text; ``path`` names it in problems and anchors ``rule_files``."""
    reader = FieldReader.parse(text, path)
    root = reader.mapping_fields(
        reader.root,
        "the test file",
        ("rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"),
    )
    interval = reader.duration(root.get("evaluation_interval")) or DEFAULT_EVALUATION_INTERVAL_MS
    tests = tuple(
        _test_group(reader, node, interval) for node in reader.items(root.get("tests"), "tests")
    )
    result = UnitTestFile(
        path=path,
        rule_files=[
            _relative_to(path, f) for f in reader.strings(root.get("rule_files"), "rule_files")
        ],
        evaluation_interval_ms=interval,
        group_eval_order=tuple(reader.strings(root.get("group_eval_order"), "group_eval_order")),
        tests=tests,
        fuzzy_compare=reader.boolean(root.get("fuzzy_compare")),
    )
    if reader.problems:
        raise UnitTestFormatError(reader.problems)
    return result


def resolve_rule_files(patterns: list[str]) -> tuple[list[str], list[str]]:
    """Expand globs (sorted, as Go's filepath.Glob); returns files and patterns that matched
    nothing (promtool warns about those and goes on)."""
    files: list[str] = []
    unmatched: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            unmatched.append(pattern)
        files += matches
    return files, unmatched


def _relative_to(test_path: str, rule_file: str) -> str:
    if not rule_file or os.path.isabs(rule_file):
        return rule_file
    return os.path.normpath(os.path.join(os.path.dirname(test_path), rule_file))


_GROUP_KEYS = (
    "interval",
    "input_series",
    "alert_rule_test",
    "promql_expr_test",
    "external_labels",
    "external_url",
    "name",
    "start_timestamp",
)


def _test_group(reader: FieldReader, node, evaluation_interval_ms: int) -> TestGroup:
    f = reader.mapping_fields(node, "a test", _GROUP_KEYS)
    return TestGroup(
        interval_ms=reader.duration(f.get("interval")) or evaluation_interval_ms,
        input_series=tuple(
            InputSeries(*s)
            for item in reader.items(f.get("input_series"), "input_series")
            if (s := reader.input_series(item)) is not None
        ),
        alert_tests=tuple(
            _alert_test(reader, item)
            for item in reader.items(f.get("alert_rule_test"), "alert_rule_test")
        ),
        promql_tests=tuple(
            _promql_test(reader, item)
            for item in reader.items(f.get("promql_expr_test"), "promql_expr_test")
        ),
        external_labels=reader.string_map(f.get("external_labels")),
        external_url=reader.string(f.get("external_url")),
        name=reader.string(f.get("name")),
        start_ms=_start_ms(reader, f.get("start_timestamp")),
    )


def _alert_test(reader: FieldReader, node) -> AlertTest:
    f = reader.mapping_fields(node, "an alert_rule_test", ("eval_time", "alertname", "exp_alerts"))
    expected = []
    for item in reader.items(f.get("exp_alerts"), "exp_alerts"):
        a = reader.mapping_fields(item, "an expected alert", ("exp_labels", "exp_annotations"))
        expected.append(
            ExpectedAlert(
                reader.string_map(a.get("exp_labels")), reader.string_map(a.get("exp_annotations"))
            )
        )
    return AlertTest(
        eval_time_ms=reader.duration(f.get("eval_time")) or 0,
        alertname=reader.string(f.get("alertname")),
        exp_alerts=tuple(expected),
    )


def _promql_test(reader: FieldReader, node) -> PromqlTest:
    f = reader.mapping_fields(node, "a promql_expr_test", ("expr", "eval_time", "exp_samples"))
    samples = []
    for item in reader.items(f.get("exp_samples"), "exp_samples"):
        s = reader.mapping_fields(item, "an expected sample", ("labels", "value", "histogram"))
        if "histogram" in s:
            reader.problem(s["histogram"].key_node, "native histograms are not supported")
        labels = reader.metric(s.get("labels"))
        samples.append(ExpectedSample(labels, reader.number(s.get("value"))))
    return PromqlTest(
        expr=reader.string(f.get("expr")),
        eval_time_ms=reader.duration(f.get("eval_time")) or 0,
        exp_samples=tuple(samples),
    )


def _start_ms(reader: FieldReader, entry) -> int:
    """``start_timestamp``: unix seconds or RFC 3339, as promtool's parseTime."""
    text = reader.string(entry)
    if not text:
        return 0
    try:
        return round(float(text) * 1000)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        reader.problem(entry.value, f'cannot parse "{text}" to a valid timestamp')
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return round(moment.timestamp() * 1000)
