"""Alertmanager's classic matcher syntax and matching rules."""

from __future__ import annotations

import pytest

from slo.notify.matchers import (
    Matcher,
    MatcherError,
    MatchType,
    go_quote,
    matchers_string,
    parse_matcher,
    parse_matchers,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('foo="bar"', Matcher(MatchType.EQUAL, "foo", "bar")),
        ("foo=bar", Matcher(MatchType.EQUAL, "foo", "bar")),
        ("  foo  !=  bar baz  ", Matcher(MatchType.NOT_EQUAL, "foo", "bar baz")),
        ('foo=~"a|b"', Matcher(MatchType.REGEX, "foo", "a|b")),
        ("foo!~a.*", Matcher(MatchType.NOT_REGEX, "foo", "a.*")),
        ('foo=""', Matcher(MatchType.EQUAL, "foo", "")),
        ("foo=", Matcher(MatchType.EQUAL, "foo", "")),
        ('foo="a\\"b"', Matcher(MatchType.EQUAL, "foo", 'a"b')),
        ('foo="a\\\\b"', Matcher(MatchType.EQUAL, "foo", "a\\b")),
        ('foo="a\\nb"', Matcher(MatchType.EQUAL, "foo", "a\nb")),
        ('foo="a\\tb"', Matcher(MatchType.EQUAL, "foo", "a\\tb")),  # not an escape
        ("foo:bar=x", Matcher(MatchType.EQUAL, "foo:bar", "x")),
        ("foo=a,b", Matcher(MatchType.EQUAL, "foo", "a,b")),
    ],
)
def test_parse_matcher(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "bad matcher format"),
        ("1foo=bar", "bad matcher format"),
        ('foo="bar', "unescaped double quote"),
        ('foo=ba"r', "unescaped double quote"),
        ('foo="a"b"', "unescaped double quote"),
        ('foo=~"("', "invalid regular expression"),
    ],
)
def test_bad_matchers_are_rejected(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=message):
        parse_matcher(text)


def test_a_line_may_hold_several_matchers_in_braces() -> None:
    got = parse_matchers('{alertname="Down", job=~"a,b", env!=prod}')
    assert [str(m) for m in got] == ['alertname="Down"', 'job=~"a,b"', 'env!="prod"']
    assert parse_matchers("") == []


def test_regexes_are_anchored_and_dot_does_not_match_newline() -> None:
    m = parse_matcher('job=~"api|web"')
    assert m.matches({"job": "web"}) and not m.matches({"job": "web2"})
    assert not parse_matcher("x=~a.b").matches({"x": "a\nb"})


def test_absent_label_matches_as_empty() -> None:
    assert parse_matcher('team!="db"').matches({})
    assert parse_matcher('team=""').matches({"other": "x"})
    assert parse_matcher("team=~.*").matches({})
    assert not parse_matcher("team=~.+").matches({})


def test_text_form_is_alertmanagers() -> None:
    matchers = [parse_matcher('a="x\\"y"'), parse_matcher("b!~z")]
    assert matchers_string(matchers) == '{a="x\\"y",b!~"z"}'
    assert go_quote("tab\there\x01é") == '"tab\\there\\x01é"'
