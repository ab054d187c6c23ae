"""The one error the compiler raises: an SLO that cannot become valid Prometheus rules."""

from __future__ import annotations

from slo.spec.model import SourcePosition

__all__ = ["CompileError"]


class CompileError(ValueError):
    """An SLO the compiler cannot turn into rules; ``str()`` starts with ``file:line:column``."""

    def __init__(self, position: SourcePosition, message: str) -> None:
        super().__init__(f"{position}: {message}")
        self.position = position
        self.message = message
