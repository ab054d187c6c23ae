"""One problem in a rule file, with where it was written and which group and rule it is in."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RuleFileError"]


@dataclass(frozen=True)
class RuleFileError:
    """A problem found while loading a Prometheus-format rule file.

    ``line`` and ``column`` are 1-based (0 when the problem has no place, e.g. an unreadable
    file); ``group`` is None for file-level problems and ``rule_index`` (1-based, as promtool
    counts) is None for group-level ones.

    >>> str(RuleFileError("r.yml", 4, 17, "yolo", 1, "Hello", "invalid field 'for'"))
    'r.yml:4:17: group "yolo", rule 1 ("Hello"): invalid field \\'for\\''
    """

    file: str
    line: int
    column: int
    group: str | None
    rule_index: int | None
    rule_name: str | None
    message: str

    @property
    def where(self) -> str:
        """``file:line:column``, or just the file when the problem has no position."""
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        context = ""
        if self.group is not None:
            context = f'group "{self.group}"'
            if self.rule_index is not None:
                context += f", rule {self.rule_index}"
                if self.rule_name:
                    context += f' ("{self.rule_name}")'
            context += ": "
        return f"{self.where}: {context}{self.message}"
