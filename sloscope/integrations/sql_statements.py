"""Reading the operation and main table out of SQL text, cheaply and with bounded results.

Used for metric labels and span names, so anything unusual (a subquery, an expression, an
unknown verb) maps to a fixed value instead of a new label value.
"""

from __future__ import annotations

import re

__all__ = ["parse_statement"]

_OPERATIONS = frozenset(
    "SELECT INSERT UPDATE DELETE MERGE REPLACE CREATE DROP ALTER TRUNCATE BEGIN COMMIT ROLLBACK "
    "SAVEPOINT RELEASE SET SHOW PRAGMA EXPLAIN VACUUM ANALYZE GRANT REVOKE CALL COPY LOCK".split()
)
# Words, quoted identifiers and parentheses; comments and string literals are skipped first.
_TOKEN = re.compile(r'"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][\w$]*|[().,;]')
_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
_NAME = re.compile(r"[\w$.]{1,64}")
_TABLE_AFTER = {
    "SELECT": {"FROM"}, "DELETE": {"FROM"}, "INSERT": {"INTO"}, "UPDATE": set(),
    "TRUNCATE": set(), "CREATE": {"TABLE"}, "DROP": {"TABLE"}, "ALTER": {"TABLE"},
}  # fmt: skip
_SKIP = {"ONLY", "LATERAL", "TABLE", "OR", "IGNORE", "IF", "NOT", "EXISTS"}
_PARSE_CHARS = 2000  # long statements: the verb and main table are near the start


def parse_statement(statement: str) -> tuple[str, str]:
    """``(operation, main table)`` from SQL text, cheaply: ``("OTHER", "")`` when unsure."""
    tokens = _TOKEN.findall(_NOISE.sub(" ", statement[:_PARSE_CHARS]))
    words = [t.upper() for t in tokens]
    start: int | None = next((i for i, w in enumerate(words) if w != "("), len(words))
    if start is not None and start < len(words) and words[start] == "WITH":
        start = _find_top(words, start, {"SELECT", "INSERT", "UPDATE", "DELETE"})
    if start is None or start >= len(words) or words[start] not in _OPERATIONS:
        return "OTHER", ""
    verb = words[start]
    if verb not in _TABLE_AFTER:
        return verb, ""
    at = start if verb in ("UPDATE", "TRUNCATE") else _find_top(words, start, _TABLE_AFTER[verb])
    return verb, "" if at is None else _name_at(tokens, at + 1)


def _find_top(words: list[str], start: int, keywords: set[str]) -> int | None:
    """Index of the first of ``keywords`` after ``start`` outside parentheses."""
    depth = 0
    for i in range(start + 1, len(words)):
        depth += (words[i] == "(") - (words[i] == ")")
        if depth == 0 and words[i] in keywords:
            return i
    return None


def _name_at(tokens: list[str], i: int) -> str:
    while i < len(tokens) and tokens[i].upper() in _SKIP:
        i += 1
    parts: list[str] = []
    while i < len(tokens) and tokens[i] not in "(),;." and len(parts) < 3:
        parts.append(tokens[i].strip('"`[]'))
        if tokens[i + 1 : i + 2] != ["."]:
            break
        i += 2
    name = ".".join(parts)
    # Bounded label values: anything odd (a subquery, an expression) becomes "".
    return name if _NAME.fullmatch(name) else ""
