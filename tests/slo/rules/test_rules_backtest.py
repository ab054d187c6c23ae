"""Backtesting rules on stored history: episodes, summary, nothing written, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import Labels
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from slo.rules.backtest import backtest
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.rules.schedule import group_offset_ms
from sloscope.cli import main
from sloscope.server.rules_backtest_command import parse_time_ms

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
UP = Labels.of({"__name__": "up", "job": "api"})
RULES = RuleGroup(
    "api",
    "api.yml",
    (
        RecordingRule("job:up:min", "min by (job) (up)"),
        AlertingRule("ApiDown", "job:up:min == 0", for_ms=3 * MINUTE),
    ),
    interval_ms=MINUTE,
)
RULES_YAML = """\
groups:
  - name: api
    interval: 1m
    rules:
      - record: job:up:min
        expr: min by (job) (up)
      - alert: ApiDown
        expr: job:up:min == 0
        for: 3m
"""


def fill(store: SqlStore) -> None:
    """Two outages, [10m, 20m) and [40m, 41m), plus a stale old version of the recording."""
    ts = np.arange(T0, T0 + 90 * MINUTE, 15_000, dtype=np.int64)
    minute = (ts - T0) // MINUTE
    down = ((minute >= 10) & (minute < 20)) | (minute == 40)
    store.append_series(UP, ts, np.where(down, 0.0, 1.0))
    old = Labels.of({"__name__": "job:up:min", "job": "api"})
    store.append_series(old, ts, np.zeros(len(ts)))  # what an older rule version stored


@pytest.fixture
def store():
    store = SqlStore("sqlite:///:memory:")
    store.open()
    fill(store)
    yield store
    store.close()


def test_backtest_lists_episodes_and_summarises_without_writing(store):
    before = {d.labels: len(d.timestamps) for d in store.select([], T0, T0 + 90 * MINUTE)}
    report = backtest([RULES], store, T0, T0 + 60 * MINUTE)
    offset = group_offset_ms("api.yml", "api", MINUTE)
    alert = Labels.of({"alertname": "ApiDown", "job": "api"})
    slot = lambda m: T0 + m * MINUTE + offset  # noqa: E731
    assert [
        (e.labels, e.pending_at_ms, e.firing_at_ms, e.resolved_at_ms) for e in report.episodes
    ] == [
        (alert, slot(10), slot(13), slot(20)),
        (alert, slot(40), None, slot(41)),  # one minute down: pending only
    ]
    (summary,) = report.summary()
    assert (summary.episodes, summary.fired, summary.firing_ms) == (2, 1, 7 * MINUTE)
    assert report.evaluations == 60 and report.errors == []
    after = {d.labels: len(d.timestamps) for d in store.select([], T0, T0 + 90 * MINUTE)}
    assert after == before


def test_backtest_counts_rule_errors(store):
    rules = RuleGroup("g", "g.yml", (RecordingRule("bad", '"text"'),), interval_ms=MINUTE)
    report = backtest([rules], store, T0, T0 + 10 * MINUTE)
    (errors,) = report.errors
    assert (errors.rule, errors.count, errors.first_error) == (
        "bad",
        10,
        "rule result is not a vector or scalar",
    )


def test_an_alert_still_active_at_the_end_counts_firing_time_until_the_end(store):
    report = backtest([RULES], store, T0, T0 + 15 * MINUTE)
    (episode,) = report.episodes
    assert episode.resolved_at_ms is None
    assert report.summary()[0].firing_ms == T0 + 15 * MINUTE - episode.firing_at_ms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:10:00Z", T0 + 10 * MINUTE),
        ("2024-01-01T01:10:00+01:00", T0 + 10 * MINUTE),
        ("1704067800", T0 + 10 * MINUTE),
        ("now", T0),
        ("-7d", T0 - 7 * 24 * 60 * MINUTE),
        ("now-1h30m", T0 - 90 * MINUTE),
    ],
)
def test_times_parse_as_rfc3339_unix_seconds_or_relative(text, expected):
    assert parse_time_ms(text, T0) == expected


def test_cli_backtest_reads_the_store_a_server_is_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'data.db'}"
    (tmp_path / "sloscope.yml").write_text(f"storage:\n  url: {url}\n")
    (tmp_path / "rules.yml").write_text(RULES_YAML)
    server = SqlStore(url)  # holds the writer lock, as a running server does
    server.open()
    try:
        fill(server)
        code = main(
            ["rules", "backtest", "--from", "2024-01-01T00:00:00Z", "--to", str(T0 // 1000 + 3600)]
            + ["rules.yml"]
        )
        ours = server.select([Matcher.equal("__name__", "ALERTS")], T0, T0 + 90 * MINUTE)
    finally:
        server.close()
    out = capsys.readouterr().out
    assert code == 0 and ours == []
    assert "Backtest from 2024-01-01T00:00:00Z to 2024-01-01T01:00:00Z" in out
    assert 'ApiDown{job="api"}' in out and "(firing 7m)" in out
    assert "(pending 1m, never fired)" in out
    summary = out.split("Summary (most firing time first):\n", 1)[1].splitlines()
    assert summary[1].split() == ['ApiDown{job="api"}', "2", "1", "7m"]


def test_cli_backtest_reports_bad_input_without_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yml").write_text(RULES_YAML)
    args = ["rules", "backtest", "--from", "yesterday", "--to", "now", "rules.yml"]
    assert main(args) == 1
    assert "invalid time 'yesterday'" in capsys.readouterr().err
    (tmp_path / "sloscope.yml").write_text(f"storage:\n  url: sqlite:///{tmp_path / 'no.db'}\n")
    assert main(["rules", "backtest", "--from=-1h", "--to", "now", "rules.yml"]) == 1
    assert "there is no store at" in capsys.readouterr().err
    (tmp_path / "broken.yml").write_text("groups:\n  - name: x\n    rules:\n      - record: 1a\n")
    assert main(["rules", "backtest", "--from", "now-1h", "--to", "now", "broken.yml"]) == 1
    assert "broken.yml:" in capsys.readouterr().err
