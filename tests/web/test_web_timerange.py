"""Time ranges and refresh from URL parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.timerange import PRESETS, TimeRangeError, parse_time_range

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("preset", "step_ms"), [("15m", 5_000), ("1h", 15_000), ("30d", 10_800_000)]
)
def test_presets_end_now_with_a_readable_step(preset, step_ms):
    found = parse_time_range({"range": preset}, NOW)
    assert (found.end_ms, found.duration_ms, found.step_ms) == (NOW, PRESETS[preset], step_ms)
    assert found.query_args() == {"range": preset}


def test_default_is_the_last_hour_without_refresh():
    found = parse_time_range({}, NOW)
    assert (found.preset, found.refresh, found.refresh_seconds) == ("1h", "off", 0)


def test_custom_range_accepts_iso_utc_and_unix_seconds():
    found = parse_time_range(
        {"range": "custom", "from": "2023-11-14T21:00", "to": "1699998000", "refresh": "1m"}, NOW
    )
    assert (found.start_ms, found.end_ms, found.refresh_seconds) == (
        1_699_995_600_000,
        1_699_998_000_000,
        60,
    )
    assert found.query_args() == {
        "range": "custom",
        "from": "2023-11-14T21:00",
        "to": "2023-11-14T21:40",
        "refresh": "1m",
    }
    # a hand-made link without range=custom works too; a preset wins over stale dates
    assert parse_time_range({"from": "0", "to": "60"}, NOW).end_ms == 60_000
    assert parse_time_range({"range": "6h", "from": "0", "to": "60"}, NOW).end_ms == NOW


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"range": "2h"}, "parameter 'range': '2h' is not one of 15m, 1h"),
        ({"refresh": "1s"}, "parameter 'refresh': '1s' is not one of off"),
        ({"range": "custom", "from": "0"}, "needs both parameters 'from' and 'to'"),
        ({"from": "yesterday", "to": "1"}, "parameter 'from': 'yesterday' is neither"),
        ({"from": "10", "to": "5"}, "parameter 'to' must be after 'from'"),
        ({"from": "0", "to": "nan"}, "parameter 'to': 'nan' is not a finite time"),
        ({"from": "0", "to": str(401 * 86400)}, "at most 400 days"),
    ],
)
def test_bad_parameters_are_named(args, message):
    with pytest.raises(TimeRangeError, match=message):
        parse_time_range(args, NOW)


@given(start=st.integers(0, 2_000_000_000), length=st.integers(1, 400 * 86400))
def test_custom_ranges_round_trip_through_their_link(start, length):
    found = parse_time_range({"from": str(start), "to": str(start + length)}, NOW)
    again = parse_time_range(found.query_args(), NOW)
    assert (again.start_ms, again.end_ms) == (found.start_ms, found.end_ms)
    assert 1 <= found.duration_ms / found.step_ms <= 251
