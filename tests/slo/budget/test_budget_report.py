"""Calendar-period reports: figures by hand, the exact CSV text, timeslices, clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pandas as pd
import pytest

from slo.budget.errors import BudgetError
from slo.budget.frames import events_from_counts, events_from_error_ratio, series_from_samples
from slo.budget.report import REPORT_COLUMNS, report_frame, slo_report, to_csv
from slo.spec.model import SLO, Alerting, EventsSLI, RatioSLI, SourcePosition, Window

HOUR = 3_600_000
DAY = 24 * HOUR


def utc_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()) * 1000


WEEKLY_BERLIN = SLO(
    service="shop",
    name="checkout",
    objective=0.99,
    window=Window("calendar", 7 * DAY, "week", "Europe/Berlin"),
    sli=EventsSLI(error_query="errors", total_query="total"),
    alerting=Alerting(name="CheckoutErrors"),
    source=SourcePosition("slos/shop.yml", 12, 5),
)

# Hourly rows, mostly gaps. ISO week 13 of 2024 in Berlin runs 2024-03-24T23:00Z to
# 2024-03-31T22:00Z (167 hours: clocks spring forward on Sunday the 31st).
ROWS = {
    "2024-03-25T10:00": (0.0, 1000.0),
    "2024-03-26T10:00": (30.0, 1000.0),  # 3x burn
    "2024-03-31T21:00": (5.0, 1000.0),  # 23:00 CEST, Sunday
    "2024-03-31T22:00": (2.0, 100.0),  # 2x; closes week 13's last hour, local midnight
    "2024-04-01T10:00": (0.0, 0.0),  # week 14: a row, but no traffic
}
START, END = utc_ms("2024-03-24T23:00"), utc_ms("2024-04-02T00:00")


def hourly_events():
    stamps = [utc_ms(text) for text in ROWS]
    errors = series_from_samples(stamps, [bad for bad, _ in ROWS.values()])
    return events_from_counts(errors, series_from_samples(stamps, [n for _, n in ROWS.values()]))


EXPECTED_CSV = (
    ",".join(REPORT_COLUMNS) + "\n"
    "shop-checkout,shop,checkout,2024-W13,2024-03-25T00:00:00+01:00,2024-04-01T00:00:00+02:00,"
    "true,occurrences,events,0.99,0.9880645161,3100,37,31,37,-6,-0.1935483871,7200,"
    "0.02395209581,2024-03-26,0.97\n"
    "shop-checkout,shop,checkout,2024-W14,2024-04-01T00:00:00+02:00,2024-04-08T00:00:00+02:00,"
    "false,occurrences,events,0.99,,0,0,0,0,0,,0,0.03846153846,,\n"
)


def test_weekly_report_csv_text():
    report = slo_report(WEEKLY_BERLIN, hourly_events(), START, END, HOUR)
    assert to_csv(report) == EXPECTED_CSV


def test_report_figures_by_hand():
    week13, week14 = slo_report(WEEKLY_BERLIN, hourly_events(), START, END, HOUR).to_dict("records")
    assert (week13["total"], week13["bad"]) == (3100, 37)
    assert week13["sli"] == pytest.approx(1 - 37 / 3100)
    assert week13["budget_remaining_ratio"] == pytest.approx(1 - 37 / 31)
    assert week13["seconds_above_1x"] == 7200  # the 3x and the 2x hours
    assert week13["data_coverage"] == pytest.approx(4 / 167)
    assert (week13["worst_day"], week13["worst_day_sli"]) == ("2024-03-26", 0.97)
    assert week13["complete"] and not week14["complete"]
    assert math.isnan(week14["sli"]) and pd.isna(week14["worst_day"])  # zero traffic
    assert week14["data_coverage"] == pytest.approx(1 / 26)  # 26 of its hours have passed


def test_timeslice_slo_is_reported_in_slices():
    slo = dataclasses.replace(
        WEEKLY_BERLIN, budgeting="timeslices", timeslice_target=0.98, timeslice_window_ms=HOUR
    )
    week13 = slo_report(slo, hourly_events(), START, END, HOUR).iloc[0]
    # Four hourly slices with traffic; only 2024-03-26 (97% good) misses the 98% target.
    assert week13["unit"] == "slices" and week13["budgeting"] == "timeslices"
    assert (week13["total"], week13["bad"], week13["sli"]) == (4, 1, 0.75)
    assert week13["budget_remaining_ratio"] == pytest.approx(1 - 0.25 / 0.01)
    assert week13["seconds_above_1x"] == 3600
    assert week13["data_coverage"] == pytest.approx(4 / 167)


def test_a_slice_cut_short_by_the_period_end_still_counts():
    # Daily slices from local midnight of Monday 25 March are 24h long, so the last one ends
    # at 2024-03-31T23:00Z, an hour after the DST-shortened week: it holds the last two rows.
    slo = dataclasses.replace(
        WEEKLY_BERLIN, budgeting="timeslices", timeslice_target=0.98, timeslice_window_ms=DAY
    )
    week13 = slo_report(slo, hourly_events(), START, END, HOUR).iloc[0]
    assert (week13["total"], week13["bad"]) == (3, 1)
    assert week13["worst_day"] == "2024-03-26"


def test_rolling_ratio_only_slo_is_reported_by_utc_month_in_seconds():
    slo = dataclasses.replace(
        WEEKLY_BERLIN,
        name="latency",
        window=Window("rolling", 30 * DAY),
        sli=RatioSLI(error_ratio_query="ratio"),
    )
    stamps = [utc_ms("2024-02-29T23:00"), utc_ms("2024-03-01T00:00"), utc_ms("2024-03-01T01:00")]
    events = events_from_error_ratio(series_from_samples(stamps, [0.5, 0.0, 0.02]), HOUR)
    report = slo_report(slo, events, stamps[0], stamps[-1] + 1, HOUR, unit="seconds")
    assert report["period"].tolist() == ["2024-02", "2024-03"]
    assert report["unit"].tolist() == ["seconds", "seconds"]
    march = report.iloc[1]
    assert (march["total"], march["bad"]) == (3600, 72)  # 0.02 of an hour
    assert march["sli"] == pytest.approx(0.98)
    assert march["worst_day"] == "2024-03-01"


def test_reports_of_several_slos_concatenate_into_one_csv():
    first = slo_report(WEEKLY_BERLIN, hourly_events(), START, END, HOUR)
    other = dataclasses.replace(WEEKLY_BERLIN, name="search")
    both = pd.concat([first, slo_report(other, hourly_events(), START, END, HOUR)])
    lines = to_csv(both[list(reversed(both.columns))]).splitlines()
    assert lines[0] == ",".join(REPORT_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["shop-checkout"] * 2 + ["shop-search"] * 2


def test_empty_report_still_has_the_columns():
    empty = slo_report(WEEKLY_BERLIN, hourly_events(), START, START, HOUR)
    assert to_csv(empty) == ",".join(REPORT_COLUMNS) + "\n"
    assert tuple(report_frame([]).columns) == REPORT_COLUMNS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"objective": 1.0}, "^slos/shop.yml:12:5: objective 1.0 \\(100%\\) leaves no error"),
        (
            {"window": Window("calendar", 7 * DAY, "week", "Europe/Nowhere")},
            "^slos/shop.yml:12:5: unknown time zone 'Europe/Nowhere'",
        ),
        (
            {"budgeting": "timeslices", "timeslice_target": 0.9},
            "^slos/shop.yml:12:5: timeslices budgeting needs both",
        ),
    ],
)
def test_bad_slos_are_reported_with_their_position(change, message):
    slo = dataclasses.replace(WEEKLY_BERLIN, **change)
    with pytest.raises(BudgetError, match=message):
        slo_report(slo, hourly_events(), START, END, HOUR)


def test_a_report_needs_a_positive_step():
    with pytest.raises(BudgetError, match="step must be a positive number"):
        slo_report(WEEKLY_BERLIN, hourly_events(), START, END, 0)


def test_to_csv_refuses_a_frame_that_is_not_a_report():
    with pytest.raises(BudgetError, match="not a budget report: column\\(s\\) slo_id"):
        to_csv(pd.DataFrame({"x": [1]}))
