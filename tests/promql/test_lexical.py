"""The pre-parse pass only touches raw strings and number literals."""

from __future__ import annotations

import pytest

from collector.promql.errors import PromQLParseError
from collector.promql.lexical import normalise


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("1_000_000", "1000000"),
        ("0x_1f + 0x1_f", "0x1f + 0x1f"),
        ("1_0.2_5e3", "10.25e3"),
        ("`C:\\new\\dir`", '"C:\\\\new\\\\dir"'),
        ('`say "hi"`', '"say \\"hi\\""'),
        ('rate(a_1{b="1_2", c=`x_1`}[5m])', 'rate(a_1{b="1_2", c="x_1"}[5m])'),
        ("a offset 1h30m", "a offset 1h30m"),
        ("x # 1_0 and `raw\\` stay\n+ 2", "x # 1_0 and `raw\\` stay\n+ 2"),
        ("metric_2_3 + .5", "metric_2_3 + .5"),
        ('"esc\\"aped 1_0"', '"esc\\"aped 1_0"'),
    ],
)
def test_normalise(expr, expected):
    assert normalise(expr) == expected


def test_numbers_beyond_float64_are_parse_errors():
    with pytest.raises(PromQLParseError, match='parsing "1e400": value out of range'):
        normalise("2 * 1e400")
