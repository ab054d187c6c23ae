"""How a rule and a group fared at their last evaluation (what ``/api/v1/rules`` shows)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["GroupHealth", "RuleEvalError", "RuleHealth", "RuleHealthState"]


class RuleHealth(enum.Enum):
    """Prometheus' rule health strings."""

    UNKNOWN = "unknown"
    OK = "ok"
    ERR = "err"

    def __str__(self) -> str:
        return self.value


class RuleEvalError(Exception):
    """A rule's evaluation failed as a whole (duplicate label sets, limit exceeded)."""


@dataclass(frozen=True)
class RuleHealthState:
    """One rule's health after its last evaluation.

    ``last_eval_ms`` is the evaluation timestamp (the aligned slot, not the wall clock, so
    replays and tests are deterministic); ``eval_duration_s`` is how long the rule took.
    """

    health: RuleHealth = RuleHealth.UNKNOWN
    last_error: str = ""
    last_eval_ms: int | None = None
    eval_duration_s: float = 0.0


@dataclass(frozen=True)
class GroupHealth:
    """A group's last evaluation: its timestamp and how long all its rules took."""

    last_eval_ms: int | None = None
    eval_duration_s: float = 0.0
