"""Server configuration: ``sloscope.yml``, then ``SLOSCOPE_*`` variables, then frozen values.

Config flows one way: the YAML file sets keys, environment variables override them, and the
result is validated into frozen dataclasses that the server passes on as arguments. Every key
has a default (``Config()``), and validation reports every problem at once, each naming the
file, line and column (or the environment variable) and the dotted key::

    sloscope.yml:7:14: storage.retention: expected a duration like 30d, 12h or 90m, got 'x'

An environment variable is named ``SLOSCOPE_<SECTION>_<KEY>``, e.g.
``SLOSCOPE_STORAGE_RETENTION=7d``. ``SLOSCOPE_CONFIG`` names the file and is read by the CLI,
not here; the loader never reads ``os.environ`` itself.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sloscope.server.config_yaml import Origin, Problem, closest, read_yaml_file
from sloscope.server.durations import parse_duration

__all__ = [
    "CONFIG_PATH_ENV",
    "Config",
    "ConfigError",
    "ListenAddress",
    "LogConfig",
    "LogLevel",
    "OtlpConfig",
    "Problem",
    "ServerConfig",
    "StorageConfig",
    "load_config",
]

_ENV_PREFIX = "SLOSCOPE_"
#: Names the configuration file; reserved, so the loader skips it among ``SLOSCOPE_*``.
CONFIG_PATH_ENV = "SLOSCOPE_CONFIG"


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


@dataclass(frozen=True)
class ServerConfig:
    """``server``: the main HTTP listener (dashboard, APIs, RUM, remote_write) and data."""

    listen: ListenAddress = ListenAddress("127.0.0.1", 9900)
    #: Relative paths are relative to the working directory, as for Prometheus' --storage.*.
    data_dir: Path = Path("sloscope-data")


@dataclass(frozen=True)
class OtlpConfig:
    """``otlp``: the dedicated OTLP receivers, on the ports stock exporters expect."""

    http_listen: ListenAddress = ListenAddress("127.0.0.1", 4318)
    grpc_listen: ListenAddress = ListenAddress("127.0.0.1", 4317)


@dataclass(frozen=True)
class StorageConfig:
    """``storage``: where samples live and how they are cut into compressed chunks."""

    #: ``""`` means SQLite in ``server.data_dir``; see :attr:`Config.sqlalchemy_url`.
    url: str = ""
    retention_ms: int = 30 * 24 * 3_600_000
    #: Samples held in the head before they are written out as compressed chunks.
    wal_flush_samples: int = 200_000
    #: Target number of samples per compressed chunk.
    chunk_samples: int = 480
    #: A series' head is cut into a chunk once it spans this long.
    head_max_span_ms: int = 2 * 3_600_000


@dataclass(frozen=True)
class LogConfig:
    """``log``: server logging."""

    level: LogLevel = LogLevel.INFO


@dataclass(frozen=True)
class Config:
    """The whole validated server configuration; ``Config()`` is all defaults."""

    server: ServerConfig = field(default_factory=ServerConfig)
    otlp: OtlpConfig = field(default_factory=OtlpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def sqlalchemy_url(self) -> str:
        """The effective store URL: ``storage.url``, or ``<data_dir>/sloscope.db`` in SQLite.

        >>> Config().sqlalchemy_url
        'sqlite:///sloscope-data/sloscope.db'
        """
        if self.storage.url:
            return self.storage.url
        return f"sqlite:///{(self.server.data_dir / 'sloscope.db').as_posix()}"


class ConfigError(ValueError):
    """The configuration is invalid; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_config(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Config:
    """Load *path* (``None``: defaults only), apply ``SLOSCOPE_*`` overrides, and validate.

    >>> load_config(None, {"SLOSCOPE_STORAGE_RETENTION": "7d"}).storage.retention_ms
    604800000

    :raise ConfigError: listing every problem in the file and the environment.
    """
    problems: list[Problem] = []
    values: _Values = {}
    if path is not None:
        raw, file_problems = read_yaml_file(os.fspath(path), _SCHEMA)
        file_values = {_BY_KEY[key]: value for key, value in raw.items()}
        values.update(_validate(file_values, file_problems))
        problems += sorted(file_problems, key=lambda p: (p.origin.line or 0, p.origin.column or 0))
    env_values, env_problems = _read_environ(environ)
    values.update(_validate(env_values, env_problems))
    problems += env_problems
    config = _assemble(values)
    problems += _cross_check(config, {s: origin for s, (_, origin) in values.items()})
    if problems:
        raise ConfigError(problems)
    return config


def _read_environ(environ: Mapping[str, str]) -> tuple[_Values, list[Problem]]:
    by_name = {s.env_var: s for s in _SETTINGS}
    # Other SLOSCOPE_* variables (the SDK's) are not ours; only those under a section are.
    prefixes = tuple(f"{_ENV_PREFIX}{section.upper()}_" for section in _SECTIONS)
    values: _Values = {}
    problems: list[Problem] = []
    for name in sorted(environ):
        if name == CONFIG_PATH_ENV or not name.startswith(prefixes):
            continue
        origin = Origin(f"environment variable {name}")
        setting = by_name.get(name)
        if setting is None:
            # Compare within the section, so SLOSCOPE_OTLP_X is not "like" every SLOSCOPE_OTLP_*.
            prefix = next(p for p in prefixes if name.startswith(p))
            keys = {n.removeprefix(prefix): n for n in by_name if n.startswith(prefix)}
            key = closest(name.removeprefix(prefix), keys)
            hint = f"; did you mean {keys[key]!r}?" if key else ""
            problems.append(Problem(origin, "", f"unknown setting{hint}"))
        else:
            values[setting] = (setting.from_env(environ[name]), origin)
    return values, problems


def _validate(raw: _Values, problems: list[Problem]) -> _Values:
    """Parse each raw value; a bad one becomes a problem and keeps its default."""
    parsed: _Values = {}
    for setting, (value, origin) in raw.items():
        try:
            parsed[setting] = (setting.parse(value), origin)
        except ValueError as exc:
            problems.append(Problem(origin, setting.dotted, str(exc)))
    return parsed


def _assemble(values: _Values) -> Config:
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        kwargs = {s.attr: value for s, (value, _) in values.items() if s.section == name}
        sections[name] = cls(**kwargs)
    return Config(**sections)


def _cross_check(config: Config, origins: Mapping[_Setting, Origin]) -> list[Problem]:
    """Rules between keys; reported at the key that was set (the later one if both were)."""
    problems: list[Problem] = []
    listeners = [s for s in _SETTINGS if s.parse is _listen]
    for i, later in enumerate(listeners):
        for earlier in listeners[:i]:
            at, other = (later, earlier) if later in origins else (earlier, later)
            if at in origins and _clash(_get(config, at), _get(config, other)):
                message = f"{_get(config, at)} clashes with {other.dotted} ({_get(config, other)})"
                problems.append(Problem(origins[at], at.dotted, message))
    span, retention = _BY_KEY[("storage", "head_max_span")], _BY_KEY[("storage", "retention")]
    at = span if span in origins else retention
    if config.storage.head_max_span_ms > config.storage.retention_ms and at in origins:
        message = "storage.head_max_span must not be longer than storage.retention"
        problems.append(Problem(origins[at], at.dotted, message))
    return problems


def _get(config: Config, setting: _Setting) -> Any:
    return getattr(getattr(config, setting.section), setting.attr)


def _clash(a: ListenAddress, b: ListenAddress) -> bool:
    wildcard = {"0.0.0.0", "::"}
    same_host = a.host == b.host or a.host in wildcard or b.host in wildcard
    return a.port != 0 and a.port == b.port and same_host


# --- value parsers: raw YAML/env value -> typed value, or ValueError("expected ..., got ...") --


def _expect(expected: str, raw: object, reason: str = "") -> ValueError:
    suffix = f" ({reason})" if reason else ""
    return ValueError(f"expected {expected}, got {'null' if raw is None else repr(raw)}{suffix}")


_LISTEN = "host:port like 127.0.0.1:9900, 0.0.0.0:9900 or [::1]:9900"
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _listen(raw: object) -> ListenAddress:
    if not isinstance(raw, str):
        raise _expect(_LISTEN, raw)
    host, colon, port = raw.rpartition(":")
    if not colon or not host:
        raise _expect(_LISTEN, raw)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host, ipaddress.IPv6Address):
            raise _expect(_LISTEN, raw, f"{host!r} is not an IPv6 address")
    elif ":" in host:
        raise _expect(_LISTEN, raw, "put an IPv6 address in brackets")
    elif re.fullmatch(r"[0-9.]+", host):
        if not _is_ip(host, ipaddress.IPv4Address):
            raise _expect(_LISTEN, raw, f"{host!r} is not an IPv4 address")
    elif len(host) > 253 or not _HOSTNAME.fullmatch(host):
        raise _expect(_LISTEN, raw, f"{host!r} is not a host name")
    if not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535:
        raise _expect(_LISTEN, raw, "the port must be a number from 0 to 65535")
    return ListenAddress(host, int(port))


