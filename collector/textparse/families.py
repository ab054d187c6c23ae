"""Which family each sample belongs to, and the rules across lines.

A family's metadata comes once and before its samples; sample names carry the suffixes their
type allows; buckets and quantiles need their label; exemplars sit only on counter totals and
buckets; in OpenMetrics a family's lines are contiguous and a series' timestamps never go
backwards.
"""

from __future__ import annotations

from collector.textparse.lines import _EXEMPLAR_OK, _LE, _QUANTILE
from collector.textparse.types import Exemplar, MetricFamily, MetricType, TextParseError, _Bad

_T = MetricType
_OM_SUFFIXES = {
    _T.COUNTER: ("_total", "_created"),
    _T.HISTOGRAM: ("_bucket", "_count", "_sum", "_created"),
    _T.GAUGEHISTOGRAM: ("_bucket", "_gcount", "_gsum"),
    _T.SUMMARY: ("", "_count", "_sum", "_created"),
    _T.INFO: ("_info",),
    _T.STATESET: ("",),
    _T.GAUGE: ("",),
    _T.UNKNOWN: ("",),
}
_PROM_SUFFIXES = {_T.COUNTER: ("",), _T.GAUGE: ("",), _T.UNKNOWN: ("",),
                  _T.HISTOGRAM: ("_bucket", "_count", "_sum"),
                  _T.SUMMARY: ("", "_count", "_sum")}  # fmt: skip
_ALL_SUFFIXES = sorted({s for v in _OM_SUFFIXES.values() for s in v if s})


_Member = tuple[int, int, dict[str, int]]


class _Family:
    __slots__ = ("name", "type", "help", "unit", "line", "kinds", "sampled", "emitted", "members")

    def __init__(self, name: str, line: int) -> None:
        self.name, self.line, self.type = name, line, MetricType.UNKNOWN
        self.help: str | None = None
        self.unit: str | None = None
        self.kinds: set[str] = set()
        self.sampled = self.emitted = False
        # Sample name -> (needed label flag, exemplar allowed, {series key: last timestamp}).
        # The inner dicts hold only str -> int, which the cyclic GC does not track.
        self.members: dict[str, _Member] = {}

    def emit(self) -> tuple[MetricFamily, ...]:
        if self.emitted:
            return ()
        self.emitted = True
        return (MetricFamily(self.name, self.type, self.help, self.unit),)


class _Grouper:
    """Which family each line belongs to, and the ordering rules between families."""

    def __init__(self, om: bool) -> None:
        self.om = om
        self.suffixes = _OM_SUFFIXES if om else _PROM_SUFFIXES
        self.known: dict[str, _Family] = {}
        self.cur: _Family | None = None

    def _switch(self, fam: _Family) -> tuple[MetricFamily, ...]:
        prev, self.cur = self.cur, fam
        if prev is None:
            return ()
        if self.om:
            prev.members = {}  # families never come back in OpenMetrics
        return prev.emit()

    def _resume(self, fam: _Family, what: str) -> tuple[MetricFamily, ...]:
        if self.om:
            raise _Bad(
                f"{what} of metric family {fam.name!r} (started at line {fam.line}) after "
                "another family; a family's lines must be contiguous"
            )
        return self._switch(fam)

    def meta(self, kind: str, name: str, value: object, line: int) -> tuple[MetricFamily, ...]:
        out: tuple[MetricFamily, ...] = ()
        fam = self.cur
        if fam is None or fam.name != name:
            fam = self.known.get(name)
            if fam is not None:
                out = self._resume(fam, f"# {kind}")
            else:
                fam = self.known[name] = _Family(name, line)
                out = self._switch(fam)
        if fam.sampled:
            raise _Bad(f"# {kind} for {name!r} comes after its samples")
        if fam.emitted:
            raise _Bad(f"# {kind} for {name!r} is separated from the family's other metadata")
        if kind in fam.kinds:
            raise _Bad(f"duplicate # {kind} for {name!r}")
        fam.kinds.add(kind)
        setattr(fam, kind.lower(), value)
        return out

    def _owner(self, name: str) -> _Family | None:
        fam = self.known.get(name)
        if fam is not None:
            return fam
        for suffix in _ALL_SUFFIXES:
            if name.endswith(suffix):
                fam = self.known.get(name[: -len(suffix)])
                if fam is not None and suffix in self.suffixes.get(fam.type, ()):
                    return fam
        return None

    def enter(
        self, name: str, line: int
    ) -> tuple[tuple[MetricFamily, ...], int, int, dict[str, int]]:
        """Start a run of samples called ``name``: (families to yield, *its _Member)."""
        fam, out = self.cur, ()
        hit = None if fam is None else fam.members.get(name)
        if hit is not None:
            return ((), *hit)
        if fam is None or not (
            name.startswith(fam.name) and name[len(fam.name) :] in self.suffixes[fam.type]
        ):
            if fam is not None and name == fam.name:
                self._flags(fam, name)  # raises: a suffix is required
            owner = self._owner(name)
            if owner is not None:
                out = self._resume(owner, f"sample {name!r}")
                fam = owner
            else:
                fam = self.known[name] = _Family(name, line)
                out = self._switch(fam)
        fam.sampled = True
        flags = self._flags(fam, name)
        hit = fam.members[name] = (flags & (_LE | _QUANTILE), flags & _EXEMPLAR_OK, {})
        return (out + fam.emit(), *hit)

    def _flags(self, fam: _Family, name: str) -> int:
        suffix, allowed = name[len(fam.name) :], self.suffixes[fam.type]
        if suffix not in allowed:
            names = " or ".join(repr(fam.name + s) for s in allowed)
            raise _Bad(f"{fam.type.value} {fam.name!r} samples must be named {names}")
        flags = _LE if suffix == "_bucket" else 0
        if fam.type is MetricType.SUMMARY and not suffix:
            flags |= _QUANTILE
        if (fam.type is MetricType.COUNTER and suffix == "_total") or suffix == "_bucket":
            flags |= _EXEMPLAR_OK
        return flags

    def finish(self) -> tuple[MetricFamily, ...]:
        return () if self.cur is None else self.cur.emit()


def _check_sample(flags: int, lflags: int, exemplar: Exemplar | None, name: str, line: int) -> None:
    need = flags & (_LE | _QUANTILE)
    if need and not lflags & need:
        label = "le" if need == _LE else "quantile"
        raise TextParseError(line, f"sample {name!r} needs a numeric {label!r} label")
    if exemplar is not None and not flags & _EXEMPLAR_OK:
        raise TextParseError(
            line, f"sample {name!r} cannot have an exemplar (only counter totals and buckets)"
        )


def _backwards(name: str, canon: str, ts: int, prev: int, line: int) -> None:
    series = f"{name}{{{canon}}}"
    raise TextParseError(line, f"timestamp of {series} goes backwards ({ts} ms after {prev} ms)")
