"""``sloscope slo report``: calendar-period budgets from stored counters, as CSV."""

from __future__ import annotations

import csv
import io
import textwrap

import numpy as np

from collector.model import Labels
from collector.store.sql import SqlStore
from sloscope.cli import main

DAY_MS = 86_400_000
JAN_1 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000


def load_counters(url: str) -> None:
    """10 requests/s all along; 0.01 errors/s in January, 0.05 errors/s in February."""
    stamps = np.arange(JAN_1 - DAY_MS, JAN_1 + 45 * DAY_MS, MINUTE, dtype=np.int64)
    seconds = (stamps - stamps[0]) / 1000
    feb = stamps >= JAN_1 + 31 * DAY_MS
    errors = np.where(feb, 0.05, 0.01)
    error_totals = np.cumsum(np.concatenate([[0.0], errors[:-1] * 60]))
    with SqlStore(url) as store:
        total = Labels.of({"__name__": "req_total", "job": "shop"})
        store.append_series(total, stamps, seconds * 10.0)
        bad = Labels.of({"__name__": "req_errors_total", "job": "shop"})
        store.append_series(bad, stamps, error_totals)


def test_report_gives_one_row_per_month_with_event_weighted_figures(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/store.db"
    load_counters(url)
    config = tmp_path / "sloscope.yml"
    config.write_text(f"storage:\n  url: {url}\n")
    spec = tmp_path / "slo.yml"
    spec.write_text(
        textwrap.dedent(
            """
            service: shop
            slos:
              - name: availability
                objective: 99.9%
                window: {calendar: month, time_zone: UTC}
                sli:
                  events:
                    error_query: sum(rate(req_errors_total[{{.window}}]))
                    total_query: sum(rate(req_total[{{.window}}]))
            """
        )
    )
    argv = ["slo", "report", "--config", str(config), "--from", str(JAN_1 // 1000)]
    argv += ["--to", str((JAN_1 + 45 * DAY_MS) // 1000), str(spec)]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["slo_id"], r["period"]) for r in rows] == [
        ("shop-availability", "2024-01"),
        ("shop-availability", "2024-02"),
    ]
    january, february = rows
    assert abs(float(january["sli"]) - 0.999) < 1e-6
    assert abs(float(january["budget_remaining_ratio"])) < 1e-3  # exactly spent
    assert abs(float(february["sli"]) - 0.995) < 1e-6
    assert abs(float(february["budget_remaining_ratio"]) + 4.0) < 1e-3  # 5x spent
    assert january["complete"] == "true" and february["complete"] == "false"


def test_report_errors_are_clear(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("service: shop\nslos:\n  - name: a\n    objective: 2\n")
    assert main(["slo", "report", "--from", "0", str(bad)]) == 1
    assert f"{bad}:4:" in capsys.readouterr().err
