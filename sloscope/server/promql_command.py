"""``sloscope promql test FILE...``: run promqltest scripts, Prometheus' engine-test format."""

from __future__ import annotations

import argparse

from sloscope.server.settings import fail

__all__ = ["run_test"]


def run_test(args: argparse.Namespace) -> int:
    from collector.promql.promqltest import run_script

    passed = failed = 0
    for name in args.files:
        try:
            with open(name, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            return fail(f"cannot read {name}: {exc.strerror}")
        result = run_script(text, name)
        if result.error:
            print(f"{name}: {result.error}")
        for case in result.cases:
            if not case.passed:
                print(f"{name}:{case.line}: {case.expr}\n    {case.failure}")
        print(f"{name}: {result.passed} passed, {result.failed} failed")
        passed += result.passed
        failed += result.failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
