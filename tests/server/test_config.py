"""Server configuration: sloscope.yml -> SLOSCOPE_* overrides -> frozen dataclasses."""

from __future__ import annotations

import dataclasses
import logging
import textwrap
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from sloscope.server.config import (
    Config,
    ConfigError,
    ListenAddress,
    LogLevel,
    Problem,
    load_config,
)
from sloscope.server.durations import parse_duration

REFERENCE = Path(__file__).resolve().parents[2] / "sloscope.yml"

S = 1000
M = 60 * S
H = 60 * M
D = 24 * H
W = 7 * D
Y = 365 * D


def write(tmp_path: Path, text: str, name: str = "sloscope.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path | None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return str(info.value).splitlines()


# --- defaults and the reference file ---------------------------------------------------------


def test_defaults_match_design() -> None:
    config = load_config(None, {})

    assert config == Config()
    assert config.server.listen == ListenAddress("127.0.0.1", 9900)
    assert config.server.data_dir == Path("sloscope-data")
    assert config.otlp.http_listen == ListenAddress("127.0.0.1", 4318)
    assert config.otlp.grpc_listen == ListenAddress("127.0.0.1", 4317)
    assert config.storage.url == ""
    assert config.storage.retention_ms == 30 * D
    assert config.storage.wal_flush_samples == 200_000
    assert config.storage.chunk_samples == 480
    assert config.storage.head_max_span_ms == 2 * H
    assert config.log.level is LogLevel.INFO
    assert config.sqlalchemy_url == "sqlite:///sloscope-data/sloscope.db"


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.storage.retention_ms = 1  # type: ignore[misc]


def test_reference_file_gives_exactly_the_defaults() -> None:
    assert load_config(REFERENCE, {}) == Config()


def test_reference_file_lists_every_key_with_its_env_var() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    keys = [(section, key) for section, body in document.items() for key in body]
    list_sections = ("scrape_configs", "rum")  # file only, commented-out examples
    field_count = sum(
        len(dataclasses.fields(getattr(Config(), f.name)))
        for f in dataclasses.fields(Config)
        if f.name not in list_sections
    )

    assert len(keys) == field_count == 21
    for section, key in keys:
        assert f"# Env: SLOSCOPE_{section.upper()}_{key.upper()}\n" in text


# Non-default values for every key, as text valid both in YAML and in an environment variable.
NON_DEFAULTS = {
    ("server", "listen"): ("0.0.0.0:19900", lambda c: c.server.listen),
    ("server", "data_dir"): ("/var/lib/sloscope", lambda c: c.server.data_dir),
    ("otlp", "http_listen"): ("0.0.0.0:14318", lambda c: c.otlp.http_listen),
    ("otlp", "grpc_listen"): ("localhost:0", lambda c: c.otlp.grpc_listen),
    ("storage", "url"): ("sqlite:////srv/slo.db", lambda c: c.storage.url),
    ("storage", "retention"): ("1w", lambda c: c.storage.retention_ms),
    ("storage", "wal_flush_samples"): ("1000", lambda c: c.storage.wal_flush_samples),
    ("storage", "chunk_samples"): ("8192", lambda c: c.storage.chunk_samples),
    ("storage", "head_max_span"): ("90m", lambda c: c.storage.head_max_span_ms),
    ("log", "level"): ("debug", lambda c: c.log.level),
    ("rules", "files"): ("alert_rules/*.yml,extra.yml", lambda c: c.rules.files),
    ("rules", "evaluation_interval"): ("1m", lambda c: c.rules.evaluation_interval_ms),
    ("rules", "external_url"): ("https://slo.example.com", lambda c: c.rules.external_url),
    ("slo", "files"): ("slos/*.yml", lambda c: c.slo.files),
    ("notify", "config_file"): ("alertmanager.yml", lambda c: c.notify.config_file),
    ("notify", "alertmanager_urls"): ("http://am:9093", lambda c: c.notify.alertmanager_urls),
    ("web", "auth"): ("false", lambda c: c.web.auth),
    ("web", "users"): (
        '[{"name": "ana", "role": "editor", "password_hash": "scrypt:32768:8:1$s4lt$0fa9"}]',
        lambda c: c.web.users,
    ),
    ("web", "secret_key"): ("0123456789abcdef0123", lambda c: c.web.secret_key),
    ("web", "session_lifetime"): ("1h", lambda c: c.web.session_lifetime_ms),
    ("web", "cookie_secure"): ("true", lambda c: c.web.cookie_secure),
}


@pytest.mark.parametrize("section_key", sorted(NON_DEFAULTS), ids="{0[0]}.{0[1]}".format)
def test_every_key_can_be_set_by_file_and_by_env(
    tmp_path: Path, section_key: tuple[str, str]
) -> None:
    section, key = section_key
    text, get = NON_DEFAULTS[section_key]
    path = write(tmp_path, f"{section}:\n  {key}: {text}\n")

    from_file = load_config(path, {})
    from_env = load_config(None, {f"SLOSCOPE_{section.upper()}_{key.upper()}": text})

    assert get(from_file) != get(Config())
    assert from_file == from_env


# --- file values and env overrides -----------------------------------------------------------


def test_file_overrides_defaults_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        server:
          listen: "[::1]:0"
          data_dir: /var/lib/sloscope
        storage:
          retention: 1y2w
          head_max_span: 1h30m
          chunk_samples: 120
        log:
          level: warning
        """,
    )

    config = load_config(path, {})

    assert config.server.listen == ListenAddress("::1", 0)
    assert str(config.server.listen) == "[::1]:0"
    assert config.server.data_dir == Path("/var/lib/sloscope")
    assert config.storage.retention_ms == Y + 2 * W
    assert config.storage.head_max_span_ms == 90 * M
    assert config.storage.chunk_samples == 120
    assert config.log.level is LogLevel.WARNING
    assert config.log.level.logging_level == logging.WARNING
    assert config.otlp == Config().otlp
    assert config.storage.wal_flush_samples == 200_000
    assert config.sqlalchemy_url == "sqlite:////var/lib/sloscope/sloscope.db"
    assert make_url(config.sqlalchemy_url).database == "/var/lib/sloscope/sloscope.db"


def test_env_beats_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        server:
          listen: 127.0.0.1:9000
        storage:
          retention: 90d
          wal_flush_samples: 5000
        """,
    )
    environ = {
        "SLOSCOPE_SERVER_LISTEN": "0.0.0.0:9900",
        "SLOSCOPE_STORAGE_RETENTION": "7d",
        "SLOSCOPE_STORAGE_WAL_FLUSH_SAMPLES": "+250000",
    }

    config = load_config(str(path), environ)

    assert config.server.listen == ListenAddress("0.0.0.0", 9900)
    assert config.storage.retention_ms == 7 * D
    assert config.storage.wal_flush_samples == 250_000