def _is_ip(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _data_dir(raw: object) -> Path:
    if not isinstance(raw, str) or not raw or "\0" in raw:
        raise _expect("a directory path", raw)
    return Path(raw)


_URL = "'' (SQLite in server.data_dir), a sqlite:///path URL or a postgresql:// URL"
_POSTGRES = ("postgresql", "postgresql+psycopg")


def _storage_url(raw: object) -> str:
    if not isinstance(raw, str):
        raise _expect(_URL, raw)
    if raw == "":
        return ""
    shown = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", raw)  # never echo a password
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise _expect(_URL, shown)
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise _expect(_URL, shown, "sqlite:///relative.db or sqlite:////absolute/path.db")
        return raw
    if scheme in _POSTGRES:
        try:
            _ = urlsplit(raw).port  # raises on a port that is not a number
        except ValueError as exc:
            raise _expect(_URL, shown, str(exc)) from None
        # The bare dialect name means psycopg2 to SQLAlchemy; we ship psycopg 3.
        return f"postgresql+psycopg://{rest}"
    reason = "write postgresql://" if scheme == "postgres" else f"unsupported scheme {scheme!r}"
    raise _expect(_URL, shown, reason)


_DURATION = "a duration like 30d, 12h or 90m"


def _positive_duration(raw: object) -> int:
    # YAML reads a bare 0 (or 30) as an int; Prometheus' YAML decoding sees the text.
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str):
        raise _expect(_DURATION, raw)
    try:
        ms = parse_duration(text)
    except ValueError as exc:
        # Add the parser's reason unless it merely repeats the input ("not a valid ...").
        raise _expect(_DURATION, text, "" if repr(text) in str(exc) else str(exc)) from None
    if ms <= 0:
        raise _expect("a duration greater than 0", text)
    return ms


