"""Problems found in SLO spec files, each with the file, line and column it points at."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpecError"]


@dataclass(frozen=True, order=True)
class SpecError:
    """One problem in a spec file; ``str()`` gives ``file:line:col: message``.

    Line and column are 1-based; both are 0 when the problem concerns the whole file (it
    cannot be read). Errors sort by file, then position.
    """

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"