def test_env_config_path_and_other_sloscope_variables_are_not_settings() -> None:
    environ = {
        "SLOSCOPE_CONFIG": "/etc/sloscope.yml",  # the file's path, for the CLI
        "SLOSCOPE_DSN": "http://127.0.0.1:9900",  # not under a section: not the server's
        "SLOSCOPE_SERVER": "x",
        "sloscope_storage_retention": "oops",  # environment names are case-sensitive
        "PATH": "/usr/bin",
    }

    assert load_config(None, environ) == Config()


def test_empty_file_and_empty_sections_mean_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing set\n"), {}) == Config()
    assert load_config(write(tmp_path, "server:\nstorage: {}\n"), {}) == Config()


def test_yaml_anchors_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        storage:
          retention: &span 6h
          head_max_span: *span
        """,
    )

    config = load_config(path, {})

    assert config.storage.retention_ms == config.storage.head_max_span_ms == 6 * H


@pytest.mark.parametrize(
    ("url", "effective"),
    [
        ("postgresql://slo:pw@db:5432/slo", "postgresql+psycopg://slo:pw@db:5432/slo"),
        ("postgresql+psycopg://db/slo", "postgresql+psycopg://db/slo"),
        (
            "postgresql:///slo?host=/run/postgresql",
            "postgresql+psycopg:///slo?host=/run/postgresql",
        ),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite:////abs/path.db"),
    ],
)
def test_storage_url_is_normalised_for_sqlalchemy(url: str, effective: str) -> None:
    config = load_config(None, {"SLOSCOPE_STORAGE_URL": url})

    assert config.storage.url == effective
    assert config.sqlalchemy_url == effective
    assert make_url(effective).drivername in {"postgresql+psycopg", "sqlite"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9901", ListenAddress("127.0.0.1", 9901)),
        ("0.0.0.0:65535", ListenAddress("0.0.0.0", 65535)),
        ("localhost:0", ListenAddress("localhost", 0)),
        ("collector.internal:4317", ListenAddress("collector.internal", 4317)),
        ("[::]:4319", ListenAddress("::", 4319)),
        ("[fe80::1%eth0]:80", ListenAddress("fe80::1%eth0", 80)),
    ],
)
def test_good_listen_addresses(text: str, expected: ListenAddress) -> None:
    config = load_config(None, {"SLOSCOPE_OTLP_GRPC_LISTEN": text})

    assert config.otlp.grpc_listen == expected
    assert str(expected) == text


# --- errors ----------------------------------------------------------------------------------


def test_bad_duration_names_file_line_column_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # reference-style comment
        server:
          listen: 127.0.0.1:9900

        storage:
          url: ""
          retention: thirty days
        """,
    )

    assert problems_of(path) == [
        f"{path}:7:14: storage.retention: expected a duration like 30d, 12h or 90m, "
        "got 'thirty days'"
    ]


