"""Configuration value types and parsers: raw YAML or environment value -> typed value.

Each parser takes the value as YAML typed it (or the environment's text) and returns the typed
value, or raises ``ValueError("expected ..., got ...")``; :mod:`sloscope.server.config` adds the
file position and the dotted key.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sloscope.server.config_yaml import closest
from sloscope.server.durations import parse_duration

__all__ = [
    "ListenAddress",
    "LogLevel",
    "env_int",
    "expect",
    "int_between",
    "number_at_least",
    "parse_bool",
    "parse_data_dir",
    "parse_label_name",
    "parse_listen",
    "parse_log_level",
    "parse_metrics_path",
    "parse_origin",
    "parse_scheme",
    "parse_storage_url",
    "parse_target",
    "parse_text",
    "positive_duration",
]


class LogLevel(enum.StrEnum):
    """The server's log level (``log.level``)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def logging_level(self) -> int:
        """The matching :mod:`logging` level number, e.g. ``logging.INFO``."""
        return logging.getLevelNamesMapping()[self.name]


@dataclass(frozen=True)
class ListenAddress:
    """A ``host:port`` to listen on; port 0 asks the OS for a free port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def expect(expected: str, raw: object, reason: str = "") -> ValueError:
    suffix = f" ({reason})" if reason else ""
    return ValueError(f"expected {expected}, got {'null' if raw is None else repr(raw)}{suffix}")


_LISTEN = "host:port like 127.0.0.1:9900, 0.0.0.0:9900 or [::1]:9900"
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def parse_listen(raw: object) -> ListenAddress:
    if not isinstance(raw, str):
        raise expect(_LISTEN, raw)
    host, colon, port = raw.rpartition(":")
    if not colon or not host:
        raise expect(_LISTEN, raw)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host, ipaddress.IPv6Address):
            raise expect(_LISTEN, raw, f"{host!r} is not an IPv6 address")
    elif ":" in host:
        raise expect(_LISTEN, raw, "put an IPv6 address in brackets")
    elif re.fullmatch(r"[0-9.]+", host):
        if not _is_ip(host, ipaddress.IPv4Address):
            raise expect(_LISTEN, raw, f"{host!r} is not an IPv4 address")
    elif len(host) > 253 or not _HOSTNAME.fullmatch(host):
        raise expect(_LISTEN, raw, f"{host!r} is not a host name")
    if not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535:
        raise expect(_LISTEN, raw, "the port must be a number from 0 to 65535")
    return ListenAddress(host, int(port))


def _is_ip(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def parse_data_dir(raw: object) -> Path:
    if not isinstance(raw, str) or not raw or "\0" in raw:
        raise expect("a directory path", raw)
    return Path(raw)


_URL = "'' (SQLite in server.data_dir), a sqlite:///path URL or a postgresql:// URL"
_POSTGRES = ("postgresql", "postgresql+psycopg")


def parse_storage_url(raw: object) -> str:
    if not isinstance(raw, str):
        raise expect(_URL, raw)
    if raw == "":
        return ""
    shown = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", raw)  # never echo a password
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise expect(_URL, shown)
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise expect(_URL, shown, "sqlite:///relative.db or sqlite:////absolute/path.db")
        return raw
    if scheme in _POSTGRES:
        try:
            _ = urlsplit(raw).port  # raises on a port that is not a number
        except ValueError as exc:
            raise expect(_URL, shown, str(exc)) from None
        # The bare dialect name means psycopg2 to SQLAlchemy; we ship psycopg 3.
        return f"postgresql+psycopg://{rest}"
    reason = "write postgresql://" if scheme == "postgres" else f"unsupported scheme {scheme!r}"
    raise expect(_URL, shown, reason)


_DURATION = "a duration like 30d, 12h or 90m"


def positive_duration(raw: object) -> int:
    # YAML reads a bare 0 (or 30) as an int; Prometheus' YAML decoding sees the text.
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str):
        raise expect(_DURATION, raw)
    try:
        ms = parse_duration(text)
    except ValueError as exc:
        # Add the parser's reason unless it merely repeats the input ("not a valid ...").
        raise expect(_DURATION, text, "" if repr(text) in str(exc) else str(exc)) from None
    if ms <= 0:
        raise expect("a duration greater than 0", text)
    return ms


def int_between(low: int, high: int | None = None) -> Callable[[object], int]:
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(raw: object) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
            raise expect(expected, raw)
        if high is not None and raw > high:
            raise expect(expected, raw)
        return raw

    return parse


def env_int(text: str) -> object:
    """Environment values are text: turn plain integers into ints, leave the rest to fail."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else text


def parse_log_level(raw: object) -> LogLevel:
    names = [level.value for level in LogLevel]
    if isinstance(raw, str) and raw in names:
        return LogLevel(raw)
    match = closest(raw.lower(), names) if isinstance(raw, str) else None
    raise expect(f"one of {', '.join(names)}", raw, f"did you mean {match!r}?" if match else "")


def parse_string_list(raw: object) -> tuple[str, ...]:
    """A YAML list of non-empty strings; from an environment variable, comma-separated."""
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise expect("a list of non-empty strings (comma-separated in a variable)", raw)
    return tuple(raw)


def parse_optional_path(raw: object) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise expect("a file path, or empty", raw)
    return raw


def parse_external_url(raw: object) -> str:
    if raw == "" or raw is None:
        return ""
    if isinstance(raw, str) and re.fullmatch(r"https?://[^\s?#]+", raw):
        return raw.rstrip("/")
    raise expect("an http(s) URL like https://sloscope.example.com, or empty", raw)


# --- values of the list sections (scrape_configs, rum) ------------------------------------

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ORIGIN_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s]+")


def parse_text(what: str = "a non-empty string") -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise expect(what, raw)
        return raw

    return parse


def parse_target(raw: object) -> str:
    try:
        address = parse_listen(raw)
    except ValueError:
        raise expect("host:port", raw) from None
    if address.port == 0:
        raise expect("host:port", raw, "the port must be from 1 to 65535")
    return str(raw)


def parse_label_name(raw: object) -> str:
    if not isinstance(raw, str) or not _LABEL_NAME.fullmatch(raw):
        raise expect("a label name like env or team_1", raw)
    return raw


def parse_metrics_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise expect("a path starting with /", raw)
    return raw


def parse_scheme(raw: object) -> str:
    if raw not in ("http", "https"):
        raise expect("http or https", raw)
    return str(raw)


def parse_bool(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise expect("true or false", raw)
    return raw


def parse_origin(raw: object) -> str:
    if raw == "*" or (isinstance(raw, str) and _ORIGIN_RE.fullmatch(raw)):
        return str(raw)
    raise expect("'*' or an origin like https://shop.example.com (no path)", raw)


def number_at_least(low: float, strict: bool) -> Callable[[object], float]:
    expected = f"a number greater than {low:g}" if strict else f"a number >= {low:g}"

    def parse(raw: object) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise expect(expected, raw)
        if raw < low or (strict and raw == low):
            raise expect(expected, raw)
        return float(raw)

    return parse
