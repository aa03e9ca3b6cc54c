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

    from stemrenal.query import Summary


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


#: The fields the tables read by default (`list`, `outcomes`, in every table format), and
#: a few small ones: the cache keeps them apart as a "light" record, so that printing a
#: table parses half the text of the whole records (titles, populations, arms, safety and
#: curation notes are the other half). tests/test_views.py holds the default columns to it.
LIGHT = (
    "id", "year", "conditions", "enrolled", "follow_up", "follow_up_months", "follow_up_reported",
    "citation", "design", "intervention", "outcomes", "limitations", "risk_of_bias",
    "registrations", "countries", "distinct_from", "overlaps", "last_checked",
)  # fmt: skip
_LIGHT = frozenset(LIGHT)


class CachedStudy:
    """A validated study as the cache holds it; its record is read on first use.

    Parsing copies the record's fields onto the instance, so every later read is a plain
    attribute lookup. A field of `LIGHT` reads the light record first; any other field, the
    whole record.
    """

    def __init__(
        self, study_id: str, overlaps: list[str], facets: Facets, file: CachedFile, row: int
    ) -> None:
        self.id = study_id
        self.overlaps = overlaps
        self.facets = facets
        self._file = file
        self._row = row
        self._parsed = False  # the whole record is read
        self._light = False  # the light record is read
        self._together: list[CachedStudy] | None = None

    def __getattr__(self, name: str) -> Any:
        """Called only for what the instance does not hold yet: the record's fields."""
        if name.startswith("__") or self._parsed:  # copy and pickle probe for dunders
            raise AttributeError(name)
        light = name in _LIGHT and not self._light
        if self._together is not None:
            _parse_together(self._together, light)
        if light and not self._light:
            self._fill(self._parse(Node, "light"), light=True)
        elif not light and not self._parsed:
            self._fill(self._parse(Node))
        return getattr(self, name)

    def _fill(self, record: object, *, light: bool = False) -> None:
        if not isinstance(record, Node):  # valid JSON, but not a study's object
            raise self._file.damaged(f"study {self.id!r}")
        self.__dict__.update(record.__dict__)
        if light:
            self._light = True
        else:
            self._parsed = self._light = True
            self._together = None

    @property
    def cell_free(self) -> bool:
        return self.facets.cell_free

    def release(self) -> None:
        """Let go of the record's fields (read again if asked for): what streaming output
        does with each batch once it is written, so memory stays flat."""
        if self._light:
            kept = {k: self.__dict__[k] for k in ("id", "overlaps", "facets", "_file", "_row")}
            self.__dict__.clear()
            self.__dict__.update(kept)
            self._parsed = self._light = False
        self._together = None

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The study as `Study.model_dump(mode="json")` gives it: the record itself."""
        data: dict[str, Any] = self._parse(None)
        return data

    def _parse(self, hook: Any, column: str = "record") -> Any:
        decode = _DECODE_NODES if hook is Node else _DECODE
        try:
            return decode(self._file.texts([self._row], self.id, column)[0])
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


def _parse_together(together: list[CachedStudy], light: bool = False) -> None:
    """Parse the records (or the light records) of studies marked by `read_together`, one
    decode per cache file."""
    column = "light" if light else "record"
    files: dict[int, list[CachedStudy]] = {}
    for study in together:
        if not (study._light if light else study._parsed):
            files.setdefault(id(study._file), []).append(study)
    for group in files.values():
        texts = group[0]._file.texts([s._row for s in group], "the studies' records", column)
        try:
            records = _DECODE_NODES("[" + ",".join(texts) + "]")
        except ValueError:
            records = None
        if not isinstance(records, list) or len(records) != len(group):
            records = [study._parse(Node, column) for study in group]  # names the damaged one
        for study, record in zip(group, records, strict=True):
            study._fill(record, light=light)


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


#: The columns a record is read from, by name (never text from outside into SQL).
_COLUMNS = {"record": "record, record_crc", "light": "light, light_crc"}

#: Files with at most this many studies are read whole and their database closed: a
#: directory of many small files must not hold a descriptor open for each.
_READ_WHOLE = 200


class CachedFile(Sequence[CachedStudy]):
    """One cached registry file's studies, built as views only when something reads them.

    `narrow` selects rows through the term index, so a query for one disease builds views of
    that disease's studies only, and reads no other row: not even every id, when the file is
    the only one holding studies and `alone` (its ids unique, its overlaps all its own), so
    the cross-file checks have nothing to read. A large file keeps its database open until
    exit: the records printed are read from the same file, even if another process replaces
    it meanwhile.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        count: object,
        file: str = "",
        alone: bool = False,
        summary: Sequence[object] = (None, None),
    ) -> None:
        """ValueError unless the count is a count, and for a small file (read whole) unless
        the rows fit it and their values their CRCs and shape (`cache.load_views` makes that
        a miss)."""
        self._db: sqlite3.Connection | None = connection
        self._file = file
        _OPENED.append(self)
        if type(count) is not int or count < 0:
            raise ValueError("the count is not a count")
        self._count = count
        self.alone = alone
        text, crc = summary
        if text is not None and not _intact(text, crc):
            raise ValueError("the stored summary does not match its CRC")
        self._summary = text if isinstance(text, str) else None
        self._ids: list[str] | None = None
        self._overlaps: dict[int, list[str]] = {}
        self._views: list[CachedStudy | None] = [None] * count
        self._complete = False
        self._whole: list[tuple[str, int, str, int, str, int]] | None = None
        self._terms: dict[tuple[str, str], list[int]] = {}
        if count <= _READ_WHOLE:
            self._read_ids(connection)
            self._read_whole(connection, count)

    @property
    def ids(self) -> list[str]:
        """Every study's id, in order (what the cross-file checks read), read on first use."""
        if self._ids is None:
            if self._db is None:
                raise self.damaged("the cache database")
            try:
                self._read_ids(self._db)
            except ValueError:
                raise self.damaged("the studies' ids") from None
        assert self._ids is not None  # for mypy: set by _read_ids
        return self._ids

    def _read_ids(self, connection: sqlite3.Connection) -> None:
        """ValueError unless the rows fit the count and their ids and overlaps their shape."""
        import sqlite3

        try:
            rows = connection.execute("SELECT id, overlaps FROM study ORDER BY row").fetchall()
        except sqlite3.Error:
            raise ValueError("the studies cannot be read") from None
        if len(rows) != self._count:
            raise ValueError("the studies do not match their count")
        ids = [study_id for study_id, _ in rows]
        if not set(map(type, ids)) <= {str}:
            raise ValueError("an id is not text")
        for row, (_, text) in enumerate(rows):
            if text is not None:
                self._overlaps[row] = _overlap_list(text)
        self._ids = ids

    def _read_whole(self, connection: sqlite3.Connection, count: int) -> None:
        """Read a small file's rows and term index at once, check each against its CRC and
        shape (ValueError: a miss), and close its database."""
        whole = connection.execute(
            "SELECT facets, facets_crc, record, record_crc, light, light_crc FROM study ORDER BY row"
        ).fetchall()
        if len(whole) != count:
            raise ValueError("the studies do not match their count")
        for study_id, (facets, facets_crc, *texts) in zip(self.ids, whole, strict=True):
            record, record_crc, light, light_crc = texts
            if not (
                _intact(facets, facets_crc, study_id)
                and _intact(record, record_crc)
                and _intact(light, light_crc)
            ):
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
        return self._count

    @overload
    def __getitem__(self, index: int) -> CachedStudy: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[CachedStudy, ...]: ...
    def __getitem__(self, index: int | slice) -> CachedStudy | tuple[CachedStudy, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        view = self._views[index]
        if view is None:
            row = index % self._count
            if self._whole is not None:
                view = self._view(
                    row, self.ids[row], self._overlaps.get(row), *self._whole[row][:2]
                )
            else:
                found = self._query(f"SELECT {_VIEW} FROM study WHERE row = ?", [row])
                if len(found) != 1:
                    raise self.damaged(f"study {self.ids[row]!r}")
                view = self._view_of(found[0])
        return view

    def __iter__(self) -> Iterator[CachedStudy]:
        if not self._complete:
            if self._whole is not None:
                for row, whole in enumerate(self._whole):
                    if self._views[row] is None:
                        self._view(row, self.ids[row], self._overlaps.get(row), *whole[:2])
            else:
                found = self._query(f"SELECT {_VIEW} FROM study ORDER BY row")
                if len(found) != self._count:
                    raise self.damaged("the studies' facets")
                for values in found:
                    if self._views[values[0]] is None:
                        self._view_of(values)
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
        if any(type(row) is not int or not 0 <= row < self._count for row in chosen):
            raise self.damaged("the term index")
        if self._whole is not None or not chosen:
            return [self[row] for row in chosen]
        missing = [row for row in chosen if self._views[row] is None]
        if missing:
            found = self._query(
                f"SELECT {_VIEW} FROM study WHERE row IN "
                "(SELECT value FROM json_each(?)) ORDER BY row",
                [json.dumps(missing)],
            )
            if len(found) != len(missing) or [values[0] for values in found] != missing:
                raise self.damaged("the studies' facets")
            for values in found:
                self._view_of(values)
        return [self[row] for row in chosen]

    def summary(self) -> Summary | None:
        """`query.summarise` of every study here, as stored when the file was cached (for a
        file consistent `alone` only), so a summary without filters counts nothing again.
        Its CRC was checked at open (a mismatch is a miss); its shape is checked here."""
        if self._summary is None:
            return None
        try:
            return _summary_of(_DECODE(self._summary))
        except (ValueError, TypeError, KeyError):
            raise self.damaged("the registry's summary") from None

    def overlapped(self) -> Iterator[str]:
        """Every id that some study here says it overlaps."""
        self.ids  # noqa: B018 - reads the overlaps with the ids
        for others in self._overlaps.values():
            yield from others

    def texts(self, rows: Sequence[int], what: str, column: str = "record") -> list[str]:
        """The records (`column` "light": the light records) of these rows as JSON text, each
        checked against its CRC."""
        if self._whole is not None:
            whole = [self._whole[row] for row in rows]
            light = column == "light"
            found = [(w[4], w[5]) if light else (w[2], w[3]) for w in whole]
        elif len(rows) == 1:
            found = self._query(f"SELECT {_COLUMNS[column]} FROM study WHERE row = ?", rows)
        else:
            found = self._query(
                f"SELECT {_COLUMNS[column]} FROM study WHERE row IN "
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
        for start in range(0, self._count, _BATCH):
            rows = list(range(start, min(start + _BATCH, self._count)))
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

    def _view_of(self, values: Sequence[Any]) -> CachedStudy:
        """The view of a row read as `_VIEW`: its id is covered by the facets' CRC."""
        row, study_id, overlaps, text, crc = values
        if not isinstance(study_id, str):
            raise self.damaged("the studies' ids")
        try:
            others = None if overlaps is None else _overlap_list(overlaps)
        except ValueError:
            raise self.damaged(f"study {study_id!r}") from None
        return self._view(row, study_id, others, text, crc)

    def _view(
        self, row: int, study_id: str, overlaps: list[str] | None, text: object, crc: object
    ) -> CachedStudy:
        if not _intact(text, crc, study_id):
            raise self.damaged(f"study {study_id!r}")
        try:
            values = _DECODE(text)  # type: ignore[arg-type]  # text, as _intact checked
        except ValueError:
            raise self.damaged(f"study {study_id!r}") from None
        if not _shaped(values):
            raise self.damaged(f"study {study_id!r}")
        view = CachedStudy(study_id, list(overlaps or ()), Facets._make(values), self, row)
        self._views[row] = view
        return view


def _summary_of(stored: Any) -> Summary:
    """A stored summary (`cache._summary_text`) as a `query.Summary`; ValueError unless every
    field is there with its type."""
    from stemrenal.query import Breakdown, Summary

    if not isinstance(stored, dict) or set(stored) != set(Summary._fields):
        raise ValueError("not a summary")
    rows = stored["rows"]
    counts = [stored[name] for name in Summary._fields if name != "rows"]
    if not isinstance(rows, list) or not all(type(n) is int for n in counts):
        raise ValueError("not a summary")
    if not all(
        isinstance(row, list) and [type(value) for value in row] == [str, str, int, int]
        for row in rows
    ):
        raise ValueError("not a summary")
    return Summary(**{**stored, "rows": tuple(Breakdown(*row) for row in rows)})


#: What a view is built from: its row, id, overlaps and facets.
_VIEW = "row, id, overlaps, facets, facets_crc"


def _overlap_list(text: object) -> list[str]:
    """A row's overlaps (JSON text): ValueError unless a list of ids."""
    others = _DECODE(text) if isinstance(text, str) else None
    if not isinstance(others, list) or not set(map(type, others)) <= {str}:
        raise ValueError("overlaps are not a list of ids")
    return others


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