def test_error_names_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "storage:\n  retention: 1.5h\n")
    monkeypatch.chdir(tmp_path)

    assert problems_of(Path("sloscope.yml")) == [
        "sloscope.yml:2:14: storage.retention: expected a duration like 30d, 12h or 90m, got '1.5h'"
    ]


def test_unknown_keys_and_sections_suggest_the_closest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        storage:
          retension: 7d
          level: info
        server:
          retention: 7d
          frobnicate: 1
        strage:
          url: ""
        """,
    )

    assert problems_of(path) == [
        f"{path}:2:3: storage.retension: unknown key; did you mean 'retention'?",
        f"{path}:3:3: storage.level: unknown key; did you mean 'log.level'?",
        f"{path}:5:3: server.retention: unknown key; did you mean 'storage.retention'?",
        f"{path}:6:3: server.frobnicate: unknown key",
        f"{path}:7:1: strage: unknown section; did you mean 'storage'?",
    ]


def test_wrong_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        server:
          listen: 9900
          data_dir: ""
        storage:
          chunk_samples: "480"
          wal_flush_samples: true
          retention: [30d]
          url: 5
        log:
          level:
        """,
    )

    assert problems_of(path) == [
        f"{path}:2:11: server.listen: expected host:port like 127.0.0.1:9900, 0.0.0.0:9900 "
        "or [::1]:9900, got 9900",
        f"{path}:3:13: server.data_dir: expected a directory path, got ''",
        f"{path}:5:18: storage.chunk_samples: expected an integer from 16 to 8192, got '480'",
        f"{path}:6:22: storage.wal_flush_samples: expected an integer >= 1000, got True",
        f"{path}:7:14: storage.retention: expected a duration like 30d, 12h or 90m, got ['30d']",
        f"{path}:8:8: storage.url: expected '' (SQLite in server.data_dir), a sqlite:///path "
        "URL or a postgresql:// URL, got 5",
        f"{path}:10:9: log.level: expected one of debug, info, warning, error, got null",
    ]


