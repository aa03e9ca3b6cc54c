"""Read-only stand-ins for validated studies, built from the cache without importing Pydantic.

A warm run of a query command must not rebuild 10,000 `Study` models to print a few hundred
rows (see benchmarks/README.md). A `CachedStudy` answers every attribute a `Study` has, read
from the JSON of its validated record, so the schema is described once, in `models`. It
answers `id`, `overlaps` and `facets` from its row of the cache database and reads its record
only when something else is asked for: filtering 10,000 studies reads none of them.
tests/test_views.py holds both to the same answers, attribute by attribute.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from stemrenal.errors import StemrenalError
from stemrenal.facets import Facets

if TYPE_CHECKING:
    import sqlite3


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


#: Decoders made once: `json.loads` builds a new one on every call given a hook.
_DECODE = json.JSONDecoder().decode
_DECODE_NODES = json.JSONDecoder(object_hook=Node).decode


class DamagedCache(StemrenalError):
    """A value the cache's checksum vouched for would not parse, or has the wrong shape: only
    deliberate editing of the cache does this."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the cached copy of {what} is damaged; "
            "run again with --no-cache, or delete the stemrenal cache directory"
        )


class CachedStudy:
    """A validated study as the cache holds it; its record is read on first use.

    Parsing copies the record's fields onto the instance, so every later read is a plain
    attribute lookup.
    """

    def __init__(
        self, study_id: str, overlaps: list[str], facets: Facets, file: CachedFile, row: int
    ) -> None:
        self.id = study_id
        self.overlaps = overlaps
        self.facets = facets
        self._file = file
        self._row = row
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
            raise self._file.damaged(f"study {self.id!r}")
        self.__dict__.update(record.__dict__)
        self._parsed = True
        self._together = None

    @property
    def cell_free(self) -> bool:
        return self.facets.cell_free

    def release(self) -> None:
        """Let go of the record's fields (read again if asked for): what streaming output
        does with each batch once it is written, so memory stays flat."""
        if self._parsed:
            kept = {k: self.__dict__[k] for k in ("id", "overlaps", "facets", "_file", "_row")}
            self.__dict__.clear()
            self.__dict__.update(kept)
            self._parsed = False
        self._together = None

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The study as `Study.model_dump(mode="json")` gives it: the record itself."""
        data: dict[str, Any] = self._parse(None)
        return data

    def record_json(self) -> str:
        """The record as compact JSON, as the cache stores it (what JSON output streams)."""
        return self._file.texts([self._row], self.id)[0]

    def _parse(self, hook: Any) -> Any:
        decode = _DECODE_NODES if hook is Node else _DECODE
        try:
            return decode(self.record_json())
        except ValueError:
            raise self._file.damaged(f"study {self.id!r}") from None

    def __repr__(self) -> str:
        return f"CachedStudy(id={self.id!r})"


def read_together(studies: Iterable[object]) -> None:
    """Mark the views among `studies` as read together: what a command is about to print.

    Nothing is read yet (a query that prints only ids reads no record). The first of them
    whose record is needed reads all of theirs in one query and one JSON decode, which reuses
    the key strings across records.
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
            files.setdefault(id(study._file), []).append(study)
    for group in files.values():
        texts = group[0]._file.texts([s._row for s in group], "the studies' records")
        try:
            records = _DECODE_NODES("[" + ",".join(texts) + "]")
        except ValueError:
            records = None
        if not isinstance(records, list) or len(records) != len(group):
            records = [study._parse(Node) for study in group]  # names the damaged one
        for study, record in zip(group, records, strict=True):
            study._fill(record)


#: How many records streaming output reads and holds at a time.
_BATCH = 500


