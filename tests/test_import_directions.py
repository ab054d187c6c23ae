"""Dependencies point one way: web -> slo -> collector; the SDK and the reference backend
never import the server side (DESIGN.md, layout table)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"sloscope", "collector", "slo", "web", "reference_backend"}
# sloscope's server side: the CLI and composition root may import everything (lazily).
SDK_EXEMPT = ("sloscope/cli.py", "sloscope/__main__.py", "sloscope/server/")

FORBIDDEN = {
    "collector": OURS - {"collector"},
    "slo": OURS - {"slo", "collector"},
    "web": {"sloscope", "reference_backend"},
    "reference_backend": {"collector", "slo", "web", "sloscope.server", "sloscope.cli"},
    "sloscope": {"collector", "slo", "web", "reference_backend", "sloscope.server"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def violations() -> list[str]:
    problems = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if package == "sloscope" and rel.startswith(SDK_EXEMPT):
                continue
            for line, module in imported_modules(path):
                hit = next(
                    (b for b in banned if module == b or module.startswith(f"{b}.")), None
                )
                if hit:
                    problems.append(f"{rel}:{line}: {package} must not import {hit} ({module})")
    return problems


def test_no_forbidden_import_direction():
    assert violations() == []


def test_the_checker_catches_a_forbidden_import(tmp_path, monkeypatch):
    fake = tmp_path / "collector"
    fake.mkdir()
    (fake / "bad.py").write_text("from slo.spec import x\nimport web\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations() == [
        "collector/bad.py:1: collector must not import slo (slo.spec)",
        "collector/bad.py:1: collector must not import slo (slo.spec.x)",
        "collector/bad.py:2: collector must not import web (web)",
    ]


@pytest.mark.parametrize("module", ["sloscope", "sloscope.cli"])
def test_importing_the_sdk_or_cli_loads_no_server_side_code(module):
    code = (
        f"import sys, {module}\n"
        "heavy = {'collector', 'slo', 'web', 'sqlalchemy', 'flask', 'numpy', 'sloscope.server'}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
