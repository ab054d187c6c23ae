"""Silences for the Alerts page, through the notifier's silence API: list them, create one
from a form (matchers in Alertmanager's syntax, a duration, a comment) and expire one.

Times come from the caller (the dashboard's clock), as everywhere in the notifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from collector.promql.series_notation import NotationError, parse_duration_ms
from slo.notify.silences import SilenceError
from web.queries import Sources

__all__ = [
    "DEFAULT_DURATION",
    "SilenceDraft",
    "SilenceFormError",
    "SilenceRow",
    "create_silence",
    "expire_silence",
    "list_silences",
    "parse_silence_form",
]

DEFAULT_DURATION = "2h"
MAX_DURATION_MS = 366 * 86_400_000


class SilenceFormError(ValueError):
    """A silence request is invalid (or names no silence); the message says which field."""


@dataclass(frozen=True)
class SilenceRow:
    """One silence; ``muting`` is how many of the notifier's alerts it mutes now."""

    id: str
    matchers: list[str]
    state: str
    starts_at_ms: int
    ends_at_ms: int
    created_by: str
    comment: str
    updated_at_ms: int
    muting: int


@dataclass(frozen=True)
class SilenceDraft:
    """A silence as typed into the form (also what the form shows again after an error)."""

    matchers: list[str]
    duration: str
    comment: str
    created_by: str


def list_silences(sources: Sources, now_ms: int) -> list[SilenceRow] | None:
    """Every silence the notifier keeps (active, then pending, then expired); None
    without a notifier."""
    if sources.notifier is None:
        return None
    silences = sources.notifier.silences
    silences.refresh()  # another process (the rules role) may have changed them
    labels = [dict(s.alert.labels) for s in sources.notifier.alerts(now_ms)]
    return [
        SilenceRow(
            id=s.id,
            matchers=[str(m) for m in s.matchers],
            state=s.state(now_ms).value,
            starts_at_ms=s.starts_at_ms,
            ends_at_ms=s.ends_at_ms,
            created_by=s.created_by,
            comment=s.comment,
            updated_at_ms=s.updated_at_ms,
            muting=sum(1 for lab in labels if s.mutes(lab, now_ms)),
        )
        for s in silences.list(now_ms)
    ]


def parse_silence_form(form: Mapping[str, str], created_by: str) -> SilenceDraft:
    """The form's fields: ``matchers`` (one per line, or comma separated in braces),
    ``duration`` (``2h``, ``30m``, ``1d``) and ``comment``. Checking happens on creation."""
    lines = (form.get("matchers") or "").replace("\r\n", "\n").split("\n")
    return SilenceDraft(
        matchers=[line.strip() for line in lines if line.strip()],
        duration=(form.get("duration") or DEFAULT_DURATION).strip(),
        comment=(form.get("comment") or "").strip(),
        created_by=created_by,
    )


def create_silence(sources: Sources, draft: SilenceDraft, now_ms: int) -> str:
    """Create a silence from now for the draft's duration; returns its id.

    :raise SilenceFormError: naming the bad field, or when there is no notifier.
    """
    if sources.notifier is None:
        raise SilenceFormError("no notifier: set notify.config_file to use silences")
    try:
        duration_ms = parse_duration_ms(draft.duration)
    except NotationError as exc:
        raise SilenceFormError(f"duration: {exc}") from None
    if not 0 < duration_ms <= MAX_DURATION_MS:
        raise SilenceFormError("duration: must be more than 0 and at most 366d")
    if not draft.matchers:
        raise SilenceFormError("matchers: at least one matcher required")
    try:
        return sources.notifier.silences.create(
            draft.matchers,
            now_ms,
            now_ms + duration_ms,
            draft.created_by,
            draft.comment,
            now_ms=now_ms,
        )
    except SilenceError as exc:
        field = "comment" if "comment" in str(exc) else "matchers"
        raise SilenceFormError(f"{field}: {exc}") from None


def expire_silence(sources: Sources, silence_id: str, now_ms: int) -> None:
    """End a silence now. :raise SilenceFormError: if unknown or already expired."""
    if sources.notifier is None:
        raise SilenceFormError("no notifier: set notify.config_file to use silences")
    silences = sources.notifier.silences
    silences.refresh()
    try:
        silences.expire(silence_id, now_ms=now_ms)
    except SilenceError as exc:
        raise SilenceFormError(str(exc)) from None
