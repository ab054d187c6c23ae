"""``sloscope load ...``: the reference shop's load generator.

It runs in a child process: Locust patches the whole interpreter for gevent, which must not
happen to the process that runs the CLI (or anything else in it).
"""

from __future__ import annotations

import subprocess
import sys

__all__ = ["run_load"]


def run_load(args: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "reference_backend.loadgen", *args])
