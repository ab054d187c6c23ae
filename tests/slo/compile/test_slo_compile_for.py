"""A tier's ``for`` in a native spec becomes the alert rule's ``for``."""

from __future__ import annotations

import textwrap

from slo.compile import compile_slos, render_rule_file
from slo.rules.model import AlertingRule
from slo.spec.loader import load_slo_texts

SPEC = """
service: shop
slos:
  - name: availability
    objective: 99.9%
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
    alerting:
      page: {for: 2m}
      ticket: {labels: {team: shop}}
"""


def test_tier_for_reaches_the_rule_and_the_rule_file() -> None:
    slos, errors = load_slo_texts({"slo.yml": textwrap.dedent(SPEC)})
    assert errors == []
    alerts = [r for g in compile_slos(slos) for r in g.rules if isinstance(r, AlertingRule)]
    assert {r.labels["severity"]: r.for_ms for r in alerts} == {"page": 120_000, "ticket": 0}
    text = render_rule_file(compile_slos(slos))
    assert text.count("for: 2m") == 1


def test_a_bad_for_is_named() -> None:
    bad = SPEC.replace("page: {for: 2m}", "page: {for: soon}")
    _, errors = load_slo_texts({"slo.yml": textwrap.dedent(bad)})
    assert [str(e) for e in errors] == [
        "slo.yml:11:19: slos[0].alerting.page.for: expected a duration like 30d or 1h30m, "
        "got 'soon'"
    ]
