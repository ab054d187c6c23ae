"""The SLO overview's filters, sort order and grouping, read from the URL.

``service=shop`` keeps one service; ``label=team=shop`` (repeatable) keeps SLOs carrying
every such label; ``q=`` matches the name, id or description; ``sort=`` is one of
:data:`SORT_KEYS` with ``order=asc|desc``; ``group=service`` (default) or ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from web.queries.slos import SloSummary

__all__ = ["SORT_KEYS", "Listing", "ListingError", "group_rows", "parse_listing"]

#: Sort keys and the value each sorts by (None sorts last either way).
SORT_KEYS = (
    "budget", "name", "objective", "sli", "burn_5m", "burn_1h", "burn_6h", "burn_3d", "alert"
)  # fmt: skip
_DEFAULT_ORDER = {"name": "asc", "objective": "desc", "alert": "desc"}
_ALERT_RANK = {("firing", "page"): 5, ("firing", "ticket"): 4, ("pending", "page"): 3,
               ("pending", "ticket"): 2, ("ok", ""): 1}  # fmt: skip


class ListingError(ValueError):
    """A malformed filter or sort parameter; the message names it."""


@dataclass(frozen=True)
class Listing:
    service: str = ""
    labels: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    q: str = ""
    sort: str = "budget"
    order: str = "asc"
    group: str = "service"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = [f"{k}={v}" for k, v in self.labels]
        return out


def parse_listing(args: Any) -> Listing:
    """The listing the URL asks for. :raise ListingError: naming the bad parameter."""
    labels = []
    for text in args.getlist("label"):
        if not text:
            continue
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ListingError(f"parameter 'label': {text!r} is not key=value")
        labels.append((key.strip(), value.strip()))
    sort = args.get("sort") or "budget"
    if sort not in SORT_KEYS:
        raise ListingError(f"parameter 'sort': {sort!r} is not one of {', '.join(SORT_KEYS)}")
    order = args.get("order") or _DEFAULT_ORDER.get(sort, "asc")
    if order not in ("asc", "desc"):
        raise ListingError(f"parameter 'order': {order!r} is not asc or desc")
    group = args.get("group") or "service"
    if group not in ("service", "none"):
        raise ListingError(f"parameter 'group': {group!r} is not service or none")
    service = (args.get("service") or "").strip()
    return Listing(service, tuple(labels), (args.get("q") or "").strip(), sort, order, group)


def _keeps(listing: Listing, row: SloSummary) -> bool:
    if listing.service and row.service != listing.service:
        return False
    if any(row.labels.get(k) != v for k, v in listing.labels):
        return False
    text = listing.q.lower()
    return not text or any(text in s.lower() for s in (row.id, row.name, row.description))


def _sort_value(row: SloSummary, key: str) -> Any:
    if key == "name":
        return (row.service, row.name)
    if key.startswith("burn_"):
        return row.burn_rates.get(key.removeprefix("burn_"))
    if key == "alert":
        return _ALERT_RANK.get((row.alert_state, row.alert_severity), 0)
    return {"budget": row.budget_remaining, "objective": row.objective, "sli": row.sli}[key]


def _sorted(rows: Sequence[SloSummary], listing: Listing) -> list[SloSummary]:
    known = [r for r in rows if _sort_value(r, listing.sort) is not None]
    unknown = [r for r in rows if _sort_value(r, listing.sort) is None]
    # Two stable sorts: ties stay in id order whichever way the main key runs.
    known.sort(key=lambda r: r.id)
    known.sort(key=lambda r: _sort_value(r, listing.sort), reverse=listing.order == "desc")
    return known + sorted(unknown, key=lambda r: r.id)


def group_rows(rows: Sequence[SloSummary], listing: Listing) -> list[dict[str, Any]]:
    """The kept rows, sorted, in groups: one per service (by name), or one for all."""
    kept = _sorted([r for r in rows if _keeps(listing, r)], listing)
    if listing.group == "none":
        return [_group(None, kept)] if kept else []
    services = sorted({r.service for r in kept})
    return [_group(s, [r for r in kept if r.service == s]) for s in services]


def _group(service: str | None, rows: list[SloSummary]) -> dict[str, Any]:
    budgets = [r.budget_remaining for r in rows if r.budget_remaining is not None]
    return {
        "service": service,
        "count": len(rows),
        "firing": sum(r.alert_state == "firing" for r in rows),
        "pending": sum(r.alert_state == "pending" for r in rows),
        "worst_budget": min(budgets) if budgets else None,
        "slos": [asdict(r) for r in rows],
    }


def label_choices(rows: Sequence[SloSummary]) -> list[str]:
    """Every ``key=value`` label of the SLOs, for the filter's suggestions."""
    return sorted({f"{k}={v}" for r in rows for k, v in r.labels.items()})
