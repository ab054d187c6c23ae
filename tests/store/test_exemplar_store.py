"""Exemplar storage on SQLite and PostgreSQL: dedupe, per-series bound, matchers, retention."""

from __future__ import annotations

import pytest

from collector.model import Labels
from collector.store.exemplars import Exemplar, ExemplarStore
from collector.store.matchers import Matcher


@pytest.fixture
def exemplars(open_store) -> ExemplarStore:
    found = ExemplarStore(open_store().engine, max_per_series=3)
    found.create()
    return found


def series(name: str, **labels: str) -> Labels:
    return Labels.of({"__name__": name, **labels})


def ex(labels: Labels, t: int, value: float = 1.0, trace: str = "ab") -> Exemplar:
    return Exemplar(labels, Labels.of({"trace_id": trace}), t, value)


def stamps(found) -> dict[str, list[int]]:
    return {s.get("route"): [e.timestamp_ms for e in group] for s, group in found}


def test_append_dedupes_and_keeps_the_newest_per_series(exemplars: ExemplarStore) -> None:
    cart, home = series("req_bucket", route="/cart", le="1"), series("req_bucket", route="/")
    assert exemplars.append([ex(cart, t) for t in (1000, 2000, 3000)] + [ex(home, 1500)]) == 4
    assert exemplars.append([ex(cart, 3000, trace="other")]) == 0  # same series and time
    assert exemplars.append([ex(cart, 4000), ex(cart, 5000)]) == 2
    found = exemplars.query([[Matcher.equal("__name__", "req_bucket")]], 0, 10_000)
    assert stamps(found) == {"/": [1500], "/cart": [3000, 4000, 5000]}
    assert exemplars.count() == 4
    (_, (first, *_)), _ = found[1], found[0]
    assert first.labels == Labels.of({"trace_id": "ab"}) and first.value == 1.0


def test_query_applies_every_matcher_and_the_time_range(exemplars: ExemplarStore) -> None:
    a = series("req_bucket", route="/a", code="500")
    b = series("req_bucket", route="/b", code="200")
    c = series("other_total", route="/c")
    exemplars.append([ex(a, 1000), ex(b, 2000), ex(c, 3000), ex(a, 9000)])
    regex = [Matcher.regex("code", "5..")]
    assert stamps(exemplars.query([regex], 0, 5000)) == {"/a": [1000]}
    no_name = [Matcher.regex("route", "/(b|c)")]
    assert stamps(exemplars.query([no_name], 0, 10_000)) == {"/b": [2000], "/c": [3000]}
    both = [[Matcher.equal("__name__", "other_total")], [Matcher.equal("route", "/a")]]
    assert stamps(exemplars.query(both, 1000, 9000)) == {"/a": [1000, 9000], "/c": [3000]}
    assert exemplars.query([[Matcher.equal("__name__", "nope")]], 0, 10_000) == []


def test_retention_and_label_limit(exemplars: ExemplarStore) -> None:
    a = series("x_total")
    exemplars.append([ex(a, 1000), ex(a, 2000)])
    assert exemplars.delete_before(1500) == 1
    assert stamps(exemplars.query([[]], 0, 5000)) == {"": [2000]}
    with pytest.raises(ValueError, match="128 characters"):
        exemplars.append([ex(a, 3000, trace="f" * 200)])
    assert exemplars.count() == 1  # nothing of the refused batch was stored