def batches(studies: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    """The studies a batch at a time: each batch's records are read together when first
    needed, and let go of once the caller moves on to the next batch."""
    for start in range(0, len(studies), size):
        part = studies[start : start + size]
        read_together(part)
        yield part
        for study in part:
            if isinstance(study, CachedStudy):
                study.release()


def record_texts(studies: Sequence[Any]) -> Iterator[str | None]:
    """Each study's record as compact JSON text where the cache holds it, else None; read a
    batch at a time, so printing every study of a large registry keeps few in memory."""
    for start in range(0, len(studies), _BATCH):
        chunk = studies[start : start + _BATCH]
        found: dict[int, str] = {}
        files: dict[int, list[int]] = {}
        for index, study in enumerate(chunk):
            if isinstance(study, CachedStudy):
                files.setdefault(id(study._file), []).append(index)
        for indices in files.values():
            file = chunk[indices[0]]._file
            texts = file.texts([chunk[i]._row for i in indices], "the studies' records")
            found.update(zip(indices, texts, strict=True))
        for index in range(len(chunk)):
            yield found.get(index)


#: Files with at most this many studies are read whole and their database closed: a
#: directory of many small files must not hold a descriptor open for each.
_READ_WHOLE = 200


class CachedFile(Sequence[CachedStudy]):
    """One cached registry file's studies, built as views only when something reads them.

    It holds every id and overlap (what the cross-file checks read). `narrow` selects rows
    through the term index, so a query for one disease builds views of that disease's studies
    only. A large file keeps its database open until exit: the records printed are read from
    the same file, even if another process replaces it meanwhile.
    """

    def __init__(self, connection: sqlite3.Connection, count: object, file: str = "") -> None:
        """ValueError unless the rows fit the count and their ids and overlaps their shape
        (`cache.load_views` makes that a miss)."""
        self._db: sqlite3.Connection | None = connection
        self._file = file
        _OPENED.append(self)
        rows = connection.execute("SELECT id, overlaps FROM study ORDER BY row").fetchall()
        if type(count) is not int or len(rows) != count:
            raise ValueError("the studies do not match their count")
        self.ids: list[str] = [study_id for study_id, _ in rows]
        if not set(map(type, self.ids)) <= {str}:
            raise ValueError("an id is not text")
        self.overlaps: dict[int, list[str]] = {}
        for row, (_, text) in enumerate(rows):
            if text is not None:
                others = _DECODE(text)
                if not isinstance(others, list) or not set(map(type, others)) <= {str}:
                    raise ValueError("overlaps are not a list of ids")
                self.overlaps[row] = others
        self._views: list[CachedStudy | None] = [None] * count
        self._complete = False
        self._whole: list[tuple[str, int, str, int]] | None = None
        self._terms: dict[tuple[str, str], list[int]] = {}
        if count <= _READ_WHOLE:
            self._read_whole(connection, count)

    def _read_whole(self, connection: sqlite3.Connection, count: int) -> None:
        """Read a small file's rows and term index at once, check each against its CRC and
        shape (ValueError: a miss), and close its database."""
        whole = connection.execute(
            "SELECT facets, facets_crc, record, record_crc FROM study ORDER BY row"
        ).fetchall()
        if len(whole) != count:
            raise ValueError("the studies do not match their count")
        for study_id, (facets, facets_crc, record, record_crc) in zip(self.ids, whole, strict=True):
            if not (_intact(facets, facets_crc, study_id) and _intact(record, record_crc)):
                raise ValueError("a value does not match its CRC")
            if not _shaped(_DECODE(facets)):
                raise ValueError("facets of the wrong shape")
        for facet, term, row in connection.execute("SELECT facet, term, row FROM term"):
            if type(row) is not int or not 0 <= row < count:
                raise ValueError("the term index names a row that is not there")
            self._terms.setdefault((facet, term), []).append(row)
        self._whole = whole
        self.close()

    def damaged(self, what: str) -> DamagedCache:
        """The error for a damaged value found in use; the database is removed, so the next
        run reads the registry file afresh and caches it again."""
        import contextlib
        import os

        if self._file:
            with contextlib.suppress(OSError):
                os.unlink(self._file)
        return DamagedCache(what)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

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
            if self._whole is not None:
                text, crc = self._whole[row][:2]
            else:
                found = self._query("SELECT facets, facets_crc FROM study WHERE row = ?", [row])
                if len(found) != 1:
                    raise self.damaged(f"study {self.ids[row]!r}")
                text, crc = found[0]
            view = self._view(row, text, crc)
        return view

    def __iter__(self) -> Iterator[CachedStudy]:
        if not self._complete:
            if self._whole is not None:
                facets = [(row, *whole[:2]) for row, whole in enumerate(self._whole)]
            else:
                facets = self._query("SELECT row, facets, facets_crc FROM study ORDER BY row")
            if len(facets) != len(self.ids):
                raise self.damaged("the studies' facets")
            for row, text, crc in facets:
                if self._views[row] is None:
                    self._view(row, text, crc)
            self._complete = True
        return iter(self._views)  # type: ignore[arg-type]  # complete: no None left

    def narrow(self, wanted: Mapping[str, Sequence[str]]) -> list[CachedStudy]:
        """The studies holding at least one wanted term of every facet named, in order,
        selected through the term index: a superset of what the filters select
        (`Registry.select` applies them all after)."""
        if not wanted:
            return list(self)
        if self._whole is not None:
            held: set[int] | None = None
            for facet, terms in wanted.items():
                rows = {row for term in terms for row in self._terms.get((facet, term), ())}
                held = rows if held is None else held & rows
            return self._rows(sorted(held or ()))
        parts, values = [], []
        for facet, terms in wanted.items():
            parts.append(
                f"SELECT row FROM term WHERE facet = ? AND term IN ({', '.join('?' * len(terms))})"
            )
            values += [facet, *terms]
        found = self._query(" INTERSECT ".join(parts) + " ORDER BY row", values)
        chosen = [row for (row,) in found]
        return self._rows(chosen)

    def _rows(self, chosen: list[int]) -> list[CachedStudy]:
        """The views of these rows (of the term index), built together where not built yet."""
        if any(type(row) is not int or not 0 <= row < len(self.ids) for row in chosen):
            raise self.damaged("the term index")
        if self._whole is not None or not chosen:
            return [self[row] for row in chosen]
        missing = [row for row in chosen if self._views[row] is None]
        if missing:
            found = self._query(
                "SELECT row, facets, facets_crc FROM study WHERE row IN "
                "(SELECT value FROM json_each(?)) ORDER BY row",
                [json.dumps(missing)],
            )
            if len(found) != len(missing):
                raise self.damaged("the studies' facets")
            for row, text, crc in found:
                self._view(row, text, crc)
        return [self[row] for row in chosen]

    def overlapped(self) -> Iterator[str]:
        """Every id that some study here says it overlaps."""
        for others in self.overlaps.values():
            yield from others

    def texts(self, rows: Sequence[int], what: str) -> list[str]:
        """The records of these rows as JSON text, each checked against its CRC."""
        if self._whole is not None:
            found = [(self._whole[row][2], self._whole[row][3]) for row in rows]
        elif len(rows) == 1:
            found = self._query("SELECT record, record_crc FROM study WHERE row = ?", rows)
        else:
            found = self._query(
                "SELECT record, record_crc FROM study WHERE row IN "
                "(SELECT value FROM json_each(?)) ORDER BY row",
                [json.dumps(sorted(rows))],
            )
            if list(rows) != sorted(rows):
                order = {row: index for index, row in enumerate(sorted(rows))}
                found = [found[order[row]] for row in rows] if len(found) == len(rows) else []
        if len(found) != len(rows) or not all(_intact(text, crc) for text, crc in found):
            raise self.damaged(what if len(rows) > 1 else f"study {self.ids[rows[0]]!r}")
        return [text for text, _ in found]

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record as plain data, in order (what the library validates again)."""
        for start in range(0, len(self.ids), _BATCH):
            rows = list(range(start, min(start + _BATCH, len(self.ids))))
            for text in self.texts(rows, "the studies' records"):
                try:
                    yield _DECODE(text)
                except ValueError:
                    raise self.damaged("the studies' records") from None

    def _query(self, sql: str, values: Sequence[object] = ()) -> list[Any]:
        import sqlite3

        if self._db is None:
            raise self.damaged("the cache database")
        try:
            return self._db.execute(sql, values).fetchall()
        except sqlite3.Error:
            raise self.damaged("the cache database") from None

    def _view(self, row: int, text: object, crc: object) -> CachedStudy:
        study_id = self.ids[row]
        if not _intact(text, crc, study_id):
            raise self.damaged(f"study {study_id!r}")
        try:
            values = _DECODE(text)  # type: ignore[arg-type]  # text, as _intact checked
        except ValueError:
            raise self.damaged(f"study {study_id!r}") from None
        if not _shaped(values):
            raise self.damaged(f"study {study_id!r}")
        view = CachedStudy(
            study_id, list(self.overlaps.get(row, ())), Facets._make(values), self, row
        )
        self._views[row] = view
        return view


#: Every cached file read in this process (see `discard_opened`).
_OPENED: list[CachedFile] = []


def forget_opened() -> None:
    """A new command begins (in-process callers run many): what earlier ones read is theirs."""
    _OPENED.clear()


def opened() -> list[CachedFile]:
    """Every cached file read in this process (what `cache.blame` checks)."""
    return list(_OPENED)


def discard_opened() -> None:
    """Remove the databases of every cached file this process read.

    A record edited with its CRC fixed up can hold a value of the wrong shape deep inside;
    the views are not validated again (that is what makes them fast), so a command that fails
    on it removes what it read (`cache.blame`), and the next run reads the registry afresh.
    """
    for file in _OPENED:
        file.damaged("")
    _OPENED.clear()


def _intact(text: object, crc: object, study_id: str | None = None) -> bool:
    """The text is what was written: its CRC matches (a facets' CRC covers the id too)."""
    if not isinstance(text, str):
        return False
    return zlib.crc32((text if study_id is None else f"{study_id}\n{text}").encode()) == crc


_MAYBE_TEXT = (str, type(None))
_MAYBE_BOOL = (bool, type(None))

#: The JSON types each `Facets` field may have, in order (a list's items are checked apart).
_FACET_TYPES: tuple[tuple[type, ...], ...] = (
    (list,), _MAYBE_TEXT, _MAYBE_TEXT, _MAYBE_TEXT, (list,), _MAYBE_TEXT, (bool,),
    (int, float, type(None)), (int, type(None)), (int,), (bool,), (list,), (list,), (list,),
    _MAYBE_BOOL, _MAYBE_BOOL, (list,), _MAYBE_TEXT, _MAYBE_TEXT, (int, type(None)),
)  # fmt: skip


#: The same, as sets: one C-level pass checks a row's fields (`_shaped`).
_FACET_SETS = tuple(frozenset(kinds) for kinds in _FACET_TYPES)


def _shaped(values: object) -> bool:
    """The facets hold what `cache.store` writes, down to the types (the CRC vouches for
    what stemrenal wrote; an edit with its CRC fixed up must still not crash a filter)."""
    if type(values) is not list or len(values) != len(_FACET_SETS):
        return False
    if not all(map(frozenset.__contains__, _FACET_SETS, map(type, values))):
        return False
    texts = values[0] + values[4] + values[11] + values[12]
    outcomes = values[16]
    return (
        set(map(type, texts)) <= {str}
        and set(map(type, values[13])) <= {int}
        and set(map(type, outcomes)) <= {list}
        and list(map(type, itertools.chain.from_iterable(outcomes)))
        == [str, bool, str] * len(outcomes)
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
