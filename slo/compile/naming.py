"""Series names, label sets and selectors of compiled SLOs, as Sloth writes them.

Sloth's dashboards and everyone's alert routing key on these names, so they are kept exactly:
``slo:sli_error:ratio_rate<window>`` per window, the ``slo:*:ratio`` meta series, the
``sloth_slo_info`` info series, and the ``sloth_id``/``sloth_service``/``sloth_slo`` labels.
The event-rate series (``slo:sli_error_events:rate5m``, ``slo:sli_total_events:rate<window>``)
are sloscope's own: Sloth has no event counts to weight the period ratio with.
"""

from __future__ import annotations

import re
from decimal import Decimal

from slo.compile.windows import format_duration
from slo.spec.model import SLO

__all__ = [
    "CURRENT_BURN_RATE",
    "ERROR_BUDGET",
    "INFO",
    "OBJECTIVE",
    "PERIOD_BUDGET_REMAINING",
    "PERIOD_BURN_RATE",
    "TIME_PERIOD_DAYS",
    "error_budget",
    "error_events_name",
    "error_ratio_name",
    "fill_window",
    "objective_percent",
    "quote",
    "slo_labels",
    "slo_selector",
    "total_events_name",
]

OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
TIME_PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
PERIOD_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "sloth_slo_info"

# Sloth's templates are Go text/template, so ``{{ .window }}`` is as good as ``{{.window}}``.
_WINDOW_PLACEHOLDER = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")


def error_ratio_name(window_ms: int) -> str:
    return f"slo:sli_error:ratio_rate{format_duration(window_ms)}"


def error_events_name(window_ms: int) -> str:
    return f"slo:sli_error_events:rate{format_duration(window_ms)}"


def total_events_name(window_ms: int) -> str:
    return f"slo:sli_total_events:rate{format_duration(window_ms)}"


def fill_window(template: str, window_ms: int) -> str:
    """``template`` with every ``{{.window}}`` replaced by the window as a PromQL duration."""
    lines = template.strip().splitlines()
    text = "\n".join(line.rstrip() for line in lines)  # trailing blanks force quoted YAML
    return _WINDOW_PLACEHOLDER.sub(format_duration(window_ms), text)


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def slo_labels(slo: SLO) -> dict[str, str]:
    """The SLO's own labels plus Sloth's identity labels (which win over same-named ones)."""
    return {
        **slo.labels,
        "sloth_id": slo.id,
        "sloth_service": slo.service,
        "sloth_slo": slo.name,
    }


def slo_selector(slo: SLO) -> str:
    """``{sloth_id="...", sloth_service="...", sloth_slo="..."}``: one SLO's recorded series."""
    return (
        f"{{sloth_id={quote(slo.id)}, sloth_service={quote(slo.service)}, "
        f"sloth_slo={quote(slo.name)}}}"
    )


def _objective(slo: SLO) -> Decimal:
    # repr() is the shortest text of the float, so 0.999 stays 0.999 and 1 - it is 0.001,
    # not Sloth's 0.0009999999999999432 (which comes from 100 - 99.9).
    return Decimal(repr(float(slo.objective)))


def error_budget(slo: SLO) -> Decimal:
    """1 - objective, exactly in decimal."""
    return 1 - _objective(slo)


def objective_percent(slo: SLO) -> str:
    """The objective as Sloth's ``sloth_objective`` label writes it: ``99.9``, ``95``."""
    return format((_objective(slo) * 100).normalize(), "f")
