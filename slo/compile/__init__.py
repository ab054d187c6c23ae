"""SLOs compiled to Prometheus recording and alerting rules with Sloth's names.

``compile_slos(slos)`` gives :class:`slo.rules.model.RuleGroup` objects, which the rule manager
evaluates in process and :func:`render_rule_file` writes as a Prometheus rule file, so the
in-process engine and a real Prometheus see identical rules. See docs/slo-rules.md.
"""

from slo.compile.compiler import compile_slo, compile_slos
from slo.compile.errors import CompileError
from slo.compile.rule_file import render_rule_file
from slo.compile.windows import BurnRateTier, burn_rate_tiers

__all__ = [
    "BurnRateTier",
    "CompileError",
    "burn_rate_tiers",
    "compile_slo",
    "compile_slos",
    "render_rule_file",
]
