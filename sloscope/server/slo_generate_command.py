"""``sloscope slo generate [--format prometheus] [-o FILE] FILE...``: SLO specs to rule files.

The specs (native, OpenSLO v1, Sloth) are read together and compiled to Sloth-named recording
rules and multi-window multi-burn-rate alerts (see docs/slo-rules.md); the Prometheus rule
file goes to standard output or, with ``-o``, replaces FILE in one step, so a Prometheus
watching it never loads half a file. Spec problems are printed as ``file:line:col: ...`` on
standard error and the exit code is 1; nothing is written then.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["run_generate"]


def run_generate(args: argparse.Namespace) -> int:
    from slo.compile import CompileError, compile_slos, render_rule_file
    from slo.compile.rule_file import GENERATED_HEADER
    from slo.spec.loader import load_slo_files

    slos, errors = load_slo_files(args.files)
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        noun = "problem" if len(errors) == 1 else "problems"
        print(f"{len(errors)} {noun} found; no rules written", file=sys.stderr)
        return 1
    try:
        groups = compile_slos(slos)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        print("no rules written", file=sys.stderr)
        return 1
    header = f"{GENERATED_HEADER}\nFrom: {', '.join(args.files)}"
    text = render_rule_file(groups, header=header)
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        _replace_file(Path(args.output), text)
    except OSError as exc:
        print(f"{args.output}: cannot write the rule file: {exc.strerror or exc}", file=sys.stderr)
        return 1
    rules = sum(len(group.rules) for group in groups)
    print(
        f"{args.output}: {rules} rules in {len(groups)} groups for {len(slos)} SLOs",
        file=sys.stderr,
    )
    return 0


def _replace_file(path: Path, text: str) -> None:
    """Write next to ``path`` and rename over it: readers see the old file or the new one."""
    # mkstemp's file is private (0600); Prometheus may run as another user and must read it.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
