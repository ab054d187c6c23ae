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

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sloscope.server.config_lists import (
    LIST_SCHEMA,
    ListSections,
    RumAppConfig,
    RumConfig,
    ScrapeJobConfig,
    StaticConfig,
    list_env_problems,
    read_list_sections,
)
from sloscope.server.config_values import (
    ListenAddress,
    LogLevel,
    env_int,
    int_between,
    parse_bool,
    parse_data_dir,
    parse_external_url,
    parse_listen,
    parse_log_level,
    parse_optional_path,
    parse_storage_url,
    parse_string_list,
    positive_duration,
)
from sloscope.server.config_web import WebUser, env_bool, parse_secret_key, parse_web_users
from sloscope.server.config_yaml import Origin, Problem, closest, read_yaml_file

__all__ = [
    "CONFIG_PATH_ENV",
    "Config",
    "ConfigError",
    "ListenAddress",
    "LogConfig",
    "LogLevel",
    "NotifyConfig",
    "OtlpConfig",
    "Problem",
    "RumAppConfig",
    "RulesConfig",
    "RumConfig",
    "ScrapeJobConfig",
    "ServerConfig",
    "SloConfig",
    "StaticConfig",
    "StorageConfig",
    "WebConfig",
    "load_config",
]

_ENV_PREFIX = "SLOSCOPE_"
#: Names the configuration file; reserved, so the loader skips it among ``SLOSCOPE_*``.
CONFIG_PATH_ENV = "SLOSCOPE_CONFIG"


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
class RulesConfig:
    """``rules``: Prometheus-format rule files the rule manager evaluates."""

    #: Paths or glob patterns, relative to the working directory.
    files: tuple[str, ...] = ()
    evaluation_interval_ms: int = 30_000
    #: The dashboard's public URL: ``$externalURL`` in templates, generatorURL of alerts.
    external_url: str = ""


@dataclass(frozen=True)
class SloConfig:
    """``slo``: SLO spec files (native, OpenSLO v1, Sloth) compiled into rules at start."""

    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotifyConfig:
    """``notify``: where alerts go."""

    #: An Alertmanager-format file (route, receivers, inhibit_rules); empty: no routing.
    config_file: str = ""
    #: Real Alertmanagers to push alerts to (``POST /api/v2/alerts``), as Prometheus does.
    alertmanager_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    """``web``: the dashboard's log-in. With ``auth`` on and no ``users`` the dashboard
    answers 503 saying how to add them; ``auth: false`` is for demos (a banner warns)."""

    auth: bool = True
    users: tuple[WebUser, ...] = ()
    #: Signs session cookies; empty means a random key per start (sessions end on restart).
    secret_key: str = ""
    session_lifetime_ms: int = 12 * 3_600_000
    #: Set behind HTTPS, so browsers never send the session cookie in clear.
    cookie_secure: bool = False


@dataclass(frozen=True)
class Config:
    """The whole validated server configuration; ``Config()`` is all defaults."""

    server: ServerConfig = field(default_factory=ServerConfig)
    otlp: OtlpConfig = field(default_factory=OtlpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    log: LogConfig = field(default_factory=LogConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    slo: SloConfig = field(default_factory=SloConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    web: WebConfig = field(default_factory=WebConfig)
    #: File only (no environment variables); see :mod:`sloscope.server.config_lists`.
    scrape_configs: tuple[ScrapeJobConfig, ...] = ()
    rum: RumConfig = field(default_factory=RumConfig)

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
    lists = ListSections()
    if path is not None:
        raw, file_problems = read_yaml_file(os.fspath(path), _SCHEMA)
        lists, file_problems = read_list_sections(os.fspath(path), file_problems)
        file_values = {_BY_KEY[key]: value for key, value in raw.items()}
        values.update(_validate(file_values, file_problems))
        problems += sorted(file_problems, key=lambda p: (p.origin.line or 0, p.origin.column or 0))
    env_values, env_problems = _read_environ(environ)
    values.update(_validate(env_values, env_problems))
    problems += env_problems + list_env_problems(environ)
    config = _assemble(values, lists)
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


def _assemble(values: _Values, lists: ListSections) -> Config:
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        kwargs = {s.attr: value for s, (value, _) in values.items() if s.section == name}
        sections[name] = cls(**kwargs)
    return Config(**sections, scrape_configs=lists.scrape_configs, rum=lists.rum)


def _cross_check(config: Config, origins: Mapping[_Setting, Origin]) -> list[Problem]:
    """Rules between keys; reported at the key that was set (the later one if both were)."""
    problems: list[Problem] = []
    listeners = [s for s in _SETTINGS if s.parse is parse_listen]
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
    "rules": RulesConfig,
    "slo": SloConfig,
    "notify": NotifyConfig,
    "web": WebConfig,
}
_SETTINGS = (
    _Setting("server", "listen", "listen", parse_listen),
    _Setting("server", "data_dir", "data_dir", parse_data_dir),
    _Setting("otlp", "http_listen", "http_listen", parse_listen),
    _Setting("otlp", "grpc_listen", "grpc_listen", parse_listen),
    _Setting("storage", "url", "url", parse_storage_url),
    _Setting("storage", "retention", "retention_ms", positive_duration),
    _Setting("storage", "wal_flush_samples", "wal_flush_samples", int_between(1000), env_int),
    _Setting("storage", "chunk_samples", "chunk_samples", int_between(16, 8192), env_int),
    _Setting("storage", "head_max_span", "head_max_span_ms", positive_duration),
    _Setting("log", "level", "level", parse_log_level),
    _Setting("rules", "files", "files", parse_string_list),
    _Setting("rules", "evaluation_interval", "evaluation_interval_ms", positive_duration),
    _Setting("rules", "external_url", "external_url", parse_external_url),
    _Setting("slo", "files", "files", parse_string_list),
    _Setting("notify", "config_file", "config_file", parse_optional_path),
    _Setting("notify", "alertmanager_urls", "alertmanager_urls", parse_string_list),
    _Setting("web", "auth", "auth", parse_bool, env_bool),
    _Setting("web", "users", "users", parse_web_users),
    _Setting("web", "secret_key", "secret_key", parse_secret_key),
    _Setting("web", "session_lifetime", "session_lifetime_ms", positive_duration),
    _Setting("web", "cookie_secure", "cookie_secure", parse_bool, env_bool),
)
# setting -> (value, where it was set); raw before validation, typed after
_Values = dict[_Setting, tuple[object, Origin]]
_BY_KEY = {(s.section, s.key): s for s in _SETTINGS}
_SCHEMA = {name: [s.key for s in _SETTINGS if s.section == name] for name in _SECTIONS}
_SCHEMA.update(LIST_SCHEMA)
