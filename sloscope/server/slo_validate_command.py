"""``sloscope slo validate FILE...``: check SLO specs (native, OpenSLO v1, Sloth).

Every problem is printed as ``file:line:col: path.to.key: what was expected`` and the exit
code is 1; with no problems, each file gets a one-line summary and the exit code is 0. Files
are read together, so OpenSLO references may cross them.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

__all__ = ["run_validate", "summary_line"]


def summary_line(file: str, slos: list) -> str:
    """``shop.yml: 2 SLOs (native): shop-availability 99.9% 30d, shop-latency 99% 30d``."""
    formats = sorted({slo.spec_format for slo in slos})
    noun = "SLO" if len(slos) == 1 else "SLOs"
    details = ", ".join(f"{slo.id} {_percent(slo.objective)} {_window(slo.window)}" for slo in slos)
    head = f"{file}: {len(slos)} {noun}"
    if formats:
        head += f" ({', '.join(formats)})"
    return f"{head}: {details}" if details else head


def _percent(objective: float) -> str:
    return f"{objective * 100:.10g}%"


def _window(window) -> str:
    if window.kind == "calendar":
        return f"calendar {window.calendar_unit} {window.time_zone}"
    days, rest = divmod(window.duration_ms, 86_400_000)
    return f"{days}d" if not rest else f"{window.duration_ms // 1000}s"


def run_validate(args: argparse.Namespace) -> int:
    from slo.spec.loader import load_slo_files

    slos, errors = load_slo_files(args.files)
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        noun = "problem" if len(errors) == 1 else "problems"
        print(f"{len(errors)} {noun} found", file=sys.stderr)
        return 1
    by_file: dict[str, list] = defaultdict(list)
    for slo in slos:
        by_file[slo.source.file].append(slo)
    for file in args.files:
        print(summary_line(file, by_file.get(file, [])))
    return 0
