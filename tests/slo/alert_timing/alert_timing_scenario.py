"""The scripted traffic of the alert timing proof, and an exact model of what it must alert.

Time is whole minutes from 0 (where ``promtool test rules`` starts). The rules are evaluated
at every whole minute; each service's counters are scraped at half past every minute
(``m:30``). No sample ever sits on the left edge of a range (every range is a whole number of
minutes), so Prometheus 2.42's left-closed ranges and the left-open ranges of Prometheus 3
(which sloscope follows) select the same samples, and the timestamps compared below mean
the same thing in both.

Increment ``m`` is what a counter grew between the scrapes at ``(m-1):30`` and ``m:30``.
At the evaluation at minute ``T`` a ``[w]`` range (``w`` whole minutes) holds the scrapes
``T-w .. T-1`` (those after time 0), so ``rate()`` sees the increments ``T-w+1 .. T-1``:
the extrapolation to the range's edges is the same factor for the error and the total
counter (same scrape times, counters far from zero), so each recorded error ratio is exactly
errors / requests over those increments. :func:`window_ratio` computes that with fractions,
and :func:`expected_transitions` runs Prometheus' alert state machine over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "MINUTES",
    "SERVICES",
    "Service",
    "Tier",
    "expected_transitions",
    "narrowest_margin",
    "window_ratio",
]

#: Evaluations at minutes 0 .. MINUTES-1; the last transition is at minute 890.
MINUTES = 960
DAY = 1440


@dataclass(frozen=True)
class Tier:
    severity: str
    short_minutes: int
    long_minutes: int
    factor: Fraction  # burn rate: budget share x period / long window (SRE workbook)


def _tiers(period_days: int) -> tuple[Tier, ...]:
    period = period_days * DAY
    return tuple(
        Tier(severity, short, long, share * period / long)
        for severity, short, long, share in (
            ("page", 5, 60, Fraction(2, 100)),
            ("page", 30, 360, Fraction(5, 100)),
            ("ticket", 120, DAY, Fraction(10, 100)),
            ("ticket", 360, 3 * DAY, Fraction(10, 100)),
        )
    )


@dataclass(frozen=True)
class Service:
    """Steady traffic with a baseline of errors and one incident of ``incident_errors`` errors
    a minute during the increments ``incident_start .. incident_end - 1``."""

    name: str
    alertname: str
    budget: Fraction  # 1 - objective
    period_days: int
    requests: int  # per minute, always
    baseline_errors: int  # per minute, outside the incident
    incident_start: int
    incident_end: int
    incident_errors: int

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return _tiers(self.period_days)

    def errors(self, m: int) -> int:
        """Failed requests in increment ``m``."""
        inside = self.incident_start <= m < self.incident_end
        return self.incident_errors if inside else self.baseline_errors

    def counter(self, code: str, scrapes: int) -> list[int]:
        """``http_requests_total{code=...}`` at the scrapes ``0:30 .. (scrapes-1):30``.

        Counters start far from zero, so ``rate()`` never limits its extrapolation at zero.
        """
        value = 1_000_000 if code == "200" else 100_000
        values = [value]
        for m in range(1, scrapes):
            errors = self.errors(m)
            value += errors if code == "500" else self.requests - errors
            values.append(value)
        return values


#: checkout: 2000 requests a minute, 0.05% failing (half its budget), then a full outage of
#: 20 minutes (increments 120..139: every request fails) -- the fast burn.
CHECKOUT = Service(
    "checkout", "CheckoutAvailability", Fraction(1, 1000), 30, 2000, 1, 120, 140, 2000
)
#: search: 1000 requests a minute, 0.2% failing (a fifth of its budget), then 4 hours at 4%
#: (increments 360..599: 4x the budget, under the 5.6x page tier) -- the slow burn.
SEARCH = Service("search", "SearchAvailability", Fraction(1, 100), 28, 1000, 2, 360, 600, 40)
SERVICES = (CHECKOUT, SEARCH)


def window_ratio(service: Service, minutes: int, at: int) -> Fraction | None:
    """The error ratio over ``[<minutes>m]`` at the evaluation at minute ``at`` (None: fewer
    than two scrapes in the range, so ``rate()`` returns nothing)."""
    first, last = max(1, at - minutes + 1), at - 1
    if last < first:
        return None
    increments = range(first, last + 1)
    return Fraction(sum(service.errors(m) for m in increments), service.requests * len(increments))


def _burning(service: Service, tier: Tier, at: int) -> bool:
    threshold = tier.factor * service.budget
    ratios = (window_ratio(service, w, at) for w in (tier.short_minutes, tier.long_minutes))
    return all(r is not None and r > threshold for r in ratios)


def conditions(service: Service, at: int) -> dict[str, bool]:
    """Whether each alert's expression returns a sample at minute ``at``: any of its tiers
    burning, and for the ticket not the page too (the compiler's ``unless``)."""
    page = any(_burning(service, t, at) for t in service.tiers if t.severity == "page")
    ticket = any(_burning(service, t, at) for t in service.tiers if t.severity == "ticket")
    return {"page": page, "ticket": ticket and not page}


def expected_transitions(for_minutes: dict[str, int]) -> list[tuple[int, str, str, str]]:
    """(minute, alertname, severity, new state) for every change of every alert, following
    Prometheus: active -> pending, -> firing once active for ``for``; inactive when the
    expression stops returning (a firing alert is then resolved)."""
    changes = []
    for service in SERVICES:
        for severity, hold in for_minutes.items():
            state, since = "inactive", 0
            for at in range(MINUTES):
                new = state
                if not conditions(service, at)[severity]:
                    new = "inactive"
                elif state == "inactive":
                    new, since = "pending", at
                if new == "pending" and at - since >= hold:
                    new = "firing"
                if new != state:
                    name = "resolved" if new == "inactive" else new
                    changes.append((at, service.alertname, severity, name))
                state = new
    return sorted(changes)


def narrowest_margin() -> float:
    """The smallest relative distance of any window's error ratio from its tier's threshold
    at any evaluation: float rounding cannot flip a comparison this far away."""
    margins = []
    for service in SERVICES:
        for tier in service.tiers:
            threshold = tier.factor * service.budget
            for w in (tier.short_minutes, tier.long_minutes):
                for at in range(MINUTES):
                    ratio = window_ratio(service, w, at)
                    if ratio is not None:
                        margins.append(abs(ratio - threshold) / threshold)
    return float(min(margins))
