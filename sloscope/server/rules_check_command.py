"""``sloscope rules check FILE...``: validate rule files, reporting as ``promtool check rules``.

Per file it prints ``Checking FILE`` and then ``  SUCCESS: N rules found``, or ``  FAILED:``
followed by every problem (``file:line:col: group "g", rule N ("name"): message``) on
standard error. The exit code is 1 if any file has a problem.
"""

from __future__ import annotations

import argparse
import sys

from slo.rules.loader import load_rule_files

__all__ = ["run_check"]


def run_check(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        print(f"Checking {path}")
        groups, errors = load_rule_files([path])
        if errors:
            failed = True
            print("  FAILED:", file=sys.stderr)
            for error in errors:
                print(error, file=sys.stderr)
        else:
            count = sum(len(group.rules) for group in groups)
            print(f"  SUCCESS: {count} rules found")
        print()
    return 1 if failed else 0