def _int_between(low: int, high: int | None = None) -> Callable[[object], int]:
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(raw: object) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
            raise _expect(expected, raw)
        if high is not None and raw > high:
            raise _expect(expected, raw)
        return raw

    return parse


def _env_int(text: str) -> object:
    """Environment values are text: turn plain integers into ints, leave the rest to fail."""
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else text


def _log_level(raw: object) -> LogLevel:
    names = [level.value for level in LogLevel]
    if isinstance(raw, str) and raw in names:
        return LogLevel(raw)
    match = closest(raw.lower(), names) if isinstance(raw, str) else None
    raise _expect(f"one of {', '.join(names)}", raw, f"did you mean {match!r}?" if match else "")


@dataclass(frozen=True)
class _Setting:
    """One configuration key: where it lives, its dataclass field, and how to parse it."""

    section: str
    key: str
    attr: str
    parse: Callable[[Any], Any]
    from_env: Callable[[str], object] = str

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env_var(self) -> str:
        return f"{_ENV_PREFIX}{self.section}_{self.key}".upper()


_SECTIONS: dict[str, type[Any]] = {
    "server": ServerConfig,
    "otlp": OtlpConfig,
    "storage": StorageConfig,
    "log": LogConfig,
}
_SETTINGS = (
    _Setting("server", "listen", "listen", _listen),
    _Setting("server", "data_dir", "data_dir", _data_dir),
    _Setting("otlp", "http_listen", "http_listen", _listen),
    _Setting("otlp", "grpc_listen", "grpc_listen", _listen),
    _Setting("storage", "url", "url", _storage_url),
    _Setting("storage", "retention", "retention_ms", _positive_duration),
    _Setting("storage", "wal_flush_samples", "wal_flush_samples", _int_between(1000), _env_int),
    _Setting("storage", "chunk_samples", "chunk_samples", _int_between(16, 8192), _env_int),
    _Setting("storage", "head_max_span", "head_max_span_ms", _positive_duration),
    _Setting("log", "level", "level", _log_level),
)
# setting -> (value, where it was set); raw before validation, typed after
_Values = dict[_Setting, tuple[object, Origin]]
_BY_KEY = {(s.section, s.key): s for s in _SETTINGS}
_SCHEMA = {name: [s.key for s in _SETTINGS if s.section == name] for name in _SECTIONS}
