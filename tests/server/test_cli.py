"""The ``sloscope`` CLI: tsdb import/stats end to end, the server's app."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import Labels
from collector.store.matchers import Matcher
from collector.store.sql import SqlStore
from sloscope.cli import main
from sloscope.server.maintenance import maintain
from sloscope.server.run import create_http_app

GOOD = """\
# TYPE http_requests counter
http_requests_total{code="200",job="api"} 1 1700000000
http_requests_total{code="200",job="api"} 5 1700000015.5
http_requests_total{code="500",job="api"} 0 1700000000
# TYPE temperature_celsius gauge
temperature_celsius 21.5 1700000000.123
# EOF
"""


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SLOSCOPE_CONFIG", raising=False)
    path = tmp_path / "sloscope.yml"
    path.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\n")
    return path


def stored(config_file) -> dict[str, list[tuple[int, float]]]:
    url = f"sqlite:///{config_file.parent / 'data' / 'sloscope.db'}"
    with SqlStore(url) as store:
        found = store.select([Matcher.regex("__name__", ".+")], 0, 2**62)
        return {
            str(d.labels): list(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
            for d in found
        }


def test_import_then_stats(tmp_path, config_file, capsys):
    source = tmp_path / "in.om"
    source.write_text(GOOD)
    assert main(["tsdb", "import", "--config", str(config_file), str(source)]) == 0
    assert "imported 4 samples in 3 series" in capsys.readouterr().out
    assert stored(config_file) == {
        'http_requests_total{code="200", job="api"}': [(1700000000000, 1.0), (1700000015500, 5.0)],
        'http_requests_total{code="500", job="api"}': [(1700000000000, 0.0)],
        "temperature_celsius": [(1700000000123, 21.5)],
    }
    assert main(["tsdb", "stats", "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "series                  3" in out and "samples                 4" in out


def test_malformed_file_names_the_line_and_stores_nothing(tmp_path, config_file, capsys):
    source = tmp_path / "bad.om"
    source.write_text(GOOD.replace("temperature_celsius 21.5", 'temperature_celsius{a="b} 21.5'))
    assert main(["tsdb", "import", "--config", str(config_file), str(source)]) == 1
    err = capsys.readouterr().err
    assert f"{source}:6:" in err and "nothing imported" in err
    assert stored(config_file) == {}


def test_sample_without_timestamp_is_refused(tmp_path, config_file, capsys):
    source = tmp_path / "nots.om"
    source.write_text("# TYPE up gauge\nup 1\n# EOF\n")
    assert main(["tsdb", "import", "--config", str(config_file), str(source)]) == 1
    assert f"{source}:2: sample has no timestamp" in capsys.readouterr().err


def test_import_reports_rejected_samples(tmp_path, config_file, capsys):
    source = tmp_path / "in.om"
    source.write_text(GOOD)
    assert main(["tsdb", "import", "--config", str(config_file), str(source)]) == 0
    older = tmp_path / "older.om"
    older.write_text("# TYPE temperature_celsius gauge\ntemperature_celsius 3 1600000000\n# EOF\n")
    assert main(["tsdb", "import", "--config", str(config_file), str(older)]) == 1
    assert "rejected 1 samples: out_of_order" in capsys.readouterr().out


def test_missing_file_and_bad_config_are_clear_errors(tmp_path, config_file, capsys):
    assert main(["tsdb", "import", "--config", str(config_file), str(tmp_path / "no.om")]) == 1
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.yml"
    bad.write_text("storage:\n  retention: forever\n")
    assert main(["tsdb", "stats", "--config", str(bad)]) == 1
    assert f"{bad}:2:14: storage.retention" in capsys.readouterr().err


def test_server_app_answers_health_and_readiness(tmp_path):
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        client = create_http_app(store).test_client()
        assert client.get("/-/healthy").status_code == 200
        assert client.get("/-/ready").data == b"sloscope is Ready.\n"


def test_maintenance_step_flushes_and_applies_retention(tmp_path):
    day = 86_400_000
    labels = Labels.of({"__name__": "m"})
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        store.append_series(labels, np.array([1, 2 * day]), np.array([1.0, 2.0]))
        maintain(store, now_ms=3 * day, retention_ms=2 * day)
        assert store.stats().chunks == 1  # flushed, and the chunk reaches past the cut
        maintain(store, now_ms=5 * day, retention_ms=2 * day)
        assert store.stats().series == 0


def test_server_app_answers_promql_through_the_prometheus_api(tmp_path):
    labels = Labels.of({"__name__": "up", "job": "api"})
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        store.append_series(labels, np.array([0, 15_000, 30_000]), np.array([1.0, 0.0, 1.0]))
        client = create_http_app(store).test_client()
        reply = client.get("/api/v1/query", query_string={"query": "sum(up)", "time": "30"})
        assert reply.status_code == 200
        assert reply.json == {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [30, "1"]}]},
        }
        bad = client.get("/api/v1/query", query_string={"query": "sum(", "time": "30"})
        assert bad.status_code == 400 and bad.json["errorType"] == "bad_data"


def test_promql_test_runs_scripts_and_closes_with_the_totals(tmp_path, capsys):
    good = tmp_path / "good.test"
    good.write_text(
        'load 1m\n  up{job="a"} 0+1x10\n\n'
        'eval instant at 5m up\n  up{job="a"} 5\n\n'
        'eval range from 0 to 2m step 1m up * 2\n  {job="a"} 0 2 4\n'
    )
    bad = tmp_path / "bad.test"
    bad.write_text("load 1m\n  up 1\n\neval instant at 0 up\n  up 2\n")
    assert main(["promql", "test", str(good)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 0 failed"
    assert main(["promql", "test", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:4: up" in out and "got 1, expected 2" in out
    assert out.splitlines()[-1] == "2 passed, 1 failed"


def test_maintenance_step_applies_retention_to_spans_too(tmp_path):
    day = 86_400_000

    class RecordingSpanStore:
        cuts: list[int] = []

        def delete_before(self, cut_unix_nano: int) -> int:
            self.cuts.append(cut_unix_nano)
            return 0

    spans = RecordingSpanStore()
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        maintain(store, now_ms=3 * day, retention_ms=2 * day, span_store=spans)
    assert spans.cuts == [day * 1_000_000]


def test_maintenance_step_applies_retention_to_exemplars(tmp_path):
    from collector.model import Labels
    from collector.store.exemplars import Exemplar, ExemplarStore

    day = 86_400_000
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        exemplars = ExemplarStore(store.engine)
        exemplars.create()
        series, ids = Labels.of({"__name__": "x_total"}), Labels.of({"trace_id": "ab"})
        exemplars.append([Exemplar(series, ids, t, 1.0) for t in (day // 2, 2 * day)])
        maintain(store, now_ms=3 * day, retention_ms=2 * day, exemplar_store=exemplars)
        assert [e.timestamp_ms for _, got in exemplars.query([[]], 0, 3 * day) for e in got] == [
            2 * day
        ]
