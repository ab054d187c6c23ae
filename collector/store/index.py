"""The series index: label sets to series ids, and matchers to the series they select."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from collector.model import Labels
from collector.store import schema
from collector.store.matchers import Matcher, MatchType

__all__ = ["SeriesIndex", "fingerprint", "labels_from_json", "labels_to_json"]

_IN_BATCH = 500  # ids per IN (...) list: well under SQLite's variable limit
_SELECTED_ENTRIES = 4096  # matcher sets remembered (rules and dashboards repeat theirs)


def labels_to_json(labels: Labels) -> str:
    return json.dumps(list(labels), separators=(",", ":"), ensure_ascii=False)


def labels_from_json(text: str) -> Labels:
    return Labels(tuple(pair) for pair in json.loads(text))


def fingerprint(labels: Labels) -> int:
    """A stable signed 64-bit hash of a label set (what BigInteger columns hold)."""
    digest = hashlib.blake2b(labels_to_json(labels).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def batched(ids: Sequence[int], size: int = _IN_BATCH) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


class SeriesIndex:
    """Series lookup and creation through a connection; caches ids and labels it has seen.

    The caches only grow with series this process touched, and entries never go stale:
    series ids are never reused, and a deleted series is dropped with :meth:`forget`.
    """

    def __init__(self) -> None:
        self._ids: dict[Labels, int] = {}
        self._labels: dict[int, Labels] = {}
        # Matchers -> ids, for a store whose series only this process creates. A new series
        # drops the answers it would change, a deletion all of them; an answer computed
        # while the generation moved is not kept (it may predate a series committed
        # meanwhile).
        self._selected: OrderedDict[tuple[Matcher, ...], list[int]] = OrderedDict()
        self._generation = 0
        self._created: list[Labels] = []  # created in a transaction not yet committed
        self._lock = threading.Lock()

    def changed(self, created: Sequence[Labels] | None = None) -> None:
        """Series were created (``created``) or deleted (call again once committed)."""
        with self._lock:
            self._generation += 1
            if created is None:
                self._selected.clear()
                return
            for key in list(self._selected):
                if any(_selects(key, labels) for labels in created):
                    del self._selected[key]

    def committed(self) -> None:
        """The transaction that created series (if any) is committed."""
        if self._created:
            created, self._created = self._created, []
            self.changed(created)

    def forget(self, sids: Iterable[int]) -> None:
        for sid in sids:
            labels = self._labels.pop(sid, None)
            if labels is not None:
                self._ids.pop(labels, None)
        self.changed()

    def ids_for(self, conn: Connection, many: Sequence[Labels]) -> list[int]:
        """Series ids of many label sets, creating the new ones (known ones at dict speed)."""
        ids = [self._ids.get(labels) for labels in many]
        if None in ids:
            missing = {lbl for lbl, sid in zip(many, ids, strict=True) if sid is None}
            self._resolve(conn, list(missing))
            ids = [self._ids[labels] for labels in many]
        return ids

    def get_or_create(self, conn: Connection, labels: Labels) -> int:
        """The series id of ``labels``, creating the series and its postings if new."""
        return self.ids_for(conn, [labels])[0]

    def _resolve(self, conn: Connection, missing: list[Labels]) -> None:
        """Find or create ``missing`` series with a few statements for the whole batch."""
        s = schema.series
        texts = {labels: labels_to_json(labels) for labels in missing}
        fps = {labels: fingerprint(labels) for labels in missing}
        by_text: dict[str, int] = {}
        query = select(s.c.id, s.c.labels).where(
            s.c.fingerprint.in_(bindparam("fps", expanding=True))
        )
        for batch in batched(sorted(set(fps.values()))):
            by_text.update((row.labels, int(row.id)) for row in conn.execute(query, {"fps": batch}))
        new = [labels for labels in missing if texts[labels] not in by_text]
        if new:
            self.changed(new)
            self._created.extend(new)
            rows = [{"fingerprint": fps[lbl], "labels": texts[lbl]} for lbl in new]
            created = conn.execute(
                s.insert().returning(s.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            new_ids = [int(i) for i in created]
            by_text.update((texts[lbl], sid) for lbl, sid in zip(new, new_ids, strict=True))
            self._add_postings(conn, new, new_ids)
        for labels in missing:
            self._remember(by_text[texts[labels]], labels)

    def _add_postings(self, conn: Connection, new: list[Labels], ids: list[int]) -> None:
        lv = schema.label_values
        pairs = sorted({pair for labels in new for pair in labels})
        conn.execute(
            _insert_ignoring_conflicts(conn, lv),
            [{"name": name, "value": value} for name, value in pairs],
        )
        value_ids: dict[tuple[str, str], int] = {}
        query = select(lv.c.id, lv.c.name, lv.c.value).where(
            tuple_(lv.c.name, lv.c.value).in_(bindparam("pairs", expanding=True))
        )
        for batch in batched(pairs, _IN_BATCH // 2):
            for row in conn.execute(query, {"pairs": batch}):
                value_ids[(row.name, row.value)] = int(row.id)
        conn.execute(
            schema.postings.insert(),
            [
                {"label_value_id": value_ids[pair], "series_id": sid}
                for labels, sid in zip(new, ids, strict=True)
                for pair in labels
            ],
        )

    def _remember(self, sid: int, labels: Labels) -> None:
        self._ids[labels] = sid
        self._labels[sid] = labels

    def labels_of(self, conn: Connection, sids: Sequence[int]) -> dict[int, Labels]:
        missing = [sid for sid in sids if sid not in self._labels]
        if not missing:  # the usual case: no statement to build
            return {sid: self._labels[sid] for sid in sids if sid in self._labels}
        s = schema.series
        query = select(s.c.id, s.c.labels).where(s.c.id.in_(bindparam("ids", expanding=True)))
        for batch in batched(missing):
            for row in conn.execute(query, {"ids": batch}):
                self._remember(int(row.id), labels_from_json(row.labels))
        return {sid: self._labels[sid] for sid in sids if sid in self._labels}

    def select_ids_cached(self, conn: Connection, matchers: Sequence[Matcher]) -> list[int]:
        """:meth:`select_ids`, remembered until series are created or deleted; only for a
        store no other process adds series to (the writer's)."""
        key = tuple(matchers)
        with self._lock:
            found = self._selected.get(key)
            if found is not None:
                self._selected.move_to_end(key)
                return found
            generation = self._generation
        ids = self.select_ids(conn, matchers)
        with self._lock:
            if generation == self._generation:
                self._selected[key] = ids
                if len(self._selected) > _SELECTED_ENTRIES:
                    self._selected.popitem(last=False)
        return ids

    def select_ids(self, conn: Connection, matchers: Sequence[Matcher]) -> list[int]:
        """Ids of the series matching every matcher, ascending.

        Matchers that select series by a value they carry are intersected from postings;
        matchers that an absent label satisfies (``!=``, ``!~``, ``=""`` ...) instead subtract
        the series carrying a value they reject. Only if every matcher is of the second kind
        does the search start from all series.
        """
        selected: set[int] | None = None
        for m in sorted(matchers, key=lambda m: m.type is not MatchType.EQUAL):
            if m.matches_empty:
                continue
            ids = self._postings(conn, m.name, lambda v, m=m: m.matches(v), m)
            selected = ids if selected is None else selected & ids
            if not selected:
                return []
        if selected is None:
            selected = {int(i) for i in conn.execute(select(schema.series.c.id)).scalars()}
        for m in matchers:
            if m.matches_empty and selected:
                selected -= self._postings(conn, m.name, lambda v, m=m: not m.matches(v), None)
        return sorted(selected)

    def _postings(self, conn: Connection, name: str, keep, exact: Matcher | None) -> set[int]:
        lv = schema.label_values
        query = select(lv.c.id, lv.c.value).where(lv.c.name == name)
        if exact is not None and exact.type is MatchType.EQUAL:
            query = query.where(lv.c.value == exact.value)
        value_ids = [row.id for row in conn.execute(query) if keep(row.value)]
        p = schema.postings
        ids_query = select(p.c.series_id).where(
            p.c.label_value_id.in_(bindparam("ids", expanding=True))
        )
        out: set[int] = set()
        for batch in batched(value_ids):
            out.update(int(i) for i in conn.execute(ids_query, {"ids": batch}).scalars())
        return out


def _selects(matchers: tuple[Matcher, ...], labels: Labels) -> bool:
    return all(m.matches(labels.get(m.name) or "") for m in matchers)


def _insert_ignoring_conflicts(conn: Connection, table):
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
