"""Burn-rate tiers derived from the SLO period, and Prometheus' duration format."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.promql.series_notation import parse_duration_ms
from slo.compile import burn_rate_tiers
from slo.compile.windows import SLI_WINDOWS_MS, format_duration, format_number

DAY_MS = 86_400_000
H = 3_600_000
M = 60_000


def _factors(days: int) -> list[str]:
    return [format_number(t.factor) for t in burn_rate_tiers(days * DAY_MS)]


def test_30d_factors_are_the_workbooks():
    assert _factors(30) == ["14.4", "6", "3", "1"]


def test_28d_factors_are_derived_from_the_period():
    assert _factors(28) == ["13.44", "5.6", "2.8", "0.9333333333333333"]


def test_7d_factors_are_derived_from_the_period():
    assert _factors(7) == ["3.36", "1.4", "0.7", "0.23333333333333334"]


def test_tiers_spend_the_workbook_budget_shares_in_their_long_windows():
    tiers = burn_rate_tiers(30 * DAY_MS)
    assert [(t.severity, t.short_ms, t.long_ms) for t in tiers] == [
        ("page", 5 * M, H),
        ("page", 30 * M, 6 * H),
        ("ticket", 2 * H, 24 * H),
        ("ticket", 6 * H, 3 * 24 * H),
    ]
    assert [t.budget_share for t in tiers] == [Fraction(2, 100), Fraction(5, 100)] + [
        Fraction(10, 100)
    ] * 2


@given(days=st.integers(min_value=1, max_value=400))
def test_a_tier_at_its_factor_spends_exactly_its_share_of_the_budget(days: int):
    for tier in burn_rate_tiers(days * DAY_MS):
        assert tier.factor * tier.long_ms / (days * DAY_MS) == tier.budget_share


def test_sli_windows_are_slothes_seven():
    assert [format_duration(w) for w in SLI_WINDOWS_MS] == [
        "5m",
        "30m",
        "1h",
        "2h",
        "6h",
        "1d",
        "3d",
    ]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (30 * DAY_MS, "30d"),
        (28 * DAY_MS, "4w"),
        (7 * DAY_MS, "1w"),
        (365 * DAY_MS, "1y"),
        (90 * DAY_MS, "90d"),
        (H + 30 * M, "1h30m"),
        (1500, "1s500ms"),
        (8 * DAY_MS, "8d"),
    ],
)
def test_format_duration_is_prometheus_model_duration(ms: int, text: str):
    assert format_duration(ms) == text


@given(ms=st.integers(min_value=0, max_value=10 * 365 * DAY_MS))
def test_format_duration_reads_back(ms: int):
    assert parse_duration_ms(format_duration(ms)) == ms


def test_non_positive_period_is_rejected():
    with pytest.raises(ValueError, match="positive"):
        burn_rate_tiers(0)
