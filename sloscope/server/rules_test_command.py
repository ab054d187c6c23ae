"""``sloscope rules test FILE...``: run rule unit tests written for ``promtool test rules``.

Output follows promtool: ``Unit Testing:  FILE``, then ``  SUCCESS`` or ``  FAILED:`` and
each failure (expected vs got) on standard error. The exit code is 1 if any test failed.
"""

from __future__ import annotations

import argparse
import sys

from slo.rules.unittest_runner import run_unittest_file

__all__ = ["run_test"]


def run_test(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        print(f"Unit Testing:  {path}")
        outcome = run_unittest_file(path)
        for warning in outcome.warnings:
            print(f"  WARNING: {warning}", file=sys.stderr)
        if outcome.passed:
            print("  SUCCESS")
        else:
            failed = True
            print("  FAILED:", file=sys.stderr)
            for error in outcome.errors:
                print(error, file=sys.stderr)
                print(file=sys.stderr)
        print()
    return 1 if failed else 0
