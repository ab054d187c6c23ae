"""The lexer of Go's text/template: text, ``{{ actions }}``, trim markers and comments.

Items carry their byte offset in the template (Go reports execution errors as
``line:column`` from it) and their line (parse errors name only the line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

__all__ = ["Item", "ItemType", "lex"]

_SPACE = " \t\r\n"
_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "nil", "range"}
_KEYWORDS |= {"template", "with"}
_ALNUM = re.compile(r"[\w]*", re.UNICODE)
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*\.?[0-9a-fA-F_]*(?:[pP][+-]?[0-9_]+)?"
    r"|0[oObB][0-7_]*|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?"
)


class ItemType(Enum):
    ERROR = auto()
    EOF = auto()
    TEXT = auto()
    LEFT_DELIM = auto()
    RIGHT_DELIM = auto()
    SPACE = auto()
    BOOL = auto()
    CHAR = auto()  # any other printable ASCII character, e.g. ','
    CHAR_CONSTANT = auto()
    DECLARE = auto()
    ASSIGN = auto()
    FIELD = auto()
    IDENTIFIER = auto()
    LEFT_PAREN = auto()
    RIGHT_PAREN = auto()
    NUMBER = auto()
    PIPE = auto()
    RAW_STRING = auto()
    STRING = auto()
    VARIABLE = auto()
    DOT = auto()
    KEYWORD = auto()  # val is the keyword


@dataclass(frozen=True)
class Item:
    type: ItemType
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        """As Go's parse errors quote a token: ``"foo"``, ``<else>``, ``EOF``."""
        if self.type is ItemType.EOF:
            return "EOF"
        if self.type is ItemType.ERROR:
            return self.val
        if self.type is ItemType.KEYWORD or self.type is ItemType.DOT:
            return f"<{self.val}>"
        from slo.rules.template_gofmt import go_quote

        if len(self.val) > 10:
            return go_quote(self.val)[:11] + "..."
        return go_quote(self.val)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.items: list[Item] = []
        self.paren_depth = 0

    def line_at(self, pos: int) -> int:
        return 1 + self.text.count("\n", 0, pos)

    def emit(self, kind: ItemType, start: int, val: str) -> None:
        self.items.append(Item(kind, start, val, self.line_at(start)))

    def error(self, start: int, message: str) -> None:
        self.emit(ItemType.ERROR, start, message)

    def at_right_delim(self) -> tuple[bool, bool]:
        """(at the closing delimiter, with a trim marker before it)."""
        rest = self.text[self.pos : self.pos + 4]
        if len(rest) >= 4 and rest[0] in _SPACE and rest[1:] == "-}}":
            return True, True
        return rest.startswith("}}"), False

    def run(self) -> list[Item]:
        while True:
            if not self.lex_text():
                break
            if not self.lex_action():
                break
        return self.items

    def lex_text(self) -> bool:
        """Text up to the next ``{{``; False at the end of input."""
        found = self.text.find("{{", self.pos)
        end = len(self.text) if found < 0 else found
        text = self.text[self.pos : end]
        if found >= 0 and self.text[found + 2 : found + 3] == "-":
            if self.text[found + 3 : found + 4] and self.text[found + 3] in _SPACE:
                text = text.rstrip(_SPACE)
        if text:
            self.emit(ItemType.TEXT, self.pos, text)
        if found < 0:
            self.emit(ItemType.EOF, len(self.text), "")
            return False
        self.pos = found
        return True

    def skip_trailing_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def lex_action(self) -> bool:
        """From ``{{`` to ``}}`` (or a comment); False after an error."""
        start = self.pos
        self.pos += 2
        rest = self.text[self.pos : self.pos + 2]
        if len(rest) == 2 and rest[0] == "-" and rest[1] in _SPACE:
            self.pos += 2
        if self.text.startswith("/*", self.pos):
            return self.lex_comment(start)
        self.emit(ItemType.LEFT_DELIM, start, "{{")
        self.paren_depth = 0
        while True:
            at_delim, trim = self.at_right_delim()
            if at_delim:
                if self.paren_depth:
                    self.error(self.pos, "unclosed left paren")
                    return False
                if trim:
                    self.pos += 2
                self.emit(ItemType.RIGHT_DELIM, self.pos, "}}")
                self.pos += 2
                if trim:
                    self.skip_trailing_space()
                return True
            if not self.lex_inside():
                return False

    def lex_comment(self, start: int) -> bool:
        close = self.text.find("*/", self.pos + 2)
        if close < 0:
            self.error(start, "unclosed comment")
            return False
        self.pos = close + 2
        at_delim, trim = self.at_right_delim()
        if not at_delim:
            self.error(start, "comment ends before closing delimiter")
            return False
        self.pos += 4 if trim else 2
        if trim:
            self.skip_trailing_space()
        return True

    def lex_inside(self) -> bool:
        """One token inside an action; False after an error."""
        text, start = self.text, self.pos
        if start >= len(text):
            self.error(start, "unclosed action")
            return False
        char = text[start]
        if char in _SPACE:
            end = start
            while end < len(text) and text[end] in _SPACE:
                end += 1
            # a lone space before "-}}" belongs to the trim marker
            if text.startswith("-}}", end) and end - start >= 1:
                end -= 1
            if end > start:
                self.emit(ItemType.SPACE, start, text[start:end])
            self.pos = end if end > start else start
            return True
        if char == ":":
            if text[start + 1 : start + 2] != "=":
                self.error(start, "expected :=")
                return False
            self.emit(ItemType.DECLARE, start, ":=")
            self.pos += 2
            return True
        simple = {"|": ItemType.PIPE, "=": ItemType.ASSIGN}
        if char in simple:
            self.emit(simple[char], start, char)
            self.pos += 1
            return True
        if char in "\"`'":
            return self.lex_quote(char)
        if char == "$" or (char == "." and not text[start + 1 : start + 2].isdigit()):
            return self.lex_field_or_variable(char)
        if char in "+-" or char.isdigit() or char == ".":
            return self.lex_number()
        if char == "_" or char.isalnum():
            return self.lex_identifier()
        return self.lex_punctuation(char)

    def lex_punctuation(self, char: str) -> bool:
        start = self.pos
        self.pos += 1
        if char == "(":
            self.emit(ItemType.LEFT_PAREN, start, char)
            self.paren_depth += 1
        elif char == ")":
            self.emit(ItemType.RIGHT_PAREN, start, char)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error(start, "unexpected right paren")
                return False
        elif char.isascii() and char.isprintable():
            self.emit(ItemType.CHAR, start, char)
        else:
            self.error(start, f"unrecognized character in action: U+{ord(char):04X} {char!r}")
            return False
        return True

    def at_terminator(self) -> bool:
        char = self.text[self.pos : self.pos + 1]
        return char == "" or char in _SPACE or char in ".,|:)(=" or char == "}"

    def lex_identifier(self) -> bool:
        start = self.pos
        match = _ALNUM.match(self.text, start)
        assert match is not None  # \w* matches the empty string
        self.pos = match.end()
        word = match.group(0)
        if not self.at_terminator():
            self.error(start, f"bad character U+{ord(self.text[self.pos]):04X}")
            return False
        if word in _KEYWORDS:
            self.emit(ItemType.KEYWORD, start, word)
        elif word in ("true", "false"):
            self.emit(ItemType.BOOL, start, word)
        else:
            self.emit(ItemType.IDENTIFIER, start, word)
        return True

    def lex_field_or_variable(self, sigil: str) -> bool:
        start = self.pos
        self.pos += 1
        if self.at_terminator():
            self.emit(ItemType.VARIABLE if sigil == "$" else ItemType.DOT, start, sigil)
            return True
        match = _ALNUM.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()
        if not self.at_terminator():
            self.error(start, f"bad character U+{ord(self.text[self.pos]):04X}")
            return False
        kind = ItemType.VARIABLE if sigil == "$" else ItemType.FIELD
        self.emit(kind, start, self.text[start : self.pos])
        return True

    def lex_number(self) -> bool:
        start = self.pos
        match = _NUMBER.match(self.text, start)
        end = match.end() if match else start
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            self.error(start, f'bad number syntax: "{self.text[start : end + 1]}"')
            return False
        self.pos = end
        self.emit(ItemType.NUMBER, start, self.text[start:end])
        return True

    def lex_quote(self, quote: str) -> bool:
        start = self.pos
        index = start + 1
        names = {'"': "quoted string", "`": "raw quoted string", "'": "character constant"}
        while index < len(self.text):
            char = self.text[index]
            if char == "\\" and quote != "`":
                index += 2
                continue
            if char == "\n" and quote != "`":
                break
            if char == quote:
                kind = {'"': ItemType.STRING, "`": ItemType.RAW_STRING}
                self.emit(
                    kind.get(quote, ItemType.CHAR_CONSTANT), start, self.text[start : index + 1]
                )
                self.pos = index + 1
                return True
            index += 1
        self.error(start, f"unterminated {names[quote]}")
        return False


def lex(text: str) -> list[Item]:
    """All items of ``text``, ending with EOF or with the first ERROR."""
    return _Lexer(text).run()
