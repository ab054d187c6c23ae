"""Whatever the input, loading reports problems instead of raising."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.rules.loader import parse_rule_text
from slo.rules.unittest_format import UnitTestFormatError, parse_unittest_text

KEYS = st.sampled_from(
    ["groups", "name", "rules", "record", "alert", "expr", "for", "keep_firing_for", "labels",
     "annotations", "interval", "limit", "query_offset", "tests", "input_series", "series",
     "values", "eval_time", "alertname", "exp_alerts", "x"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["5m", "up == 0", "sum(", "{{ $value }}", "1+1x3", "stale"]),
)  # fmt: skip
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)

ODD_TEXTS = [
    "a: &x [*x]\n",
    "? [a, b]\n: c\n",
    "groups:\n- <<: [1]\n",
    "groups:\n- <<: *missing\n",
    "groups: !!binary aGk=\n",
    "\x00",
    "groups:\n\t- name: tab\n",
]


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS)
def test_rule_loading_never_raises(document):
    text = yaml.safe_dump(document)
    groups, errors = parse_rule_text(text, "fuzz.yml")
    assert not (groups and errors)
    assert all(str(e).startswith("fuzz.yml") for e in errors)


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS)
def test_unittest_parsing_only_raises_format_errors(document):
    try:
        parse_unittest_text(yaml.safe_dump(document), "fuzz_test.yml")
    except UnitTestFormatError as exc:
        assert exc.problems and all(p.startswith("fuzz_test.yml") for p in exc.problems)


def test_odd_yaml_is_reported():
    for text in ODD_TEXTS:
        groups, errors = parse_rule_text(text, "odd.yml")
        assert groups == [] and errors, text
