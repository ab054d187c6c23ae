"""Does a latency threshold fall on a bucket boundary of the histogram actually stored?

"Requests under 300 ms" is only exact when the histogram has an ``le="0.3"`` bucket; the
bucket query of another threshold selects nothing and the SLI would read as 100% bad. Specs
cannot know a scraped histogram's buckets, so the server checks them at load against the
store (series already written; a histogram with no series yet is not an error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from collector.model import Labels
from collector.promql.errors import PromQLError
from collector.promql.parser import ast, parse, selector_matchers
from collector.store.matchers import Matcher
from slo.spec.errors import SpecError
from slo.spec.le_format import go_float, parse_le
from slo.spec.model import SLO
from slo.spec.sli_queries import latency_histogram

__all__ = ["SeriesSource", "check_latency_buckets"]

_SHOWN_BOUNDS = 20


class SeriesSource(Protocol):
    """What the check needs of a store: the label sets of series matching matchers
    (:class:`collector.store.interfaces.Querier` has it)."""

    def series(
        self, matchers: Sequence[Matcher], start: int | None = None, end: int | None = None
    ) -> list[Labels]: ...  # pragma: no cover - protocol


def check_latency_buckets(slos: Iterable[SLO], store: SeriesSource) -> list[SpecError]:
    """One error per latency-like SLO whose threshold is not a stored bucket boundary.

    Each stored histogram (series of ``<metric>_bucket`` that differ only in ``le``) must have
    the threshold among its bounds; the error names the first histogram that lacks it, and
    its bounds.
    """
    errors = []
    for slo in slos:
        histogram = latency_histogram(slo.sli)
        if histogram is None:
            continue
        metric, selector, threshold = histogram
        problem = _missing_bucket(store, metric, selector, threshold)
        if problem is not None:
            src = slo.source
            errors.append(SpecError(src.file, src.line, src.column, f"{slo.id}: {problem}"))
    return sorted(errors)


def _missing_bucket(
    store: SeriesSource, metric: str, selector: str, threshold: float
) -> str | None:
    try:
        node = parse(f"{metric}_bucket{{{selector}}}")
    except PromQLError as exc:
        return f"cannot select the histogram {metric}: {exc}"
    assert isinstance(node, ast.VectorSelector)
    histograms: dict[Labels, set[float]] = {}
    for matchers in selector_matchers(node):
        for labels in store.series(matchers):
            bound = parse_le(labels.get("le") or "")
            if bound is None:
                continue
            key = Labels(tuple(pair for pair in labels if pair[0] != "le"))
            histograms.setdefault(key, set()).add(bound)
    for key, bounds in sorted(histograms.items()):
        if threshold not in bounds:
            listed = sorted(bounds)
            shown = ", ".join(go_float(b) for b in listed[:_SHOWN_BOUNDS])
            more = ", ..." if len(listed) > _SHOWN_BOUNDS else ""
            return (
                f"latency threshold {go_float(threshold)} is not a bucket boundary of {metric} "
                f"(stored le: {shown}{more}; series {_describe(key)}); pick one of them or "
                "add the bucket to the histogram"
            )
    return None


def _describe(labels: Labels) -> str:
    pairs = ", ".join(f'{name}="{value}"' for name, value in labels if name != "__name__")
    return f"{{{pairs}}}"
