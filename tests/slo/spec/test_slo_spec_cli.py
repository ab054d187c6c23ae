"""``sloscope slo validate``, file-level problems, and the shipped examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from slo.spec import load_slo_files
from slo.spec.errors import SpecError
from sloscope.cli import main

EXAMPLES = sorted(str(p) for p in (Path(__file__).parents[3] / "examples" / "slo").glob("*.yml"))
GOOD = """\
service: shop
slos:
  - name: availability
    objective: 99.9%
    sli:
      events:
        error_query: sum(rate(e[{{.window}}]))
        total_query: sum(rate(t[{{.window}}]))
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_examples_validate_cleanly():
    assert len(EXAMPLES) == 3
    slos, errors = load_slo_files(EXAMPLES)
    assert errors == []
    formats = {Path(s.source.file).name: s.spec_format for s in slos}
    assert formats == {
        "shop-native.yml": "native",
        "shop-openslo.yml": "openslo",
        "shop-sloth.yml": "sloth",
    }
    kinds = {type(s.sli).__name__ for s in slos}
    assert kinds == {
        "EventsSLI",
        "RatioSLI",
        "LatencySLI",
        "SpanSLI",
        "WebVitalSLI",
        "BoolGaugeSLI",
    }


def test_cli_prints_one_summary_line_per_file_and_exits_0(capsys):
    assert main(["slo", "validate", *EXAMPLES]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        f"{EXAMPLES[0]}: 5 SLOs (native): shop-availability 99.9% 30d, shop-latency 99% "
        "calendar month Europe/Berlin, shop-checkout-spans 99.5% 28d, shop-lcp 90% 7d, "
        "shop-uptime 99.5% 30d"
    )
    assert lines[2] == (
        f"{EXAMPLES[2]}: 2 SLOs (sloth): shop-requests-availability 99.9% 30d, "
        "shop-requests-latency 99% 30d"
    )


def test_cli_reports_every_problem_sorted_and_exits_1(tmp_path, capsys):
    bad = write(
        tmp_path, "b.yml", GOOD.replace("99.9%", "1.5").replace("name: availability", "name: -x")
    )
    broken = write(tmp_path, "a.yml", "service: [unclosed\n")
    assert main(["slo", "validate", bad, broken]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{broken}:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but "
        "got '<stream end>'",
        f"{bad}:3:11: slos[0].name: '-x' must start and end with a letter or digit and "
        "contain only letters, digits, '.', '_' and '-'",
        f"{bad}:4:16: slos[0].objective: expected a fraction between 0 and 1, got 1.5; write "
        "1.5% for a percent",
        "3 problems found",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "f.yml: no SLO spec in file (it is empty)"),
        ("# only a comment\n", "f.yml: no SLO spec in file (it is empty)"),
        (b"service: \xff\n", "f.yml: cannot read file: not UTF-8 (invalid start byte)"),
        ("service: a\x07\n", "f.yml:1:11: invalid YAML: unacceptable character #x0007"),
        ("- 1\n- 2\n", "f.yml:1:1: expected a mapping (an SLO spec document)"),
        (
            "service: a\nname: b\n",
            "f.yml:1:1: not an SLO spec: expected 'version: prometheus/v1' "
            "(Sloth), 'apiVersion: openslo/v1' (OpenSLO), 'apiVersion: sloth.slok.dev/v1', or "
            "top-level 'service' and 'slos' (native)",
        ),
        (
            "apiVersion: monitoring.coreos.com/v1\n",
            "f.yml:1:1: apiVersion: unknown apiVersion 'monitoring.coreos.com/v1'",
        ),
        (
            "service: a\nservice: b\nslos: []\n",
            "f.yml:2:1: service: duplicate key (first at f.yml:1:10)",
        ),
        (
            "key: &a [1\n",
            "f.yml:2:1: invalid YAML: while parsing a flow sequence, expected ',' "
            "or ']', but got '<stream end>'",
        ),
    ],
)
def test_file_level_problems(tmp_path, content, expected):
    path = write(tmp_path, "f.yml", content)
    slos, errors = load_slo_files([path])
    assert slos == []
    assert [str(e).replace(str(tmp_path) + "/", "") for e in errors][:1] == [expected]


def test_missing_file_is_one_problem_and_other_files_still_load(tmp_path, capsys):
    good = write(tmp_path, "good.yml", GOOD)
    missing = str(tmp_path / "missing.yml")
    slos, errors = load_slo_files([missing, good])
    assert [s.id for s in slos] == ["shop-availability"]
    assert errors == [SpecError(missing, 0, 0, "cannot read file: No such file or directory")]
    assert main(["slo", "validate", missing]) == 1
    assert f"{missing}: cannot read file: No such file or directory" in capsys.readouterr().err


def test_duplicate_slo_across_files_and_multi_document_native(tmp_path):
    first = write(tmp_path, "one.yml", GOOD)
    second = write(
        tmp_path,
        "two.yml",
        "---\n" + GOOD.replace("name: availability", "name: other") + "---\n" + GOOD,
    )
    slos, errors = load_slo_files([first, second])
    assert [s.id for s in slos] == ["shop-availability", "shop-other"]
    assert [str(e) for e in errors] == [
        f"{second}:13:5: duplicate SLO 'shop-availability' (first at {first}:3:5)"
    ]


def test_summary_of_a_single_slo(tmp_path, capsys):
    good = write(tmp_path, "good.yml", GOOD)
    assert main(["slo", "validate", good]) == 0
    assert capsys.readouterr().out == f"{good}: 1 SLO (native): shop-availability 99.9% 30d\n"
