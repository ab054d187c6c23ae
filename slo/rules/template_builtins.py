"""Go text/template's builtin functions: ``and or not len index slice print printf println
html js urlquery eq ne lt le gt ge call``, with Go's type rules and error texts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from slo.rules.template_gofmt import sprint, sprintln
from slo.rules.template_printf import sprintf
from slo.rules.template_values import AnyMap, go_type, is_true

__all__ = ["BUILTINS", "FuncError", "Function"]


class FuncError(Exception):
    """The error a template function returns; execution stops with ``error calling NAME: ...``."""


@dataclass(frozen=True)
class Function:
    """A template function: Go parameter types (``any`` for ``interface {}``), the element type
    of a variadic tail (None: not variadic), and the implementation."""

    params: tuple[str, ...]
    variadic: str | None
    impl: Callable[..., Any]


def _basic_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _eq(arg1: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    kind1 = _basic_kind(arg1)
    for arg in others:
        kind2 = _basic_kind(arg)
        if kind1 != kind2:
            if arg1 is not None and arg is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if kind1 is not None:
            if arg1 == arg:
                return True
            continue
        if arg1 is None or arg is None:
            if arg1 is None and arg is None:
                return True
            continue
        if isinstance(arg, (dict, list)):
            raise FuncError(f"non-comparable type {sprintf('%s', [arg])}: {go_type(arg)}")
        if arg1 is arg:
            return True
    return False


def _lt(arg1: Any, arg2: Any) -> bool:
    kind1, kind2 = _basic_kind(arg1), _basic_kind(arg2)
    if kind1 is None or kind2 is None:
        raise FuncError("invalid type for comparison")
    if kind1 != kind2:
        raise FuncError("incompatible types for comparison")
    if kind1 == "bool":
        raise FuncError("invalid type for comparison")
    return bool(arg1 < arg2)


def _le(arg1: Any, arg2: Any) -> bool:
    return _lt(arg1, arg2) or _eq(arg1, arg2)


def _length(item: Any) -> int:
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (list, dict)):
        return len(item)
    if item is None:  # Go's reflect panics on the missing value; text/template reports it
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    raise FuncError(f"len of type {go_type(item)}")


def _index_one(item: Any, key: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    if isinstance(item, (list, str)):
        if key is None:
            raise FuncError("cannot index slice/array with nil")
        if not isinstance(key, int) or isinstance(key, bool):
            raise FuncError(f"cannot index slice/array with type {go_type(key)}")
        size = len(item.encode()) if isinstance(item, str) else len(item)
        if key < 0 or key >= size:
            raise FuncError(f"index out of range: {key}")
        return item.encode()[key] if isinstance(item, str) else item[key]
    if isinstance(item, dict):
        if not isinstance(key, str):
            expected = "string"
            raise FuncError(f"value has type {go_type(key)}; should be {expected}")
        if key in item:
            return item[key]
        return None if isinstance(item, AnyMap) else ""
    raise FuncError(f"can't index item of type {go_type(item)}")


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        item = _index_one(item, key)
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if not isinstance(item, (str, list)):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    if len(indexes) > 3 or (isinstance(item, str) and len(indexes) > 2):
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    size = len(item.encode()) if isinstance(item, str) else len(item)
    bounds = [0, size]
    for i, index in enumerate(indexes[:2]):
        if not isinstance(index, int) or isinstance(index, bool):
            raise FuncError(f"cannot index slice/array with type {go_type(index)}")
        if index < 0 or index > size:
            raise FuncError(f"index out of range: {index}")
        bounds[i] = index
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if isinstance(item, str):
        return item.encode()[bounds[0] : bounds[1]].decode(errors="replace")
    return type(item)(item[bounds[0] : bounds[1]])


def _eval_args(args: tuple[Any, ...]) -> str:
    """Text of the arguments as html/js/urlquery see it (fmt.Sprint after indirection)."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if a is None else a for a in args])


def _html(*args: Any) -> str:
    text = _eval_args(args)
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
    return "".join(table.get(c, c) for c in text)


def _js(*args: Any) -> str:
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E"}
    table |= {"&": "\\u0026", "=": "\\u003D", "`": "\\u0060"}
    out = []
    for char in _eval_args(args):
        if char in table:
            out.append(table[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04X}")
        elif ord(char) >= 0x80 and not char.isprintable():
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _call(fn: Any, *args: Any) -> Any:
    raise FuncError(f"non-function of type {go_type(fn)}")


BUILTINS: dict[str, Function] = {
    "and": Function(("any",), "any", lambda *a: a[-1]),  # short-circuited by the executor
    "or": Function(("any",), "any", lambda *a: a[-1]),
    "not": Function(("any",), None, lambda a: not is_true(a)),
    "len": Function(("any",), None, _length),
    "index": Function(("any",), "any", _index),
    "slice": Function(("any",), "any", _slice),
    "print": Function((), "any", lambda *a: sprint(list(a))),
    "printf": Function(("string",), "any", lambda f, *a: sprintf(f, list(a))),
    "println": Function((), "any", lambda *a: sprintln(list(a))),
    "html": Function((), "any", _html),
    "js": Function((), "any", _js),
    "urlquery": Function((), "any", lambda *a: quote_plus(_eval_args(a), safe="")),
    "call": Function(("any",), "any", _call),
    "eq": Function(("any",), "any", _eq),
    "ne": Function(("any", "any"), None, lambda a, b: not _eq(a, b)),
    "lt": Function(("any", "any"), None, _lt),
    "le": Function(("any", "any"), None, _le),
    "gt": Function(("any", "any"), None, lambda a, b: not _le(a, b)),
    "ge": Function(("any", "any"), None, lambda a, b: not _lt(a, b)),
}
