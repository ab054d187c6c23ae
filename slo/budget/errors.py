"""The one error budget analytics raises, and the objective check every entry point shares."""

from __future__ import annotations

import math

__all__ = ["BudgetError", "allowed_error_ratio"]


class BudgetError(ValueError):
    """Input the budget functions cannot work with; the message says what and where."""


def allowed_error_ratio(objective: float, where: str | None = None) -> float:
    """The error budget as a ratio, ``1 - objective``.

    ``where`` (``file:line:column`` of the SLO) prefixes the message, so a bad objective in a
    spec points at the spec. An objective of 1.0 is rejected: it allows no bad events at all,
    so every "remaining" and "burn rate" figure would divide by zero.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        raise BudgetError(f"{prefix}objective must be a number, got {objective!r}")
    if math.isnan(objective) or not 0.0 < objective <= 1.0:
        raise BudgetError(f"{prefix}objective must be a fraction in (0, 1), got {objective!r}")
    if objective == 1.0:
        raise BudgetError(
            f"{prefix}objective 1.0 (100%) leaves no error budget; "
            "budget, burn rate and exhaustion are undefined, use an objective below 1"
        )
    return 1.0 - objective
