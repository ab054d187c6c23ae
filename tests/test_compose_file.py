"""docker-compose.yml against the Compose specification's JSON schema, and what no schema sees.

No Docker engine runs here, so the stack is checked on paper, each part by the most real thing
available: the schema (vendored by the `check-jsonschema` package), the commands by our own
argument parsers and the README, the server's environment and files by the server's own config
loader, rule compiler and notifier loader, Alertmanager's and Prometheus' files by `amtool` and
`promtool`, and the two shell scripts by running them against the test PostgreSQL.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

from reference_backend.loadgen.__main__ import build_parser as loadgen_parser
from reference_backend.loadgen.__main__ import plan as loadgen_plan
from slo.notify.config_loader import load_config as load_notify_config
from sloscope.cli import build_parser as cli_parser
from sloscope.server.config import Config, load_config
from sloscope.server.rules_role import load_rule_groups

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
IMAGE = "sloscope:local"  # services built from our Dockerfile
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME and $$
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


def interpolate(value, env: dict[str, str]):
    """What Compose makes of a value given these variables (no .env: the defaults)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        unset = name not in env or (op.startswith(":") and env[name] == "")
        if unset and op.endswith("?"):
            raise ValueError(f"${{{name}}} is required: {arg}")
        return arg if unset and op.endswith("-") else env.get(name, "")

    return _VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(COMPOSE_TEXT), {})


def compose_spec() -> dict:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendored / "compose-spec.json").read_text(encoding="utf-8"))