def test_out_of_range_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        storage:
          retention: 0
          head_max_span: 0s
          wal_flush_samples: 999
          chunk_samples: 8193
        log:
          level: WARN
        """,
    )

    assert problems_of(path) == [
        f"{path}:2:14: storage.retention: expected a duration greater than 0, got '0'",
        f"{path}:3:18: storage.head_max_span: expected a duration greater than 0, got '0s'",
        f"{path}:4:22: storage.wal_flush_samples: expected an integer >= 1000, got 999",
        f"{path}:5:18: storage.chunk_samples: expected an integer from 16 to 8192, got 8193",
        f"{path}:7:10: log.level: expected one of debug, info, warning, error, got 'WARN' "
        "(did you mean 'warning'?)",
    ]


def test_duration_out_of_range_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  retention: 300y\n")

    assert problems_of(path) == [
        f"{path}:2:14: storage.retention: expected a duration like 30d, 12h or 90m, "
        "got '300y' (duration out of range)"
    ]


LISTEN_EXPECTED = "expected host:port like 127.0.0.1:9900, 0.0.0.0:9900 or [::1]:9900"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1", ""),
        (":9900", ""),
        ("127.0.0.1:", " (the port must be a number from 0 to 65535)"),
        ("127.0.0.1:65536", " (the port must be a number from 0 to 65535)"),
        ("127.0.0.1:-1", " (the port must be a number from 0 to 65535)"),
        ("127.0.0.1:http", " (the port must be a number from 0 to 65535)"),
        ("::1:9900", " (put an IPv6 address in brackets)"),
        ("[127.0.0.1]:9900", " ('127.0.0.1' is not an IPv6 address)"),
        ("[::g]:9900", " ('::g' is not an IPv6 address)"),
        ("256.0.0.1:9900", " ('256.0.0.1' is not an IPv4 address)"),
        ("bad_host:9900", " ('bad_host' is not a host name)"),
        ("-bad.example:9900", " ('-bad.example' is not a host name)"),
    ],
)
def test_bad_listen_addresses(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, f'otlp:\n  http_listen: "{text}"\n')

    assert problems_of(path) == [
        f"{path}:2:16: otlp.http_listen: {LISTEN_EXPECTED}, got {text!r}{reason}"
    ]


URL_EXPECTED = (
    "expected '' (SQLite in server.data_dir), a sqlite:///path URL or a postgresql:// URL"
)


@pytest.mark.parametrize(
    ("url", "shown", "reason"),
    [
        ("mysql://db/slo", "mysql://db/slo", " (unsupported scheme 'mysql')"),
        ("postgres://u:hunter2@db/slo", "postgres://u:***@db/slo", " (write postgresql://)"),
        (
            "postgresql+psycopg2://db/slo",
            "postgresql+psycopg2://db/slo",
            " (unsupported scheme 'postgresql+psycopg2')",
        ),
        (
            "postgresql://u:hunter2@db:port/slo",
            "postgresql://u:***@db:port/slo",
            " (Port could not be cast to integer value as 'port')",
        ),
        ("sqlite://", "sqlite://", " (sqlite:///relative.db or sqlite:////absolute/path.db)"),
        ("/var/lib/slo.db", "/var/lib/slo.db", ""),
    ],
)
def test_bad_storage_urls_never_echo_passwords(
    tmp_path: Path, url: str, shown: str, reason: str
) -> None:
    path = write(tmp_path, f"storage:\n  url: {url}\n")

    lines = problems_of(path)

    assert lines == [f"{path}:2:8: storage.url: {URL_EXPECTED}, got {shown!r}{reason}"]
    assert "hunter2" not in lines[0]


def test_bad_env_values_name_the_variable() -> None:
    environ = {
        "SLOSCOPE_STORAGE_RETENTION": "thirty days",
        "SLOSCOPE_STORAGE_CHUNK_SAMPLES": "lots",
        "SLOSCOPE_SERVER_LISTEN": "localhost",
        "SLOSCOPE_LOG_LEVEL": "",
    }

    assert problems_of(None, environ) == [
        "environment variable SLOSCOPE_LOG_LEVEL: log.level: expected one of debug, info, "
        "warning, error, got ''",
        f"environment variable SLOSCOPE_SERVER_LISTEN: server.listen: {LISTEN_EXPECTED}, "
        "got 'localhost'",
        "environment variable SLOSCOPE_STORAGE_CHUNK_SAMPLES: storage.chunk_samples: "
        "expected an integer from 16 to 8192, got 'lots'",
        "environment variable SLOSCOPE_STORAGE_RETENTION: storage.retention: expected a "
        "duration like 30d, 12h or 90m, got 'thirty days'",
    ]


def test_unknown_env_variables_under_a_section_are_errors() -> None:
    environ = {
        "SLOSCOPE_STORAGE_RETENTON": "7d",
        "SLOSCOPE_OTLP_ENDPOINT": "http://x",
    }

    assert problems_of(None, environ) == [
        "environment variable SLOSCOPE_OTLP_ENDPOINT: unknown setting",
        "environment variable SLOSCOPE_STORAGE_RETENTON: unknown setting; "
        "did you mean 'SLOSCOPE_STORAGE_RETENTION'?",
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        server:
          listen: 127.0.0.1:99999
          port: 9900
        storage:
          retention: 1.5h
          chunk_samples: 4
          retention: 1d
        """,
    )

    with pytest.raises(ConfigError) as info:
        load_config(path, {"SLOSCOPE_LOG_LEVEL": "loud"})

    error = info.value
    assert isinstance(error, ValueError)
    assert [str(p) for p in error.problems] == str(error).splitlines()
    assert [(p.origin.line, p.key) for p in error.problems] == [
        (2, "server.listen"),
        (3, "server.port"),
        (5, "storage.retention"),
        (6, "storage.chunk_samples"),
        (7, "storage.retention"),
        (None, "log.level"),
    ]
    assert str(error.problems[4]) == (
        f"{path}:7:3: storage.retention: duplicate key (first set at {path}:5:3)"
    )
    assert all(isinstance(p, Problem) for p in error.problems)


