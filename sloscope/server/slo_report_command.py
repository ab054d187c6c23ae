"""``sloscope slo report FILES --from --to``: calendar-period error-budget reports as CSV.

Every SLO of the spec files is read from the store with PromQL range queries (its SLI's 5m
event rates, or its 5m error ratio when the SLI has no events) and summarised per calendar
period by :func:`slo.budget.slo_report`; the rows of all SLOs are written as one CSV.
"""

from __future__ import annotations

import argparse
import sys

from sloscope.server.settings import CommandError, config_for, fail

__all__ = ["run_report"]

STEP_MS = 5 * 60_000
#: Steps per range query, under the engine's 11,000 points per series.
_STEPS_PER_QUERY = 10_000


def run_report(args: argparse.Namespace) -> int:
    from slo.budget import BudgetError, slo_report, to_csv
    from slo.spec.loader import load_slo_files
    from sloscope.server.rules_backtest_command import open_store_read_only, parse_time_ms

    slos, errors = load_slo_files(args.files)
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        return 1
    try:
        config = config_for(args.config)
        now_ms = _now_ms()
        start, end = parse_time_ms(args.start, now_ms), parse_time_ms(args.end, now_ms)
    except (CommandError, ValueError) as exc:
        return fail(str(exc))
    if end <= start:
        return fail("--to must be after --from")
    store = open_store_read_only(config.sqlalchemy_url)
    try:
        frames = []
        for slo in slos:
            events, unit = _events(store, slo, start, end)
            frames.append(slo_report(slo, events, start, end, STEP_MS, unit, args.period))
    except BudgetError as exc:
        return fail(str(exc))
    finally:
        store.close()
    text = to_csv(_concat(frames))
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _events(store, slo, start: int, end: int):
    """The SLO's events frame sampled every 5 minutes, and what it counts."""
    from collector.promql.engine import Engine
    from slo.budget import events_from_error_ratio, events_from_rates
    from slo.spec.sli_queries import sli_queries

    engine = Engine(store)
    queries = sli_queries(slo.sli)

    def series(template: str | None):
        if template is None:
            return None
        return _range(engine, template.replace("{{.window}}", "5m"), start, end)

    total = series(queries.total_events)
    if total is not None:
        return events_from_rates(series(queries.error_events), total, STEP_MS), "events"
    return events_from_error_ratio(series(queries.error_ratio), STEP_MS), "seconds"


def _range(engine, expr: str, start: int, end: int):
    """The query's one series (summed if it returns several) over [start, end]."""
    import pandas as pd

    from slo.budget import series_from_samples

    parts = []
    first = start
    while first <= end:
        last = min(end, first + STEP_MS * (_STEPS_PER_QUERY - 1))
        for found in engine.range_query(expr, first, last, STEP_MS).value:
            parts.append(series_from_samples(found.timestamps, found.values))
        first = last + STEP_MS
    if not parts:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    combined = pd.concat(parts)
    return combined.groupby(level=0).sum().sort_index()


def _concat(frames):
    import pandas as pd

    from slo.budget import REPORT_COLUMNS

    if not frames:
        return pd.DataFrame(columns=list(REPORT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000
