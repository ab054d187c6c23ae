"""``sloscope rules test``: promtool's output and exit codes, and promtool's verdicts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sloscope.cli import main

DATA = Path(__file__).parent / "unittest_data"
TEST_FILES = sorted(p.name for p in DATA.glob("*_test.yml"))


def test_passing_file(capsys):
    path = str(DATA / "pending_firing_test.yml")
    assert main(["rules", "test", path]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (f"Unit Testing:  {path}\n  SUCCESS\n\n", "")


def test_any_failing_file_exits_1(capsys):
    good, bad = str(DATA / "stale_test.yml"), str(DATA / "failing_test.yml")
    assert main(["rules", "test", good, bad]) == 1
    out, err = capsys.readouterr()
    assert out == f"Unit Testing:  {good}\n  SUCCESS\n\nUnit Testing:  {bad}\n\n"
    assert err.startswith("  FAILED:\n    name: wrong expectations,\n")
    assert err.count("\n\n") == 4  # one blank line after each of the four failures


def test_bad_test_file_is_reported_without_traceback(tmp_path, capsys):
    path = tmp_path / "bad_test.yml"
    path.write_text("tests:\n  - intervall: 1m\n", encoding="utf-8")
    assert main(["rules", "test", str(path)]) == 1
    _, err = capsys.readouterr()
    assert err == f'  FAILED:\n{path}:2:5: unknown field "intervall" in a test\n\n'


def test_unmatched_rule_files_warn(tmp_path, capsys):
    path = tmp_path / "w_test.yml"
    path.write_text("rule_files: [gone.yml]\ntests: []\n", encoding="utf-8")
    assert main(["rules", "test", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == f"  WARNING: no file match pattern {tmp_path}/gone.yml\n"
    assert out.endswith("  SUCCESS\n\n")


def promtool_test(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/usr/bin/promtool", "test", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.prometheus
@pytest.mark.parametrize("name", TEST_FILES)
def test_same_verdict_as_promtool(tmp_path, capsys, name):
    ours = main(["rules", "test", str(DATA / name)])
    assert ours == promtool_test(DATA / name).returncode
    assert ours == (1 if name == "failing_test.yml" else 0)


@pytest.mark.prometheus
def test_same_failure_text_as_promtool(capsys):
    path = DATA / "failing_test.yml"
    main(["rules", "test", str(path)])
    _, err = capsys.readouterr()
    theirs = promtool_test(path).stderr

    def lines(text: str) -> list[str]:  # promtool puts the blank lines on stdout
        return [line for line in text.splitlines() if line]

    assert lines(err) == lines(theirs)


@pytest.mark.prometheus
def test_same_verdict_on_group_order(tmp_path, capsys):
    shutil.copy(DATA / "rules_order.yml", tmp_path / "rules_order.yml")
    test = (DATA / "group_order_test.yml").read_text(encoding="utf-8")
    reversed_ = tmp_path / "reversed_test.yml"
    reversed_.write_text(test.replace("[recordings, alerts]", "[alerts, recordings]"), "utf-8")
    assert main(["rules", "test", str(reversed_)]) == 1
    assert promtool_test(reversed_).returncode == 1
