"""Silences: label matchers that mute alerts between a start and an end time.

Semantics are Alertmanager's ``silence/silence.go`` and its API:

- a silence is *pending* before ``starts_at``, *active* from ``starts_at`` (inclusive) until
  ``ends_at`` (exclusive), then *expired*; only active silences mute;
- it mutes an alert when every matcher matches the alert's labels; at least one matcher must
  not match the empty string (a silence cannot match everything);
- creating one with a start in the past starts it now; the end must be after the start and
  not in the past;
- updating keeps the id when only allowed fields change (same matchers; an active silence
  keeps its start; a pending one cannot move its start into the past); otherwise the old
  silence is expired and a new one with a new id replaces it;
- expiring an active silence ends it now; a pending one becomes expired at once.

Expired silences are kept (listable) for :attr:`Silences.RETENTION_MS`, as Alertmanager
keeps them for its ``--data.retention`` (120h).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from slo.notify.matchers import Matcher, MatcherError, matchers_match, parse_matchers

__all__ = ["Silence", "SilenceError", "SilenceState", "SilenceStorage", "Silences"]


class SilenceError(ValueError):
    """A silence request is invalid, or names a silence that does not exist."""


class SilenceState(enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at_ms: int
    ends_at_ms: int
    created_by: str
    comment: str
    updated_at_ms: int = 0

    def state(self, now_ms: int) -> SilenceState:
        if now_ms < self.starts_at_ms:
            return SilenceState.PENDING
        if now_ms < self.ends_at_ms:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def mutes(self, labels: Mapping[str, str], now_ms: int) -> bool:
        active = self.state(now_ms) is SilenceState.ACTIVE
        return active and matchers_match(self.matchers, labels)


class SilenceStorage(Protocol):
    """Where silences persist (:class:`slo.notify.state.NotifyState` is the real one)."""

    def load_silences(self) -> list[Silence]: ...

    def save_silence(self, silence: Silence) -> None: ...

    def delete_silences(self, ids: Iterable[str]) -> None: ...


def to_matchers(matchers: Sequence[Matcher | str]) -> tuple[Matcher, ...]:
    """Matcher objects, or matcher strings in Alertmanager's syntax (``'job=~"api|web"'``)."""
    out: list[Matcher] = []
    for item in matchers:
        if isinstance(item, Matcher):
            out.append(item)
            continue
        try:
            out.extend(parse_matchers(item))
        except MatcherError as exc:
            raise SilenceError(f"invalid matcher {item!r}: {exc}") from None
    return tuple(out)


class Silences:
    """The silence set: create, update, expire, list, and ask what mutes an alert.

    >>> s = Silences()
    >>> sid = s.create(['alertname="Down"'], 0, 3_600_000, "ana", "deploy", now_ms=0)
    >>> s.mutes({"alertname": "Down"}, now_ms=60_000) == [sid]
    True
    """

    RETENTION_MS = 120 * 3_600_000

    def __init__(self, storage: SilenceStorage | None = None) -> None:
        self._storage = storage
        self._silences: dict[str, Silence] = {}
        self.refresh()

    def refresh(self) -> None:
        """Reload from storage (another process may have changed silences)."""
        if self._storage is not None:
            self._silences = {s.id: s for s in self._storage.load_silences()}

    def create(
        self,
        matchers: Sequence[Matcher | str],
        starts_at_ms: int,
        ends_at_ms: int,
        created_by: str,
        comment: str,
        *,
        now_ms: int,
    ) -> str:
        """Create a silence; returns its id."""
        draft = Silence("", to_matchers(matchers), starts_at_ms, ends_at_ms, created_by, comment)
        return self._set(draft, now_ms)

    def update(
        self,
        silence_id: str,
        matchers: Sequence[Matcher | str],
        starts_at_ms: int,
        ends_at_ms: int,
        created_by: str,
        comment: str,
        *,
        now_ms: int,
    ) -> str:
        """Change a silence; returns its id, which is new if the change needed a new one."""
        draft = Silence(
            silence_id, to_matchers(matchers), starts_at_ms, ends_at_ms, created_by, comment
        )
        return self._set(draft, now_ms)

    def expire(self, silence_id: str, *, now_ms: int) -> None:
        silence = self.get(silence_id)
        state = silence.state(now_ms)
        if state is SilenceState.EXPIRED:
            raise SilenceError(f"silence {silence_id} already expired")
        starts = now_ms if state is SilenceState.PENDING else silence.starts_at_ms
        self._store(replace(silence, starts_at_ms=starts, ends_at_ms=now_ms, updated_at_ms=now_ms))

    def get(self, silence_id: str) -> Silence:
        try:
            return self._silences[silence_id]
        except KeyError:
            raise SilenceError(f"silence {silence_id} not found") from None

    def list(self, now_ms: int, state: SilenceState | None = None) -> list[Silence]:
        """All silences (or those in *state*), active first, then pending, then expired."""
        order = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}
        chosen = [s for s in self._silences.values() if state in (None, s.state(now_ms))]
        return sorted(chosen, key=lambda s: (order[s.state(now_ms)], s.ends_at_ms, s.id))

    def mutes(self, labels: Mapping[str, str], now_ms: int) -> list[str]:
        """Ids of the active silences that mute an alert with *labels*."""
        return sorted(s.id for s in self._silences.values() if s.mutes(labels, now_ms))

    def collect_garbage(self, now_ms: int) -> None:
        """Forget silences that expired more than :attr:`RETENTION_MS` ago."""
        old = [s.id for s in self._silences.values() if s.ends_at_ms + self.RETENTION_MS <= now_ms]
        for silence_id in old:
            del self._silences[silence_id]
        if old and self._storage is not None:
            self._storage.delete_silences(old)

    def _set(self, draft: Silence, now_ms: int) -> str:
        _validate_request(draft, now_ms)
        if draft.id:
            previous = self.get(draft.id)
            if _can_update(previous, draft, now_ms):
                self._store(replace(draft, updated_at_ms=now_ms))
                return draft.id
            if previous.state(now_ms) is not SilenceState.EXPIRED:
                self.expire(previous.id, now_ms=now_ms)
        starts = max(draft.starts_at_ms, now_ms)
        fresh = replace(draft, id=str(uuid.uuid4()), starts_at_ms=starts, updated_at_ms=now_ms)
        self._store(fresh)
        return fresh.id

    def _store(self, silence: Silence) -> None:
        if self._storage is not None:
            self._storage.save_silence(silence)
        self._silences[silence.id] = silence


def _validate_request(draft: Silence, now_ms: int) -> None:
    if not draft.matchers:
        raise SilenceError("at least one matcher required")
    if all(m.matches_value("") for m in draft.matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    if draft.ends_at_ms <= draft.starts_at_ms:
        raise SilenceError("start time must be before end time")
    if draft.ends_at_ms < now_ms:
        raise SilenceError("end time can't be in the past")
    if not draft.created_by.strip():
        raise SilenceError("missing creator (created_by)")
    if not draft.comment.strip():
        raise SilenceError("missing comment")


def _can_update(previous: Silence, draft: Silence, now_ms: int) -> bool:
    if previous.matchers != draft.matchers:
        return False
    state = previous.state(now_ms)
    if state is SilenceState.ACTIVE:
        return draft.starts_at_ms == previous.starts_at_ms and draft.ends_at_ms >= now_ms
    if state is SilenceState.PENDING:
        return draft.starts_at_ms >= now_ms
    return False
