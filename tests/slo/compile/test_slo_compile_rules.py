"""What the compiled rules say: tiers, guards, labels, period ratios and refused SLOs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from collector.promql.parser import parse
from slo.compile import CompileError, compile_slo, compile_slos, render_rule_file
from slo.rules.model import AlertingRule, RecordingRule, RuleGroup
from slo.spec.model import Alerting, AlertTier, LatencySLI, Window

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slo_compile_helpers import DAY_MS, events_slo, ratio_slo, sloth_like_alerting  # noqa: E402

WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


def _alerts(groups: list[RuleGroup]) -> list[AlertingRule]:
    return [r for g in groups for r in g.rules if isinstance(r, AlertingRule)]


def _records(groups: list[RuleGroup]) -> dict[str, RecordingRule]:
    return {r.record: r for g in groups for r in g.rules if isinstance(r, RecordingRule)}


def _tiers(page: bool, ticket: bool) -> Alerting:
    return sloth_like_alerting(page=AlertTier(enabled=page), ticket=AlertTier(enabled=ticket))


def test_disabled_page_tier_leaves_a_ticket_alert_without_inhibition():
    groups = compile_slo(events_slo(alerting=_tiers(page=False, ticket=True)))
    (ticket,) = _alerts(groups)
    assert ticket.labels["sloth_severity"] == "ticket"
    assert "unless" not in ticket.expr
    assert "ratio_rate5m" not in ticket.expr  # the page windows are not looked at


def test_disabled_ticket_tier_leaves_the_page_alert():
    (page,) = _alerts(compile_slo(events_slo(alerting=_tiers(page=True, ticket=False))))
    assert page.labels["sloth_severity"] == "page"
    assert "(14.4 * 0.001)" in page.expr and "(6 * 0.001)" in page.expr
    assert "(3 * 0.001)" not in page.expr


def test_both_tiers_disabled_omits_the_alert_group():
    groups = compile_slo(events_slo(alerting=_tiers(page=False, ticket=False)))
    assert [g.name for g in groups] == [
        "sloth-slo-sli-recordings-svc01-slo1",
        "sloth-slo-meta-recordings-svc01-slo1",
    ]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_ticket_alert_is_quiet_while_the_page_condition_holds():
    page, ticket = _alerts(compile_slo(events_slo()))
    ticket_part, page_part = ticket.expr.split("\nunless\n")
    assert _squeeze(page_part) == f"( {_squeeze(page.expr)} )"
    assert "(3 * 0.001)" in ticket_part and "(1 * 0.001)" in ticket_part


def test_alert_labels_let_a_notifier_inhibit_by_slo():
    page, ticket = _alerts(compile_slo(events_slo()))
    for alert, severity in ((page, "page"), (ticket, "ticket")):
        assert {k: alert.labels[k] for k in ("sloth_id", "sloth_service", "sloth_slo")} == {
            "sloth_id": "svc01-slo1",
            "sloth_service": "svc01",
            "sloth_slo": "slo1",
        }
        assert alert.labels["sloth_severity"] == alert.labels["severity"] == severity
    assert page.labels["alert03k1"] == "alert03v1" and "alert04k1" not in page.labels
    assert ticket.labels["alert04k1"] == "alert04v1" and "alert03k1" not in ticket.labels


def test_a_tier_label_overrides_severity_but_not_sloth_severity():
    alerting = sloth_like_alerting(page=AlertTier(labels={"severity": "critical"}))
    page, _ = _alerts(compile_slo(events_slo(alerting=alerting)))
    assert (page.labels["severity"], page.labels["sloth_severity"]) == ("critical", "page")


def test_unnamed_alerts_are_called_error_budget_burn_as_in_pyrra():
    alerts = _alerts(compile_slo(events_slo(alerting=Alerting(name=""))))
    assert [a.alert for a in alerts] == ["ErrorBudgetBurn", "ErrorBudgetBurn"]
    assert alerts[0].annotations["title"].startswith("(page) {{$labels.sloth_service}}")


def test_min_traffic_guards_every_window_of_every_alert():
    groups = compile_slo(events_slo(min_traffic=0.5))
    records = _records(groups)
    for window in WINDOWS:
        total = records[f"slo:sli_total_events:rate{window}"]
        assert (
            total.expr
            == f'sum(rate(http_request_duration_seconds_count{{job="myservice"}}[{window}]))'
        )
        assert total.labels["sloth_window"] == window
    page, ticket = _alerts(groups)
    selector = '{sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"}'
    for alert, windows in ((page, ["5m", "1h", "30m", "6h"]), (ticket, WINDOWS[1:] + ["5m"])):
        checks = re.findall(r"max\((.*)\) without \(sloth_window\)", alert.expr)
        assert checks, alert.expr
        for check in checks:
            window = re.search(r"ratio_rate(\w+)\{", check).group(1)
            assert f"(slo:sli_total_events:rate{window}{selector} >= 0.5)" in check
        assert {re.search(r"ratio_rate(\w+)\{", c).group(1) for c in checks} == set(windows)


def test_without_min_traffic_only_the_5m_total_rate_is_recorded():
    records = _records(compile_slo(events_slo()))
    assert [n for n in records if n.startswith("slo:sli_total_events")] == [
        "slo:sli_total_events:rate5m"
    ]
    assert all(">=" not in a.expr for a in _alerts(compile_slo(events_slo())))


def test_min_traffic_needs_event_counts():
    with pytest.raises(CompileError, match=r"^slos.yml:30:5: min_traffic needs an SLI with event"):
        compile_slo(ratio_slo(min_traffic=1.0))


def test_event_slo_period_ratio_divides_summed_event_rates():
    records = _records(compile_slo(events_slo()))
    period = records["slo:sli_error:ratio_rate30d"]
    selector = '{sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"}'
    assert period.expr == (
        f"sum_over_time(slo:sli_error_events:rate5m{selector}[30d])\n/\n"
        f"sum_over_time(slo:sli_total_events:rate5m{selector}[30d])"
    )
    assert period.labels["sloth_window"] == "30d"
    errors = records["slo:sli_error_events:rate5m"].expr
    assert errors.endswith(
        'or\n0 * (sum(rate(http_request_duration_seconds_count{job="myservice"}[5m])))'
    )


def test_ratio_slo_period_ratio_is_slothes_mean_of_ratios():
    records = _records(compile_slo(ratio_slo()))
    assert records["slo:sli_error:ratio_rate30d"].expr.startswith(
        "sum_over_time(slo:sli_error:ratio_rate5m{"
    )
    assert (
        "count_over_time(slo:sli_error:ratio_rate5m{" in records["slo:sli_error:ratio_rate30d"].expr
    )
    assert not any(n.startswith("slo:sli_error_events") for n in records)


def test_timeslice_budgeting_counts_bad_slices():
    slo = events_slo(budgeting="timeslices", timeslice_target=0.95, timeslice_window_ms=60_000)
    records = _records(compile_slo(slo))
    assert records["slo:sli_error:ratio_rate1m"].labels["sloth_window"] == "1m"
    assert records["slo:sli_error:ratio_rate30d"].expr == (
        'avg_over_time((slo:sli_error:ratio_rate1m{sloth_id="svc01-slo1", sloth_service="svc01",'
        ' sloth_slo="slo1"} > bool 0.05)[30d:1m])'
    )


def test_timeslice_budgeting_without_a_target_is_refused():
    slo = events_slo(budgeting="timeslices", timeslice_window_ms=60_000)
    with pytest.raises(CompileError, match=r"^slos.yml:4:5: timeslices budgeting needs"):
        compile_slo(slo)


def test_a_timeslice_as_long_as_the_period_is_refused():
    slo = events_slo(budgeting="timeslices", timeslice_target=0.9, timeslice_window_ms=30 * DAY_MS)
    with pytest.raises(CompileError, match=r"timeslice window \(30d\) must be .* shorter"):
        compile_slo(slo)


def test_every_recorded_series_carries_the_slo_identity_and_labels():
    slo = events_slo(labels={"team": "shop", "tier": "1"}, min_traffic=1.0)
    for group in compile_slo(slo):
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                continue
            assert rule.labels["team"] == "shop" and rule.labels["tier"] == "1"
            assert (rule.labels["sloth_id"], rule.labels["sloth_service"]) == (
                "svc01-slo1",
                "svc01",
            )
            assert rule.labels["sloth_slo"] == "slo1"
            if group.name.startswith("sloth-slo-sli-"):
                assert rule.labels["sloth_window"] == rule.record.rsplit("rate", 1)[1]


def test_info_series_describes_the_slo():
    info = _records(compile_slo(replace(ratio_slo(objective=0.9995), spec_format="sloth")))[
        "sloth_slo_info"
    ]
    assert info.expr == "vector(1)"
    assert {k: info.labels[k] for k in ("sloth_objective", "sloth_spec", "sloth_mode")} == {
        "sloth_objective": "99.95",
        "sloth_spec": "prometheus/v1",
        "sloth_mode": "sloscope",
    }


def test_meta_values_are_exact_decimals():
    records = _records(compile_slo(events_slo(objective=0.9995, days=28)))
    assert records["slo:objective:ratio"].expr == "vector(0.9995)"
    assert records["slo:error_budget:ratio"].expr == "vector(0.0005)"
    assert records["slo:time_period:days"].expr == "vector(28)"


def test_calendar_windows_use_their_nominal_length():
    slo = replace(events_slo(), window=Window("calendar", 30 * DAY_MS, "month"))
    assert "slo:sli_error:ratio_rate30d" in _records(compile_slo(slo))


def test_every_expression_parses():
    slos = [
        events_slo(min_traffic=0.1),
        ratio_slo(days=28),
        events_slo(
            name="ts", budgeting="timeslices", timeslice_target=0.9, timeslice_window_ms=120_000
        ),
        replace(
            events_slo(name="lat"),
            sli=LatencySLI("http_request_duration_seconds", 0.3, 'job="shop"'),
        ),
    ]
    for group in compile_slos(slos):
        for rule in group.rules:
            parse(rule.expr)


def test_go_template_spacing_of_the_window_placeholder_is_accepted():
    slo = events_slo(errors="sum(rate(errs[{{ .window }}]))", total="sum(rate(reqs[{{.window}}]))")
    assert _records(compile_slo(slo))["slo:sli_error:ratio_rate6h"].expr == (
        "(sum(rate(errs[6h])))\n/\n(sum(rate(reqs[6h])))"
    )


def test_the_same_slo_twice_is_refused_naming_both_places():
    first = events_slo()
    second = replace(ratio_slo(name="slo1"))
    with pytest.raises(CompileError, match=r"^slos.yml:30:5: .*first at slos.yml:4:5"):
        compile_slos([first, second])


@pytest.mark.parametrize(
    ("slo", "message"),
    [
        (events_slo(objective=1.0), "objective must be between 0 and 1"),
        (events_slo(labels={"bad-name": "x"}), "invalid label name 'bad-name'"),
        (events_slo(labels={"__reserved": "x"}), "invalid label name '__reserved'"),
        (events_slo(alerting=Alerting(name="Not valid")), "invalid alert name 'Not valid'"),
        (
            events_slo(alerting=Alerting(name="A", ticket=AlertTier(annotations={"a b": "x"}))),
            "invalid ticket alert annotation name 'a b'",
        ),
        (events_slo(min_traffic=-1.0), "min_traffic must not be negative"),
    ],
)
def test_slos_prometheus_would_reject_are_refused_with_their_position(slo, message):
    with pytest.raises(CompileError) as caught:
        compile_slo(slo)
    assert str(caught.value).startswith("slos.yml:4:5: ")
    assert message in caught.value.message


@pytest.mark.prometheus
def test_promtool_accepts_the_generated_rule_file(tmp_path: Path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: apt-get install prometheus"
    slos = [
        events_slo(min_traffic=0.5, labels={"team": "shop"}),
        ratio_slo(days=28),
        events_slo(
            name="ts", budgeting="timeslices", timeslice_target=0.9, timeslice_window_ms=60_000
        ),
        events_slo(name="quiet", days=7, alerting=_tiers(page=False, ticket=True)),
        replace(
            events_slo(name="lat"),
            sli=LatencySLI("http_request_duration_seconds", 0.3, 'job="shop"'),
        ),
    ]
    rule_file = tmp_path / "slos.rules.yml"
    rule_file.write_text(render_rule_file(compile_slos(slos)), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rule_count = sum(len(g.rules) for g in compile_slos(slos))
    assert f"SUCCESS: {rule_count} rules found" in checked.stdout