def test_bad_file_value_is_reported_even_when_env_overrides_it(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  retention: soon\n")

    lines = problems_of(path, {"SLOSCOPE_STORAGE_RETENTION": "7d"})

    assert lines == [
        f"{path}:2:14: storage.retention: expected a duration like 30d, 12h or 90m, got 'soon'"
    ]


def test_yaml_syntax_error_has_a_position(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  retention: 7d\n   chunk_samples: [480\n")

    assert problems_of(path) == [f"{path}:3:17: invalid YAML: mapping values are not allowed here"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "log:\n\tlevel: info\n",
            "2:1: invalid YAML: while scanning for the next token, "
            "found character '\\t' that cannot start any token",
        ),
        (
            'storage:\n  url: "a\x01"\n',
            "2:10: invalid YAML: unacceptable character #x0001: special characters are not allowed",
        ),
        (
            "log:\n  level: !loud info\n",
            "2:10: log.level: invalid value: could not determine a constructor for the tag '!loud'",
        ),
    ],
)
def test_yaml_errors_are_one_line_each(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    assert problems_of(path) == [f"{path}:{expected}"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("log:\n  level: d\xe9bug\n".encode("latin-1"))

    assert problems_of(path) == [
        f"{path}: cannot read config file: not UTF-8 (invalid continuation byte at byte 15)"
    ]


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- server\n- storage\n")

    assert problems_of(path) == [
        f"{path}:1:1: expected a mapping of sections"
        " (server, otlp, storage, log, rules, slo, notify, web, scrape_configs, rum), got a list"
    ]


def test_section_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "storage: 30d\n")

    assert problems_of(path) == [
        f"{path}:1:10: storage: expected a mapping of keys (url, retention, wal_flush_samples, "
        "chunk_samples, head_max_span), got '30d'"
    ]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"

    assert problems_of(path) == [f"{path}: cannot read config file: No such file or directory"]


def test_multiple_documents_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "log:\n  level: info\n---\nlog:\n  level: debug\n")

    assert problems_of(path) == [
        f"{path}:3:1: invalid YAML: expected a single document in the stream, "
        "but found another document"
    ]


def test_listen_addresses_must_not_clash(tmp_path: Path) -> None:
    path = write(tmp_path, "otlp:\n  http_listen: 0.0.0.0:9900\n")

    assert problems_of(path) == [
        f"{path}:2:16: otlp.http_listen: 0.0.0.0:9900 clashes with server.listen (127.0.0.1:9900)"
    ]
    # Port 0 picks a free port each time, so it never clashes.
    zero = {"SLOSCOPE_SERVER_LISTEN": "127.0.0.1:0", "SLOSCOPE_OTLP_HTTP_LISTEN": "127.0.0.1:0"}
    assert load_config(None, zero).server.listen.port == 0


def test_head_span_must_fit_in_retention() -> None:
    assert problems_of(None, {"SLOSCOPE_STORAGE_RETENTION": "1h"}) == [
        "environment variable SLOSCOPE_STORAGE_RETENTION: storage.retention: "
        "storage.head_max_span must not be longer than storage.retention"
    ]


# --- parse_duration: Prometheus' grammar (prometheus/common model.ParseDuration) --------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("0w", 0),
        ("0s", 0),
        ("0ms", 0),
        ("324ms", 324),
        ("3s", 3 * S),
        ("5m", 5 * M),
        ("1h", H),
        ("4d", 4 * D),
        ("4d1h", 4 * D + H),
        ("14d", 14 * D),
        ("3w", 3 * W),
        ("3w2d1h", 3 * W + 2 * D + H),
        ("10y", 10 * Y),
        ("1h30m", 90 * M),
        ("30d", 30 * D),
        ("1y1w1d1h1m1s1ms", Y + W + D + H + M + S + 1),
        ("90m", 90 * M),
        ("007s", 7 * S),
        ("292y", 292 * Y),
        ("106751d", 106751 * D),
    ],
)
def test_parse_duration_good(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration string"),
        ("1", "not a valid duration string: '1'"),
        ("1y1m1d", "not a valid duration string: '1y1m1d'"),  # units out of order
        ("1m1h", "not a valid duration string: '1m1h'"),
        ("1h1h", "not a valid duration string: '1h1h'"),  # repeated unit
        ("1s1ms1s", "not a valid duration string: '1s1ms1s'"),
        ("-1w", "not a valid duration string: '-1w'"),
        ("+1w", "not a valid duration string: '+1w'"),
        ("h", "not a valid duration string: 'h'"),
        (" 1h", "not a valid duration string: ' 1h'"),
        ("\u0663d", "not a valid duration string: '\u0663d'"),  # non-ASCII digit
        ("1.5d", "unknown unit '.' in duration '1.5d'"),
        ("1 h", "unknown unit ' h' in duration '1 h'"),
        ("1h ", "unknown unit 'h ' in duration '1h '"),
        ("1H", "unknown unit 'H' in duration '1H'"),
        ("1us", "unknown unit 'us' in duration '1us'"),
        ("1ns", "unknown unit 'ns' in duration '1ns'"),
        ("1mo", "unknown unit 'mo' in duration '1mo'"),
        ("293y", "duration out of range"),
        ("106752d", "duration out of range"),
        ("106751d23h48m", "duration out of range"),  # each term fits, the sum does not
        ("18446744073709551616ms", "not a valid duration string: '18446744073709551616ms'"),
    ],
)
def test_parse_duration_bad(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)

    assert str(info.value) == message


