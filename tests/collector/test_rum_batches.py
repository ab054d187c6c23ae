"""RUM beacons stored together: a batch's histogram samples are the state after all of its
beacons, each touched series written once, and equal to recording the beacons one by one."""

from __future__ import annotations

from collector.convert.web_vitals import VITALS, parse_beacon
from collector.receivers.rum import RumAccumulator

T_MS = 1_700_000_000_000


def _beacon(lcp_ms: float, route: str = "/product/<id>", errors: int = 0) -> dict:
    return {
        "app_key": "pk_shop",
        "page": {"url": "https://shop.example/p/1", "route": route, "timestamp_ms": T_MS},
        "vitals": [{"name": "LCP", "value": lcp_ms, "rating": "good", "delta": lcp_ms, "id": "x"}],
        "errors": [{"message": f"boom {i}", "type": "Error"} for i in range(errors)],
    }


def _latest(samples) -> dict:
    """Series -> (time, value) of its newest sample."""
    out: dict = {}
    for labels, t, v in samples:
        if labels not in out or out[labels][0] <= t:
            out[labels] = (t, v)
    return out


def test_a_batch_writes_each_series_once_with_the_state_after_all_beacons():
    stored = [
        ("shop", parse_beacon(_beacon(900.0, errors=1)), "mobile", T_MS),
        ("shop", parse_beacon(_beacon(3100.0)), "mobile", T_MS + 2),
        ("shop", parse_beacon(_beacon(5000.0, route="/cart", errors=2)), "mobile", T_MS + 1),
    ]
    batched = RumAccumulator().record_batch(stored)
    one_by_one = RumAccumulator()
    singles = [s for a, b, d, t in stored for s in one_by_one.record(b, a, d, t)]

    values = [(labels, t) for labels, t, v in batched if t == T_MS + 2]
    assert len(values) == len(set(values))  # no series twice at the batch's time
    assert {t for _, t, _ in batched} == {T_MS + 1, T_MS + 2}  # new series: zeros just before
    batched_state = {k: v for k, (_, v) in _latest(batched).items()}
    single_state = {k: v for k, (_, v) in _latest(singles).items()}
    assert batched_state == single_state

    n = len(VITALS["LCP"].buckets) + 3
    assert sum(1 for _, t, _ in batched if t == T_MS + 2) == 2 * n + 2  # two pages, errors
    counts = {
        labels.get("page"): v
        for labels, t, v in batched
        if labels.get("__name__") == "rum_js_errors_total" and t == T_MS + 2
    }
    assert counts == {"/product/<id>": 1.0, "/cart": 2.0}


def test_batches_keep_sample_times_strictly_increasing():
    acc = RumAccumulator()
    first = acc.record_batch([("shop", parse_beacon(_beacon(900.0)), "desktop", T_MS)])
    second = acc.record_batch([("shop", parse_beacon(_beacon(950.0)), "desktop", T_MS)])
    assert max(t for _, t, _ in first) == T_MS
    assert {t for _, t, _ in second} == {T_MS + 1}  # same clock reading: moved past the last
