"""Runs every ``tests/promql/*.test`` promqltest script against the engine.

One test per eval case (id ``file.test:line``), so a failure names the file, the line, the
expression and what went wrong; plus one test per file that the script parses and runs whole.
Each file is run once (cached) and the per-case tests look up their own result.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from collector.promql.promqltest import ScriptResult, run_script
from collector.promql.promqltest_format import EvalInstant, EvalRange, ScriptError, parse_script

SCRIPT_DIR = Path(__file__).parent
SCRIPTS = sorted(SCRIPT_DIR.glob("*.test"))


@functools.cache
def _run(name: str) -> ScriptResult:
    path = SCRIPT_DIR / name
    return run_script(path.read_text(encoding="utf-8"), path.name)


def _case_params() -> list:
    params = []
    for path in SCRIPTS:
        try:
            commands = parse_script(path.read_text(encoding="utf-8"), path.name)
        except ScriptError as exc:
            # The per-file test reports the parse error; keep one placeholder case so the
            # file still shows up among the case tests.
            params.append(pytest.param(path.name, None, str(exc), id=f"{path.name}:parse"))
            continue
        for command in commands:
            if isinstance(command, EvalInstant | EvalRange):
                params.append(
                    pytest.param(
                        path.name, command.line, command.expr, id=f"{path.name}:{command.line}"
                    )  # fmt: skip
                )
    return params


def test_scripts_found() -> None:
    assert SCRIPTS, f"no *.test files in {SCRIPT_DIR}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_runs(path: Path) -> None:
    result = _run(path.name)
    assert result.error is None, f"{path.name} could not be parsed: {result.error}"
    assert result.cases, f"{path.name} has no eval cases"


@pytest.mark.parametrize(("name", "line", "expr"), _case_params())
def test_case(name: str, line: int | None, expr: str) -> None:
    result = _run(name)
    if line is None:
        pytest.fail(f"{name}: the script does not parse: {expr}")
    assert result.error is None, f"{name} could not be parsed: {result.error}"
    matches = [case for case in result.cases if case.line == line]
    assert len(matches) == 1, f"{name}:{line}: expected one result for `{expr}`, got {matches}"
    case = matches[0]
    if case.failure is not None:
        pytest.fail(f"{name}:{line}: {case.expr}\n    {case.failure}", pytrace=False)