# --- list sections: scrape_configs and rum.apps ------------------------------------------------


def test_list_sections_default_to_empty() -> None:
    config = Config()

    assert config.scrape_configs == ()
    assert config.rum.apps == ()


def test_good_scrape_configs_and_rum_apps(tmp_path: Path) -> None:
    from sloscope.server.config import RumAppConfig, ScrapeJobConfig, StaticConfig

    path = write(
        tmp_path,
        """
        scrape_configs:
          - job_name: node
            scrape_interval: 30s
            scrape_timeout: 5s
            metrics_path: /probe
            scheme: https
            honor_labels: true
            static_configs:
              - targets: [localhost:9100, "[::1]:9100"]
                labels: {env: prod}
              - targets: [db.internal:9187]
          - job_name: discovered
            scrape_interval: 5s
            file_sd_configs:
              - files: [targets/web.json]
        rum:
          apps:
            - name: shop
              public_key: pk_shop
              allowed_origins: ["https://shop.example.com", "http://localhost:3000"]
              rate_per_s: 2.5
              burst: 20
            - name: any
              public_key: pk_any
              allowed_origins: ["*"]
        """,
    )

    config = load_config(path, {})

    node, discovered = config.scrape_configs
    assert node == ScrapeJobConfig(
        job_name="node",
        static_configs=(
            StaticConfig(("localhost:9100", "[::1]:9100"), (("env", "prod"),)),
            StaticConfig(("db.internal:9187",)),
        ),
        scrape_interval_ms=30 * S,
        scrape_timeout_ms=5 * S,
        metrics_path="/probe",
        scheme="https",
        honor_labels=True,
    )
    assert node.targets == ("localhost:9100", "[::1]:9100", "db.internal:9187")
    # Prometheus: an unset timeout is the default 10s, capped at the interval.
    assert discovered == ScrapeJobConfig(
        "discovered", file_sd_path="targets/web.json", scrape_interval_ms=5 * S,
        scrape_timeout_ms=5 * S,
    )  # fmt: skip
    assert config.rum.apps == (
        RumAppConfig("shop", "pk_shop", ("https://shop.example.com", "http://localhost:3000"),
                     2.5, 20.0),
        RumAppConfig("any", "pk_any", ("*",), 10.0, 50.0),
    )  # fmt: skip


