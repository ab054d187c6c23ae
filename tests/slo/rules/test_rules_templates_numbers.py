"""Go's number formatting in templates: ``{{ $value }}`` (strconv 'g', shortest), ``%.4g`` in
humanize, and printf's verbs, flags and complaints."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slo.rules.template_gofmt import format_float
from slo.rules.templates import expand_template

finite = st.floats(allow_nan=False, allow_infinity=False)


def value_text(value: float) -> str:
    return expand_template("{{ $value }}", labels={}, value=value)


@given(finite)
def test_value_is_the_shortest_text_that_reads_back(value: float) -> None:
    text = value_text(value)
    assert float(text) == value
    assert text == format_float(value)


@given(finite.filter(lambda v: v != 0))
def test_value_uses_exponent_form_outside_go_range(value: float) -> None:
    text = value_text(value)
    exponent = Decimal(repr(abs(value))).adjusted()
    assert ("e" in text) == (exponent < -4 or exponent >= 6)
    if "e" in text:
        mantissa, power = text.split("e")
        assert power[0] in "+-" and len(power) >= 3  # Go: at least two exponent digits
        assert int(power) == exponent
        assert not mantissa.endswith("0") or "." not in mantissa


@given(finite)
def test_printf_fixed_precision_matches_c_rounding(value: float) -> None:
    text = expand_template('{{ printf "%.2f" $value }}', labels={}, value=value)
    assert text == f"{value:.2f}"


@given(st.floats(min_value=1, max_value=1e27))
def test_humanize_keeps_four_significant_digits(value: float) -> None:
    text = expand_template("{{ humanize $value }}", labels={}, value=value)
    prefixes = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    prefixes |= {"Z": 1e21, "Y": 1e24}
    number = text.rstrip("kMGTPEZY")
    scaled = float(number) * prefixes[text[len(number) :]]
    assert math.isclose(scaled, value, rel_tol=1e-3)


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        # outputs of Go's fmt via promtool 2.42
        (
            "%+d|% d|%+.1e|%08.3f|%-8.2f|%8s|%-8s|%.2s",
            '5 5 12345.678 -3.14159 2.5 "ab" "ab" "héllo"',
            "+5| 5|+1.2e+04|-003.142|2.50    |      ab|ab      |hé",
        ),
        (
            "%q|%x|% x|%#x|%#o|%o|%b|%U|%c",
            '"a\\nb\\x01é" 255 "hi" 255 8 8 5 65 233',
            '"a\\nb\\x01é"|ff|68 69|0xff|010|10|101|U+0041|é',
        ),
        (
            "%6.2f|%-6.2f|%+.0f|%.0f|%.0f|%g|%G|%.3g|%10.3e|%v|%v",
            "1.005 1.005 2.5 2.5 3.5 1e-7 1e21 1234567.0 0.000123 -1e-05 100.5",
            "  1.00|1.00  |+2|2|4|1e-07|1E+21|1.23e+06| 1.230e-04|-1e-05|100.5",
        ),
        (
            "%v %v %v %v %v %d %s",
            "true nil (args 1) $labels.job 1.5 true false",
            "true <nil> map[arg0:1] api 1.5 %!d(bool=true) %!s(bool=false)",
        ),
        ("%*d|%-*d|%.*f", "5 42 5 42 2 3.14159", "   42|42   |3.14"),
        (
            "%08.3f|%+08d|%-08d|%x|%X",
            "-1.5 42 42 -255 3.5",
            "-001.500|+0000042|42      |-ff|0X1.CP+01",
        ),
        (
            "%f %e %g",
            "1e100 1e100 1e100",
            "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469"
            "985856815104.000000 1.000000e+100 1e+100",
        ),
        ("%d %s %d %z %s", "1.5 3 1 2 nil", "%!d(float64=1.5) %!s(int=3) 1 %!z(int=2) %!s(<nil>)"),
        ("%d %d", "1", "1 %!d(MISSING)"),
        ("%d", "1 2", "1%!(EXTRA int=2)"),
        ("abc%", "", "abc%!(NOVERB)"),
        ("%5t|%-7v|%q", "true false 65", " true|false  |'A'"),
        ("%.3v|%10v|%-10v|", '3.14159 "x" 1.5', "3.14|         x|1.5       |"),
    ],
)
def test_printf_matches_go(fmt: str, args: str, expected: str) -> None:
    text = expand_template(f'{{{{ printf "{fmt}" {args} }}}}', labels={"job": "api"}, value=0)
    assert text == expected


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("1", "1"), ("1.0", "1"), ("1e3", "1000"), ("0x10", "16"), ("'a'", "97"), ("-2", "-2")],
)
def test_number_literals_take_go_types(literal: str, expected: str) -> None:
    assert expand_template(f"{{{{ {literal} }}}}", labels={}, value=0) == expected
