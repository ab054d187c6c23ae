"""The windows an SLO is measured over and the burn-rate tiers its alerts use.

The tiers are the multi-window multi-burn-rate alerts of Google's SRE workbook (chapter 5,
"Alerting on SLOs"): each tier spends a share of the whole period's error budget within its
long window, and its short window (1/12 of the long one) makes the alert reset quickly once
the burn stops. The burn-rate factor is derived from the SLO's period, not fixed to 30 days:

    factor = budget share x period / long window

so a 30d SLO pages at 14.4 (2% in 1h) and 6 (5% in 6h) and tickets at 3 (10% in 1d) and
1 (10% in 3d), while a 28d SLO pages at 13.44 and 5.6 and tickets at 2.8 and 0.9333...
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

__all__ = [
    "SLI_WINDOWS_MS",
    "BurnRateTier",
    "burn_rate_tiers",
    "format_duration",
    "format_number",
]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

Severity = Literal["page", "ticket"]

#: (severity, long window, short window, share of the period's budget spent in the long window)
_WORKBOOK_TIERS: tuple[tuple[Severity, int, int, Fraction], ...] = (
    ("page", HOUR_MS, 5 * MINUTE_MS, Fraction(2, 100)),
    ("page", 6 * HOUR_MS, 30 * MINUTE_MS, Fraction(5, 100)),
    ("ticket", DAY_MS, 2 * HOUR_MS, Fraction(10, 100)),
    ("ticket", 3 * DAY_MS, 6 * HOUR_MS, Fraction(10, 100)),
)

#: Every window the error ratio is recorded over (Sloth records the same seven).
SLI_WINDOWS_MS: tuple[int, ...] = tuple(
    sorted({w for _, long, short, _ in _WORKBOOK_TIERS for w in (long, short)})
)


@dataclass(frozen=True)
class BurnRateTier:
    """One window pair of an alert: fires when both windows burn faster than ``factor``."""

    severity: Severity
    long_ms: int
    short_ms: int
    budget_share: Fraction
    factor: Fraction

    @property
    def windows_ms(self) -> tuple[int, int]:
        """Short window first, as Sloth writes the pair."""
        return (self.short_ms, self.long_ms)


def burn_rate_tiers(period_ms: int) -> tuple[BurnRateTier, ...]:
    """The four workbook tiers for an SLO period of ``period_ms``, page tiers first."""
    if period_ms <= 0:
        raise ValueError(f"the SLO period must be positive, not {period_ms} ms")
    return tuple(
        BurnRateTier(severity, long, short, share, share * period_ms / long)
        for severity, long, short, share in _WORKBOOK_TIERS
    )


_UNITS = (
    ("y", 365 * DAY_MS, True),
    ("w", 7 * DAY_MS, True),
    ("d", DAY_MS, False),
    ("h", HOUR_MS, False),
    ("m", MINUTE_MS, False),
    ("s", 1000, False),
    ("ms", 1, False),
)


def format_duration(ms: int) -> str:
    """Prometheus' ``model.Duration.String()``: ``30d``, ``4w`` (28 days), ``1h30m``.

    Years and weeks are only used when they divide the duration exactly, as in Prometheus,
    which is why a 28-day SLO's period ratio is ``slo:sli_error:ratio_rate4w`` in Sloth too.
    """
    if ms < 0:
        raise ValueError(f"negative duration: {ms} ms")
    if ms == 0:
        return "0s"
    parts = []
    for unit, size, exact in _UNITS:
        if exact and ms % size:
            continue
        if count := ms // size:
            parts.append(f"{count}{unit}")
            ms -= count * size
    return "".join(parts)


def format_number(value: float | Fraction | Decimal) -> str:
    """The shortest text that reads back as the same float; whole numbers without ``.0``."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)