def test_scrape_job_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "scrape_configs:\n  - job_name: a\n")

    (job,) = load_config(path, {}).scrape_configs

    assert (job.scrape_interval_ms, job.scrape_timeout_ms) == (15 * S, 10 * S)
    assert (job.metrics_path, job.scheme, job.honor_labels) == ("/metrics", "http", False)
    assert job.static_configs == () and job.file_sd_path is None


def test_empty_list_sections_mean_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "scrape_configs:\nrum:\n---\n"[:-4])
    assert load_config(path, {}) == Config()
    path = write(tmp_path, "scrape_configs: []\nrum:\n  apps: []\n")
    assert load_config(path, {}) == Config()


def test_bad_scrape_values_name_file_line_column_and_indexed_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scrape_configs:
          - job_name: node
            static_configs:
              - targets: [localhost:9100, x, "h:0"]
                labels: {1bad: v, ok: [1]}
          - job_name: other
            scrape_interval: 1.5m
            scheme: ftp
            metrics_path: metrics
            honor_labels: "yes"
            file_sd_configs:
              - files: [a.json, b.json]
            relabel_configs: []
          - static_configs: []
          - 5
        """,
    )

    assert problems_of(path) == [
        f"{path}:4:35: scrape_configs[0].static_configs[0].targets[1]: expected host:port, got 'x'",
        f"{path}:4:38: scrape_configs[0].static_configs[0].targets[2]: expected host:port,"
        " got 'h:0' (the port must be from 1 to 65535)",
        f"{path}:5:18: scrape_configs[0].static_configs[0].labels.1bad: expected a label name"
        " like env or team_1, got '1bad'",
        f"{path}:5:31: scrape_configs[0].static_configs[0].labels.ok: expected a string, got [1]",
        f"{path}:7:22: scrape_configs[1].scrape_interval: expected a duration like 30d, 12h or"
        " 90m, got '1.5m'",
        f"{path}:8:13: scrape_configs[1].scheme: expected http or https, got 'ftp'",
        f"{path}:9:19: scrape_configs[1].metrics_path: expected a path starting with /,"
        " got 'metrics'",
        f"{path}:10:19: scrape_configs[1].honor_labels: expected true or false, got 'yes'",
        f"{path}:12:25: scrape_configs[1].file_sd_configs[0].files[1]: only one file_sd file"
        " per job is supported",
        f"{path}:13:5: scrape_configs[1].relabel_configs: unknown key; did you mean"
        " 'file_sd_configs'?",
        f"{path}:14:5: scrape_configs[2]: missing required key job_name",
        f"{path}:15:5: scrape_configs[3]: expected a mapping of keys (job_name, static_configs,"
        " file_sd_configs, scrape_interval, scrape_timeout, metrics_path, scheme, honor_labels),"
        " got '5'",
    ]


def test_scrape_timeout_must_not_exceed_interval(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scrape_configs:
          - job_name: a
            scrape_interval: 5s
            scrape_timeout: 6s
          - job_name: b
            scrape_timeout: 20s
        """,
    )

    assert problems_of(path) == [
        f"{path}:4:21: scrape_configs[0].scrape_timeout: must not be longer than"
        " scrape_interval (5s)",
        f"{path}:6:21: scrape_configs[1].scrape_timeout: must not be longer than"
        " scrape_interval (15s)",
    ]


