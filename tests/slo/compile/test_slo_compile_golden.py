"""The rendered rule files of Sloth's base SLOs (30d and 28d) byte for byte.

The golden files were written by the compiler and checked line by line against Sloth's own
integration outputs (``test/integration/prometheus/testdata/out-base*.yaml.tpl``): same group
names and order, same record names and label sets, same alert layout. The deliberate
differences are the event-weighted period ratio with its two 5m event-rate series, exact
budgets (0.001, not 0.0009999999999999432), the ticket alert's ``unless`` on the page
condition, and the identity and ``severity`` labels on the alerts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from slo.compile import compile_slos, render_rule_file
from slo.rules.loader import parse_rule_text
from slo.rules.model import AlertingRule, RecordingRule
from slo.spec.model import AlertTier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from slo_compile_helpers import events_slo, ratio_slo, sloth_like_alerting  # noqa: E402

GOLDEN = HERE / "golden"


def _sloth_base(days: int):
    """Sloth's ``in-base.yaml``: an events SLO and a raw-ratio SLO with alerts disabled."""
    first = events_slo(days=days, labels={"global01k1": "global01v1", "global02k1": "global02v1"})
    second = ratio_slo(
        days=days,
        labels={"global01k1": "global01v1", "global03k1": "global03v1"},
        alerting=sloth_like_alerting(
            page=AlertTier(enabled=False), ticket=AlertTier(enabled=False)
        ),
    )
    return [first, second]


def test_30d_rule_file_matches_golden():
    text = render_rule_file(compile_slos(_sloth_base(30)))
    assert text == (GOLDEN / "slo_compile_30d.yml").read_text(encoding="utf-8")


def test_28d_rule_file_matches_golden():
    text = render_rule_file(compile_slos(_sloth_base(28)[:1]))
    assert text == (GOLDEN / "slo_compile_28d.yml").read_text(encoding="utf-8")


def test_group_names_and_rule_order_follow_sloth():
    document = yaml.safe_load((GOLDEN / "slo_compile_30d.yml").read_text(encoding="utf-8"))
    groups = {
        g["name"]: [r.get("record") or r.get("alert") for r in g["rules"]]
        for g in document["groups"]
    }
    assert list(groups) == [
        "sloth-slo-sli-recordings-svc01-slo1",
        "sloth-slo-meta-recordings-svc01-slo1",
        "sloth-slo-alerts-svc01-slo1",
        "sloth-slo-sli-recordings-svc01-slo02",
        "sloth-slo-meta-recordings-svc01-slo02",
    ]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert groups["sloth-slo-sli-recordings-svc01-slo1"] == [
        *(f"slo:sli_error:ratio_rate{w}" for w in windows),
        "slo:sli_error_events:rate5m",
        "slo:sli_total_events:rate5m",
        "slo:sli_error:ratio_rate30d",
    ]
    assert groups["sloth-slo-meta-recordings-svc01-slo1"] == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    assert groups["sloth-slo-alerts-svc01-slo1"] == ["myServiceAlert", "myServiceAlert"]


def test_the_rule_manager_reads_back_exactly_the_compiled_groups():
    groups = compile_slos(_sloth_base(30))
    loaded, errors = parse_rule_text(render_rule_file(groups), "slos.rules.yml")
    assert errors == []
    assert [g.name for g in loaded] == [g.name for g in groups]
    for compiled, read in zip(groups, loaded, strict=True):
        for ours, theirs in zip(compiled.rules, read.rules, strict=True):
            assert type(ours) is type(theirs)
            assert ours.expr == theirs.expr
            assert dict(ours.labels) == dict(theirs.labels)
            if isinstance(ours, RecordingRule):
                assert isinstance(theirs, RecordingRule)
                assert ours.record == theirs.record
            else:
                assert isinstance(ours, AlertingRule) and isinstance(theirs, AlertingRule)
                assert (ours.alert, dict(ours.annotations)) == (
                    theirs.alert,
                    dict(theirs.annotations),
                )