def spec_errors(document: dict) -> list[str]:
    validator = Draft202012Validator(
        compose_spec(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_compose_file_follows_the_compose_specification():
    assert compose_spec()["title"] == "Compose Specification"
    assert spec_errors(yaml.safe_load(COMPOSE_TEXT)) == []


@pytest.mark.parametrize(
    "path, bad",
    [
        (("services", "sloscope", "ports"), "9900:9900"),  # a list, not a string
        (("services", "sloscope", "restart_policy"), "always"),  # no such key
        (("services", "shop", "depends_on", "sloscope", "condition"), "service_ready"),
        (("services", "loadgen", "network_mode"), ["service:shop"]),
    ],
)
def test_the_schema_check_catches_a_broken_copy(path, bad):
    broken = copy.deepcopy(yaml.safe_load(COMPOSE_TEXT))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    assert spec_errors(broken), f"a broken {'.'.join(path)} passed the schema"


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_every_variable_has_a_default_so_up_needs_no_env_file():
    found = [m for s in strings(yaml.safe_load(COMPOSE_TEXT)) for m in _VARIABLE.finditer(s)]
    assert found
    for match in found:
        if not match["escaped"]:
            assert match["op"] == ":-" and match["arg"], f"{match[0]} needs a :-default"
    assert interpolate("a$${X}b${Y:-c}", {}) == "a${X}bc"
    assert interpolate("${Y:-c}", {"Y": "d"}) == "d"


def services_of(compose: dict, image: str | None = None) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if image in (None, s.get("image"))}


def binds(service: dict) -> list[tuple[Path, PurePosixPath]]:
    """(repository path, container path) of each ./ bind mount (short syntax only here)."""
    found = []
    for volume in service.get("volumes", []):
        assert isinstance(volume, str), "use the short volume syntax"
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found.append((ROOT / source, PurePosixPath(target)))
    return found


def host_path(service: dict, container_path: str) -> str:
    """The repository file (or glob) a container path of this service is mounted from."""
    path = PurePosixPath(container_path)
    for source, target in binds(service):
        if path == target or target in path.parents:
            return str(source / path.relative_to(target))
    raise AssertionError(f"{container_path} is not mounted from the repository")


def test_mounted_files_exist_and_named_volumes_are_declared(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for source, _ in binds(service):
            assert source.exists(), f"{name}: {source.relative_to(ROOT)} does not exist"
            assert not source.is_dir() or any(source.iterdir()), f"{name}: {source} is empty"
        for volume in service.get("volumes", []):
            if not volume.startswith(("./", "/")):
                used.add(volume.split(":")[0])
    assert used == declared


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("#")[0].split("&&"):
                if part.strip():
                    argv = shlex.split(part)
                    commands.append([Path(argv[0]).name, *argv[1:]])
    return commands


def head(argv: list[str]) -> tuple[str, ...]:
    """The program and subcommand words, up to the first option."""
    words = []
    for word in argv:
        if word.startswith("-") and word != "-m":
            break
        words.append(word)
    return tuple(words)


def options(argv: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rest = argv[len(head(argv)) :]
    for i, word in enumerate(rest):
        if word.startswith("--"):
            value = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("--") else ""
            found.setdefault(word, []).append(value)
    return found


def effective_argv(service: dict) -> list[str]:
    """The command, with `sh SCRIPT ARGS` followed to the command the script execs."""
    argv = list(service["command"])
    if argv[0] != "sh":
        return argv
    script = Path(host_path(service, argv[1])).read_text()
    (line,) = [s.strip() for s in script.splitlines() if s.strip().startswith("exec ")]
    execed = shlex.split(line)[1:]
    return [*execed[: execed.index("$@")], *argv[2:]]


def test_services_run_the_commands_the_readme_gives(compose):
    readme = {head(argv): argv for argv in readme_commands()}
    ours = {name: effective_argv(s) for name, s in services_of(compose, IMAGE).items()}
    expected = {
        ("sloscope", "server"),
        ("sloscope", "load"),
        ("python", "-m", "reference_backend", "serve"),
        ("python", "-m", "reference_backend", "seed"),
    }
    assert {head(argv) for argv in ours.values()} == expected
    for name, argv in ours.items():
        assert head(argv) in readme, f"{name}: {shlex.join(argv)} is not in the README"
        given = options(readme[head(argv)])
        for option, values in given.items():
            assert options(argv).get(option) == values, f"{name}: {option} differs from README"


def test_commands_parse_with_the_real_argument_parsers(compose):
    argvs = {head(a): a for a in map(effective_argv, services_of(compose, IMAGE).values())}
    assert cli_parser().parse_args(argvs["sloscope", "server"][1:]).command == "server"
    host, profile = loadgen_plan(loadgen_parser().parse_args(argvs["sloscope", "load"][2:]))
    assert host == "http://127.0.0.1:8000" and profile.name == "load"
    for sub in ("serve", "seed"):
        argv = argvs["python", "-m", "reference_backend", sub]
        help_text = subprocess.run(
            [sys.executable, "-m", "reference_backend", sub, "--help"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout  # fmt: skip
        for option in options(argv):
            assert option in help_text, f"{sub} has no {option}"


def test_load_generator_reaches_the_shop_on_loopback(compose):
    # The load generator refuses non-loopback targets; sharing the shop's network namespace
    # makes 127.0.0.1:8000 the shop.
    loadgen, shop = compose["services"]["loadgen"], compose["services"]["shop"]
    assert loadgen["network_mode"] == "service:shop"
    assert "ports" not in loadgen
    assert options(shop["command"])["--port"] == ["8000"]
    assert options(shop["command"])["--host"] == ["0.0.0.0"]


def service_env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


@pytest.mark.parametrize("name", list(yaml.safe_load(COMPOSE_TEXT)["services"]))
def test_sloscope_variables_name_real_config_keys(compose, name):
    # Unknown SLOSCOPE_<SECTION>_* variables and bad values raise ConfigError.
    assert isinstance(load_config(None, service_env(compose["services"][name])), Config)


@pytest.fixture(scope="module")
def server_config(compose) -> Config:
    service = compose["services"]["sloscope"]
    env = service_env(service)
    return load_config(host_path(service, env["SLOSCOPE_CONFIG"]), env)


def test_server_config_points_at_the_stack(compose, server_config):
    config, services = server_config, compose["services"]
    for listen in (config.server.listen, config.otlp.http_listen, config.otlp.grpc_listen):
        assert listen.host == "0.0.0.0"
    store = urlsplit(config.storage.url)
    assert store.scheme == "postgresql+psycopg" and store.hostname == "postgres"
    assert (store.path, store.username) == ("/sloscope", "sloscope")
    assert store.password == service_env(services["postgres"])["SLOSCOPE_DB_PASSWORD"]
    shop_db = urlsplit(service_env(services["shop"])["DATABASE_URL"])
    assert (shop_db.hostname, shop_db.path, shop_db.username) == ("postgres", "/shop", "shop")
    assert shop_db.password == service_env(services["postgres"])["SHOP_DB_PASSWORD"]
    assert config.notify.alertmanager_urls == ("http://alertmanager:9093",)
    jobs = {job.job_name: job.targets for job in config.scrape_configs}
    assert jobs["shop"] == ("shop:8000",)
    assert service_env(services["shop"])["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        f"http://sloscope:{config.otlp.http_listen.port}"
    )
    assert config.sqlalchemy_url.startswith("postgresql+psycopg://")


def test_server_loads_the_mounted_rules_slos_and_notifier(compose, server_config):
    service = compose["services"]["sloscope"]
    config = dataclasses.replace(
        server_config,
        rules=dataclasses.replace(
            server_config.rules,
            files=tuple(host_path(service, p) for p in server_config.rules.files),
        ),
        slo=dataclasses.replace(
            server_config.slo, files=tuple(host_path(service, p) for p in server_config.slo.files)
        ),
    )
    groups, slos = load_rule_groups(config)  # raises CommandError listing every bad file
    assert slos
    names = {group.name for group in groups}
    assert any(name.startswith("sloth-slo-") for name in names), names
    assert len(names) > len(config.slo.files)  # alert_rules' groups too
    notify = load_notify_config(host_path(service, server_config.notify.config_file))
    assert notify.route.receiver in {r.name for r in notify.receivers}


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port."""
    found = []
    for port in service.get("ports", []):
        address, host_port, container_port = str(port).split("/")[0].rsplit(":", 2)
        found.append((address, int(host_port), int(container_port)))
    return found


def test_published_ports_do_not_clash_and_reach_listeners(compose, server_config):
    ports = [p for s in compose["services"].values() for p in published_ports(s)]
    host_ports = [host_port for _, host_port, _ in ports]
    assert len(host_ports) == len(set(host_ports)), sorted(host_ports)
    assert all(address == "127.0.0.1" for address, _, _ in ports)
    config = server_config
    listening = {
        config.server.listen.port,
        config.otlp.http_listen.port,
        config.otlp.grpc_listen.port,
    }
    assert {c for _, _, c in published_ports(compose["services"]["sloscope"])} == listening
    shop_port = int(options(compose["services"]["shop"]["command"])["--port"][0])
    assert [c for _, _, c in published_ports(compose["services"]["shop"])] == [shop_port]


def test_grafana_datasource_points_at_the_sloscope_service(compose, server_config):
    grafana = compose["services"]["grafana"]
    provisioning = Path(host_path(grafana, "/etc/grafana/provisioning/datasources"))
    sources = {}
    for path in provisioning.glob("*.yml"):
        document = yaml.safe_load(path.read_text())
        assert document["apiVersion"] == 1
        sources.update({source["name"]: source for source in document["datasources"]})
    sloscope = sources["sloscope"]
    assert (sloscope["type"], sloscope["access"], sloscope["isDefault"]) == (
        "prometheus",
        "proxy",
        True,
    )
    url = urlsplit(sloscope["url"])
    assert url.hostname == "sloscope" and url.port == server_config.server.listen.port
    assert urlsplit(sources["prometheus"]["url"]).hostname == "prometheus"
    assert [s for s in sources.values() if s.get("isDefault")] == [sloscope]
    assert grafana["profiles"] == ["grafana"] == compose["services"]["prometheus"]["profiles"]


def test_dependencies_wait_for_what_they_need(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert "profiles" not in services[target] or "profiles" in service, (name, target)
            condition = condition["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target]["restart"] == "no"
    assert services["sloscope"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["shop"]["depends_on"]["shop-seed"]["condition"] == (
        "service_completed_successfully"
    )
