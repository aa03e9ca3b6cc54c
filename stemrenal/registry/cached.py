"""Read-only stand-ins for validated studies, built from the cache without importing Pydantic.

A warm run of a query command must not rebuild 10,000 `Study` models to print a few hundred
rows (see benchmarks/README.md). A `CachedStudy` answers every attribute a `Study` has, read
from the JSON that Study's own serializer wrote when it was validated, so the schema is
described once, in `models`. It answers `id`, `overlaps` and `facets` from the cache's index
and parses its record only when something else is asked for: filtering 10,000 studies reads
none of them. tests/test_views.py holds both to the same answers, attribute by attribute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from stemrenal.errors import StemrenalError
from stemrenal.facets import Facets

if TYPE_CHECKING:
    from mmap import mmap


class Node:
    """One validated model's JSON object, read by attribute as the model itself is read.

    The decoded dict becomes the instance's own ``__dict__`` (no copy), so reading a field is
    a plain attribute lookup.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__ = data

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The same plain data `BaseModel.model_dump` gives (the models hold only JSON types)."""
        return {key: _plain(value) for key, value in self.__dict__.items()}

    def __repr__(self) -> str:
        return f"Node({self.__dict__!r})"


def _plain(value: Any) -> Any:
    if isinstance(value, Node):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


#: Decoders made once: `json.loads` builds a new one on every call given a hook, and sniffs
#: the encoding of bytes every time; at a thousand records a query that is a third of the parse.
_DECODE = json.JSONDecoder().decode
_DECODE_NODES = json.JSONDecoder(object_hook=Node).decode


class DamagedCache(StemrenalError):
    """A record the cache's checksum vouched for would not parse: never expected."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the cached copy of {what} is damaged; "
            "run again with --no-cache, or delete the stemrenal cache directory"
        )


