"""The shipped ``alert_rules/``: valid for promtool and for us, unit-tested, documented.

promtool 2.42 is the oracle for the rule files and their unit tests; ``sloscope rules check``
and ``sloscope rules test`` must give the same verdicts. Mutation tests show the unit tests can
fail: an alert that never fires, or one that lost its minimum-traffic guard, must be caught.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from sloscope.cli import main

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "alert_rules"
TESTS_DIR = RULES_DIR / "tests"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
PROMTOOL = "/usr/bin/promtool"

RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yml"))
AREAS = ("cache", "database", "http", "process", "rum", "scrape")
SEVERITIES = {"warning", "critical"}


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerting_rules(path: Path) -> list[dict]:
    return [
        rule for group in load_yaml(path)["groups"] for rule in group["rules"] if "alert" in rule
    ]


ALERTS = [(path, rule) for path in RULE_FILES for rule in alerting_rules(path)]
ALERT_IDS = [rule["alert"] for _, rule in ALERTS]


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, check=False)


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading: lower case, punctuation dropped."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    text = RUNBOOKS.read_text(encoding="utf-8")
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_one_rule_file_and_one_test_file_per_area():
    assert [p.stem for p in RULE_FILES] == list(AREAS)
    assert [p.name for p in TEST_FILES] == [f"{area}.test.yml" for area in AREAS]
    for area in AREAS:
        assert load_yaml(TESTS_DIR / f"{area}.test.yml")["rule_files"] == [f"../{area}.yml"]


@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_alert_is_documented_and_labelled(path, rule):
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    anchor = rule["alert"].lower()
    assert annotations["runbook_url"] == f"docs/runbooks.md#{anchor}"
    assert anchor in runbook_anchors(), f"docs/runbooks.md has no section {rule['alert']}"


def alert_checks() -> dict[str, list[bool]]:
    """For each alert name, whether each of its ``alert_rule_test`` checks expects alerts."""
    found: dict[str, list[bool]] = {}
    for path in TEST_FILES:
        for test in load_yaml(path)["tests"]:
            for check in test.get("alert_rule_test", []):
                found.setdefault(check["alertname"], []).append(bool(check.get("exp_alerts")))
    return found


def test_every_alert_is_tested_firing_and_not_firing():
    checks = alert_checks()
    assert set(checks) == set(ALERT_IDS)
    for name, expects in checks.items():
        assert True in expects, f"{name}: no check expects it to fire"
        assert False in expects, f"{name}: no check expects it to stay quiet"


@pytest.mark.prometheus
def test_promtool_check_rules_passes():
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_sloscope_rules_check_passes(capsys):
    assert main(["rules", "check", *map(str, RULE_FILES)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("SUCCESS") == len(RULE_FILES)


@pytest.mark.prometheus
@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_unit_tests_pass_in_promtool_and_sloscope(path, capsys):
    theirs = promtool("test", "rules", path)
    assert theirs.returncode == 0, theirs.stderr
    ours = main(["rules", "test", str(path)])
    _, err = capsys.readouterr()
    assert ours == 0, err


def mutated_copy(tmp_path: Path, rule_path: Path, alert: str, expr: str) -> Path:
    """The area's rule file with one alert's ``expr`` replaced, and its test file beside it."""
    document = load_yaml(rule_path)
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
    (tmp_path / rule_path.name).write_text(yaml.safe_dump(document), encoding="utf-8")
    test_file = tmp_path / "tests" / f"{rule_path.stem}.test.yml"
    test_file.parent.mkdir()
    test_file.write_text((TESTS_DIR / test_file.name).read_text(encoding="utf-8"))
    return test_file


@pytest.mark.prometheus
@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_an_alert_that_never_fires_fails_its_tests(tmp_path, path, rule):
    test_file = mutated_copy(tmp_path, path, rule["alert"], "vector(1) > 2")
    result = promtool("test", "rules", test_file)
    assert result.returncode == 1
    assert f"alertname: {rule['alert']}," in result.stderr


GUARDED = [(path, rule) for path, rule in ALERTS if "\nand\n" in rule["expr"]]


@pytest.mark.prometheus
@pytest.mark.parametrize(("path", "rule"), GUARDED, ids=[r["alert"] for _, r in GUARDED])
def test_an_alert_without_its_traffic_guard_fails_its_tests(tmp_path, path, rule):
    unguarded = rule["expr"].split("\nand\n")[0]
    test_file = mutated_copy(tmp_path, path, rule["alert"], unguarded)
    result = promtool("test", "rules", test_file)
    assert result.returncode == 1
    assert f"alertname: {rule['alert']}," in result.stderr


def test_every_ratio_and_quantile_alert_has_a_traffic_guard():
    guarded = {rule["alert"] for _, rule in GUARDED}
    assert guarded == {
        "HTTPLatencyP95High",
        "HTTP5xxRatioHigh",
        "DBQueryLatencyP95High",
        "CacheHitRatioLow",
        "CacheMissRateHigh",
        "RUMLCPPoor",
        "RUMINPPoor",
    }
