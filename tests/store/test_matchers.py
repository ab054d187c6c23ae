"""Matcher semantics as Prometheus defines them, alone and through the store's index."""

from __future__ import annotations

import pytest

from collector.model import Labels
from collector.store.matchers import Matcher, MatcherError, MatchType


@pytest.mark.parametrize(
    "matcher, value, expected",
    [
        (Matcher.equal("a", "x"), "x", True),
        (Matcher.equal("a", "x"), "xx", False),
        (Matcher.not_equal("a", "x"), "y", True),
        (Matcher.not_equal("a", "x"), "", True),
        (Matcher.regex("a", "x|y"), "y", True),
        (Matcher.regex("a", "x"), "xy", False),  # fully anchored
        (Matcher.regex("a", "x"), "yx", False),
        (Matcher.regex("a", "a.c"), "a\nc", True),  # . matches newline, as in Prometheus 3
        (Matcher.regex("a", ".*"), "", True),
        (Matcher.regex("a", "(?i)abc"), "ABC", True),
        (Matcher.regex("a", r"\d+"), "123", True),
        (Matcher.regex("a", "[[:alpha:]]+"), "abc", True),  # RE2 POSIX classes
        (Matcher.not_regex("a", "x.*"), "xyz", False),
        (Matcher.not_regex("a", "x.*"), "", True),
        (Matcher.equal("a", ""), "", True),
    ],
)
def test_matches(matcher, value, expected):
    assert matcher.matches(value) is expected


@pytest.mark.parametrize("pattern", ["(", "a{2,1}", r"(?<=a)b", r"\1"])
def test_invalid_and_non_re2_regexes_are_rejected(pattern):
    # Lookbehind and backreferences are Python/PCRE features RE2 (and Prometheus) refuse.
    with pytest.raises(MatcherError, match="invalid regex"):
        Matcher.regex("a", pattern)


def test_matcher_text_form():
    assert str(Matcher(MatchType.NOT_REGEX, "job", 'a"b')) == 'job!~"a\\"b"'


SERIES = [
    {"__name__": "up", "job": "api", "env": "prod"},
    {"__name__": "up", "job": "api", "env": "dev"},
    {"__name__": "up", "job": "web"},
    {"__name__": "up", "job": "web", "env": ""},  # the same series as the one above
    {"__name__": "requests_total", "job": "api", "code": "200"},
    {"__name__": "requests_total", "job": "api", "code": "500"},
]


@pytest.fixture
def indexed(open_store):
    store = open_store()
    store.append([(Labels.of(s), 1000, 1.0) for s in SERIES])
    return store


def names(store, *matchers):
    return [labels.as_dict() for labels in store.series(list(matchers))]


def test_equal_selects_by_postings(indexed):
    assert names(indexed, Matcher.equal("job", "web")) == [{"__name__": "up", "job": "web"}]


def test_absent_label_matches_empty_string(indexed):
    got = names(indexed, Matcher.equal("__name__", "up"), Matcher.equal("env", ""))
    assert got == [{"__name__": "up", "job": "web"}]


def test_not_equal_keeps_series_without_the_label(indexed):
    got = names(indexed, Matcher.equal("__name__", "up"), Matcher.not_equal("env", "prod"))
    assert {"__name__": "up", "job": "web"} in got
    assert {"__name__": "up", "job": "api", "env": "dev"} in got
    assert len(got) == 2


def test_regex_is_anchored(indexed):
    assert names(indexed, Matcher.regex("code", "5")) == []
    assert len(names(indexed, Matcher.regex("code", "5.."))) == 1


def test_regex_matching_empty_includes_series_without_label(indexed):
    got = names(indexed, Matcher.equal("__name__", "up"), Matcher.regex("env", "prod|"))
    assert len(got) == 2 and all(s.get("env", "prod") == "prod" for s in got)


def test_negative_regex(indexed):
    got = names(indexed, Matcher.equal("job", "api"), Matcher.not_regex("__name__", "req.*"))
    assert [s["env"] for s in got] == ["dev", "prod"]


def test_only_empty_matching_matchers_start_from_all_series(indexed):
    assert len(names(indexed, Matcher.not_equal("job", "api"))) == 1
    assert len(names(indexed, Matcher.regex("nothere", ".*"))) == 5


def test_not_empty_regex_requires_the_label(indexed):
    assert len(names(indexed, Matcher.regex("code", ".+"))) == 2


def test_no_match_returns_nothing(indexed):
    assert names(indexed, Matcher.equal("job", "db")) == []
    assert names(indexed, Matcher.equal("job", "api"), Matcher.equal("job", "web")) == []