class CachedStudy:
    """A validated study as the cache holds it; its record is parsed on first use.

    Parsing copies the record's fields onto the instance, so every later read is a plain
    attribute lookup.
    """

    def __init__(
        self,
        study_id: str,
        overlaps: list[str],
        facets: Facets,
        records: bytes | mmap,
        start: int,
        end: int,
    ) -> None:
        self.id = study_id
        self.overlaps = overlaps
        self.facets = facets
        self._records = records
        self._start = start
        self._end = end
        self._parsed = False
        self._together: list[CachedStudy] | None = None

    def __getattr__(self, name: str) -> Any:
        """Called only for what the instance does not hold yet: the record's fields."""
        if name.startswith("__") or self._parsed:  # copy and pickle probe for dunders
            raise AttributeError(name)
        if self._together is not None:
            _parse_together(self._together)
        if not self._parsed:
            self._fill(self._parse(Node))
        return getattr(self, name)

    def _fill(self, record: object) -> None:
        if not isinstance(record, Node):  # valid JSON, but not a study's object
            raise DamagedCache(f"study {self.id!r}")
        self.__dict__.update(record.__dict__)
        self._parsed = True
        self._together = None

    @property
    def cell_free(self) -> bool:
        return self.facets.cell_free

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The study as `Study.model_dump(mode="json")` gives it: the record itself."""
        data: dict[str, Any] = self._parse(None)
        return data

    def _parse(self, hook: Any) -> Any:
        decode = _DECODE_NODES if hook is Node else _DECODE
        try:
            return decode(self._records[self._start : self._end].decode())
        except ValueError:
            raise DamagedCache(f"study {self.id!r}") from None

    def __repr__(self) -> str:
        return f"CachedStudy(id={self.id!r})"


def read_together(studies: Iterable[object]) -> None:
    """Mark the views among `studies` as read together: what a command is about to print.

    Nothing is parsed yet (a query that prints only ids parses no record). The first of them
    whose record is needed parses all of theirs in one JSON decode, which reuses the key
    strings across records: a quarter faster than one decode each (15 against 21 ms for the
    1,186 records of a warm 10k query).
    """
    together = [s for s in studies if isinstance(s, CachedStudy) and not s._parsed]
    if len(together) > 1:
        for study in together:
            study._together = together


def _parse_together(together: list[CachedStudy]) -> None:
    """Parse the records of studies marked by `read_together`, one decode per cache file."""
    files: dict[int, list[CachedStudy]] = {}
    for study in together:
        if not study._parsed:
            files.setdefault(id(study._records), []).append(study)
    for group in files.values():
        data = group[0]._records
        joined = b",".join([data[s._start : s._end] for s in group])
        try:
            records = _DECODE_NODES("[" + joined.decode() + "]")
        except ValueError:
            records = None
        if not isinstance(records, list) or len(records) != len(group):
            records = [study._parse(Node) for study in group]  # names the damaged one
        for study, record in zip(group, records, strict=True):
            study._fill(record)


class CachedFile(Sequence[CachedStudy]):
    """One cached registry file's studies, built as views only when something reads them.

    It holds the cache's index: every id and overlap (what the cross-file checks read),
    where each study's facets and record lie, and where the posting lists of each facet are
    (for every term, the rows holding it). `narrow` reads those, so a query for one disease
    builds views of that disease's studies only; iterating parses all facets in one go.
    """

    def __init__(self, data: bytes | mmap, base: int, index: dict[str, Any]) -> None:
        """ValueError unless the index fits the data (`cache.load_views` makes that a miss).

        Its shape is checked too, down to the types: the checksum vouches for what stemrenal
        wrote, and a file edited with its checksum fixed up must still be a miss, not a crash.
        """
        if not _shaped(index):
            raise ValueError("the index does not have the shape stemrenal writes")
        self.ids: list[str] = index["ids"]
        self.overlaps: dict[int, list[str]] = dict(index["overlaps"])
        self._postings: dict[str, list[int]] = index["postings"]
        self._facets: list[int] = index["facets"]
        self._records: list[int] = index["records"]
        self._data = data
        self._base = base
        count = len(self.ids)
        if not all(0 <= row < count for row in self.overlaps):
            raise ValueError("the overlaps name rows that are not there")
        size = len(data) - base
        if not (count == len(self._facets) - 1 == len(self._records) - 1 > 0):
            raise ValueError("the index does not count the studies alike")
        if self._records[-1] != size or not 0 < self._facets[-1] <= self._records[0] <= size:
            raise ValueError("the index points outside the file")
        if any(not 0 <= a <= b <= size for a, b in self._postings.values()):
            raise ValueError("the postings lie outside the file")
        self._views: list[CachedStudy | None] = [None] * count
        self._complete = False

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> CachedStudy: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[CachedStudy, ...]: ...
    def __getitem__(self, index: int | slice) -> CachedStudy | tuple[CachedStudy, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        view = self._views[index]
        if view is None:
            row = index % len(self.ids)
            view = self._view(row, self._slice(self._facets[row], self._facets[row + 1] - 1))
        return view

    def __iter__(self) -> Iterator[CachedStudy]:
        if not self._complete:
            starts = self._facets  # one parse for all: many times faster than one per study
            rows = self._load(self._slice(starts[0] - 1, starts[-1]), "the studies' facets")
            if not isinstance(rows, list) or len(rows) != len(self.ids):
                raise DamagedCache("the studies' facets")
            for row, (view, facets) in enumerate(zip(self._views, rows, strict=True)):
                if view is None:
                    self._view(row, facets)
            self._complete = True
        return iter(self._views)  # type: ignore[arg-type]  # complete: no None left

    def narrow(self, wanted: Mapping[str, Sequence[str]]) -> list[CachedStudy]:
        """The studies holding at least one wanted term of every facet named, in order.

        A superset of what the filters select (`Registry.select` applies them all after).
        """
        chosen: set[int] | None = None
        for facet, terms in wanted.items():
            span = self._postings.get(facet)
            if span is None:  # not indexed: this facet cannot narrow
                continue
            postings = self._load(self._slice(*span), f"the index of {facet}")
            if not isinstance(postings, dict):
                raise DamagedCache(f"the index of {facet}")
            rows = set().union(*(postings.get(term, ()) for term in terms))
            chosen = rows if chosen is None else chosen & rows
        if chosen is None:
            return list(self)
        return [self[row] for row in sorted(chosen)]

    def overlapped(self) -> Iterator[str]:
        """Every id that some study here says it overlaps."""
        for others in self.overlaps.values():
            yield from others

    def _slice(self, start: int, end: int) -> bytes:
        return self._data[self._base + start : self._base + end]

    @staticmethod
    def _load(raw: bytes, what: str) -> Any:
        try:
            return _DECODE(raw.decode())
        except ValueError:
            raise DamagedCache(what) from None

    def _view(self, row: int, facets: bytes | list[Any]) -> CachedStudy:
        study_id = self.ids[row]
        try:
            values = _DECODE(facets.decode()) if isinstance(facets, bytes) else facets
            made = Facets._make(values)
        except (ValueError, TypeError):
            raise DamagedCache(f"study {study_id!r}") from None
        starts = self._records
        view = CachedStudy(
            study_id,
            list(self.overlaps.get(row, ())),
            made,
            self._data,
            self._base + starts[row],
            self._base + starts[row + 1] - 1,
        )
        self._views[row] = view
        return view


def _shaped(index: object) -> bool:
    """The index holds what `cache.store` writes: lists of ids, offsets and overlaps, and a
    [start, end] span for each facet's posting lists."""

    def only(kind: type, items: object) -> bool:  # one C-level pass over a list of any length
        return isinstance(items, list) and set(map(type, items)) <= {kind}

    if not isinstance(index, dict):
        return False
    postings, overlaps = index.get("postings"), index.get("overlaps")
    if not isinstance(postings, dict) or not isinstance(overlaps, list):
        return False
    return (
        only(str, index.get("ids"))
        and only(int, index.get("facets"))
        and only(int, index.get("records"))
        and all(only(int, span) and len(span) == 2 for span in postings.values())
        and all(
            isinstance(pair, list)
            and len(pair) == 2
            and type(pair[0]) is int
            and only(str, pair[1])
            for pair in overlaps
        )
    )


class Chain(Sequence[Any]):
    """Several files' studies as one sequence, in order; `narrow` reaches each cached file."""

    def __init__(self, parts: Sequence[Sequence[Any]]) -> None:
        self._parts = parts
        self._flat: tuple[Any, ...] | None = None

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def __getitem__(self, index: Any) -> Any:
        if self._flat is None:
            self._flat = tuple(self)
        return self._flat[index]

    def __iter__(self) -> Iterator[Any]:
        for part in self._parts:
            yield from part

    def narrow(self, wanted: Mapping[str, Sequence[str]]) -> list[Any]:
        """Each cached file narrowed by its index; other files' studies all kept."""
        out: list[Any] = []
        for part in self._parts:
            out.extend(part.narrow(wanted) if isinstance(part, CachedFile) else part)
        return out


def chain(parts: Sequence[Sequence[Any]]) -> Sequence[Any]:
    """The studies of several files as one sequence: a single file's own, else a `Chain`."""
    kept = [part for part in parts if part]
    return kept[0] if len(kept) == 1 else Chain(kept)


def narrow(studies: Sequence[Any], wanted: Mapping[str, Sequence[str]]) -> Sequence[Any]:
    """The studies that may hold the wanted terms: cached files narrow by their index; any
    other sequence is kept whole (the filters decide either way)."""
    if wanted and isinstance(studies, (CachedFile, Chain)):
        return studies.narrow(wanted)
    return studies