def test_duplicate_job_names_app_names_and_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        scrape_configs:
          - job_name: node
          - job_name: node
        rum:
          apps:
            - {name: shop, public_key: pk1}
            - {name: shop, public_key: pk2}
            - {name: blog, public_key: pk1}
        """,
    )

    assert problems_of(path) == [
        f"{path}:3:15: scrape_configs[1].job_name: duplicate value (first set at {path}:2:15)",
        f"{path}:7:14: rum.apps[1].name: duplicate value (first set at {path}:6:14)",
        f"{path}:8:32: rum.apps[2].public_key: duplicate value (first set at {path}:6:32)",
    ]


def test_bad_rum_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rum:
          apps:
            - name: shop
              public_key: ""
              allowed_origins: ["https://shop.example.com/", "*"]
              rate_per_s: 0
              burst: 0.5
            - name: blog
            - {name: x, public_key: k, allowed_origins: https://x.example}
          appz: []
        """,
    )

    assert problems_of(path) == [
        f"{path}:4:19: rum.apps[0].public_key: expected a non-empty string, got ''",
        f"{path}:5:25: rum.apps[0].allowed_origins[0]: expected '*' or an origin like"
        " https://shop.example.com (no path), got 'https://shop.example.com/'",
        f"{path}:6:19: rum.apps[0].rate_per_s: expected a number greater than 0, got 0",
        f"{path}:7:14: rum.apps[0].burst: expected a number >= 1, got 0.5",
        f"{path}:8:7: rum.apps[1]: missing required key public_key",
        f"{path}:9:49: rum.apps[2].allowed_origins: expected a list of origins,"
        " got 'https://x.example'",
        f"{path}:10:3: rum.appz: unknown key; did you mean 'apps'?",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scrape_configs: 5\n", "1:17: scrape_configs: expected a list of scrape jobs, got '5'"),
        ("scrape_configs: {a: 1}\n", "1:17: scrape_configs: expected a list of scrape jobs,"
         " got a mapping"),
        ("rum: [1]\n", "1:6: rum: expected a mapping of keys (apps), got a list"),
        ("rum:\n  apps: x\n", "2:9: rum.apps: expected a list of apps, got 'x'"),
    ],
)  # fmt: skip
def test_list_sections_of_the_wrong_shape(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    assert problems_of(path) == [f"{path}:{expected}"]


def test_list_sections_are_file_only() -> None:
    environ = {"SLOSCOPE_SCRAPE_CONFIGS": "[]", "SLOSCOPE_RUM_APPS": "[]"}

    assert problems_of(None, environ) == [
        "environment variable SLOSCOPE_RUM_APPS: unknown setting; rum is read from the config"
        " file only",
        "environment variable SLOSCOPE_SCRAPE_CONFIGS: unknown setting; scrape_configs is read"
        " from the config file only",
    ]


def test_list_section_problems_come_with_the_others(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        storage:
          retention: x
        scrape_configs:
          - job_name: a
            scheme: ftp
        log:
          level: loud
        """,
    )

    problems = problems_of(path)

    assert [p.split(": ")[1] for p in problems] == [
        "storage.retention",
        "scrape_configs[0].scheme",
        "log.level",
    ]


def test_reference_file_examples_of_list_sections_are_valid(tmp_path: Path) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    tail = text[text.index("\n# scrape_configs:") :].splitlines()
    uncommented = [line[2:] for line in tail if line.startswith(("# scrape", "# rum", "#  "))]
    path = write(tmp_path, "\n".join(uncommented) + "\n")

    config = load_config(path, {})

    assert [job.job_name for job in config.scrape_configs] == ["node", "web"]
    assert [app.name for app in config.rum.apps] == ["shop"]


def test_rule_and_notify_keys_reject_wrong_shapes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          files: [alert_rules/*.yml, 3]
          external_url: ftp://x
        notify:
          config_file: [a]
        """,
    )
    assert problems_of(path) == [
        f"{path}:2:10: rules.files: expected a list of non-empty strings "
        "(comma-separated in a variable), got ['alert_rules/*.yml', 3]",
        f"{path}:3:17: rules.external_url: expected an http(s) URL like "
        "https://sloscope.example.com, or empty, got 'ftp://x'",
        f"{path}:5:16: notify.config_file: expected a file path, or empty, got ['a']",
    ]
    assert load_config(None, {"SLOSCOPE_SLO_FILES": " a.yml , b/*.yml ,"}).slo.files == (
        "a.yml",
        "b/*.yml",
    )


def test_web_users_name_the_bad_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        web:
          users:
            - {name: ana, role: editor, password_hash: "scrypt:32768:8:1$s4lt$0fa9"}
            - {name: bob, role: boss, password_hash: "scrypt:32768:8:1$s4lt$0fa9"}
          secret_key: short
        """,
    )
    assert problems_of(path) == [
        f"{path}:3:5: web.users: [1].role: expected viewer, editor or admin, got 'boss'",
        f"{path}:5:15: web.secret_key: expected a random string of at least 16 characters, "
        "or empty, got '<hidden>'",
    ]
    clear = '[{"name": "ana", "role": "admin", "password_hash": "hunter2"}]'
    with pytest.raises(ConfigError, match="never a clear password"):
        load_config(None, {"SLOSCOPE_WEB_USERS": clear})
