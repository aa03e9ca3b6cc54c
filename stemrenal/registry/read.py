"""One registry file: bytes, UTF-8, TOML, validated studies, and a Problem for everything else.

Problems are collected, never raised one at a time: a registry edited by many hands should be
fixable in one pass. No parser exception escapes as a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from stemrenal.errors import Problem
from stemrenal.registry import cache as registry_cache
from stemrenal.text import quoted

if TYPE_CHECKING:
    from pydantic import ValidationError

    from stemrenal.models import Certainty, Coverage, Excluded, Study, Trial
    from stemrenal.registry.cached import CachedFile
    from stemrenal.registry.locate import Locator


class FileResult(NamedTuple):
    """What one file yielded: valid studies, and problems with everything else.

    `indices` gives each valid study's position among the file's ``[[study]]`` tables, so
    its line can be found when a message needs it (see `lines`).
    """

    path: str
    studies: Sequence[Study]
    problems: tuple[Problem, ...]
    indices: Sequence[int] = ()
    ids: frozenset[str] = frozenset()
    trials: tuple[Trial, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    coverage: Coverage | None = None
    certainties: tuple[Certainty, ...] = ()

    def names(self) -> tuple[Sequence[str], Iterable[str]]:
        """The studies' ids in order, and every id they overlap: all the cross-file rules read.

        Read from the cache's index when the studies are views, so none has to be built.
        """
        from stemrenal.registry.cached import CachedFile

        lazy: object = self.studies  # typed as studies; may be the cache's view of them
        if isinstance(lazy, CachedFile):
            return lazy.ids, lazy.overlapped()
        return [s.id for s in self.studies], (o for s in self.studies for o in s.overlaps)

    def all_ids(self) -> frozenset[str]:
        """Every study's id in the file, valid or not (`ids`); from the cache's index when the
        studies are views, read only when a check needs them."""
        from stemrenal.registry.cached import CachedFile

        lazy: object = self.studies
        return frozenset(lazy.ids) if isinstance(lazy, CachedFile) else self.ids

    def lines(self, key: tuple[str, ...] = ()) -> tuple[int | None, ...]:
        """The line of each valid study, read from the file again.

        Only messages that span files need these, and locating every key of a large file
        costs more than parsing it, so they are found on demand rather than on every load.
        """
        from stemrenal.registry.locate import Locator

        text, _ = read_text(self.path)
        locator = Locator(text or "")
        return tuple(locator.line(index, key) for index in self.indices)


def read_file(
    path: str | os.PathLike[str], *, lazy: bool = False, kinds: Sequence[str] = ()
) -> FileResult:
    """Parse and validate one registry file; every failure becomes a Problem.

    A clean file is kept in the validated-registry cache (`registry.cache`) and read from
    there while its content is unchanged; a file with problems is checked afresh every time.
    With `lazy`, a cached file comes back as `cached.CachedStudy` stand-ins, which answer
    like a `Study` but are read without Pydantic (what the query commands use); a file read
    afresh is then cached a study at a time where it can be (`_streamed`).

    `kinds` names the records wanted (all of `KINDS` when empty): a command that reads
    studies only parses a trials or coverage file but never validates its records, so a warm
    query never loads Pydantic for them. `validate` and the library want them all.
    """
    path = os.fspath(path)
    entry = registry_cache.entry(path)
    wanted = tuple(kinds) or KINDS
    if entry is not None:
        if lazy:
            views = registry_cache.load_views(entry, wanted)
            if views is not None:
                return _viewed(path, views)
        else:
            cached = registry_cache.load(entry, wanted)
            if cached is not None:
                ids = frozenset(study.id for study in cached)
                return FileResult(path, cached, (), tuple(range(len(cached))), ids)
    raw, problem, before = _consistent(path)
    if problem is not None:
        return FileResult(path, (), (problem,))
    if entry is not None and before is not None and lazy and "study" in wanted:
        streamed = _streamed(path, entry, raw, before)
        if streamed is not None:
            return streamed
    result, held = _read_once(path, raw, kinds)
    if entry is not None and before is not None and held and not result.problems:
        registry_cache.store(entry, result.studies, raw, before, held)
    return result


#: Reads of a file that keeps changing before the command gives up.
_ATTEMPTS = 3


def _consistent(path: str) -> tuple[bytes, Problem | None, registry_cache.Stamp | None]:
    """One version of the file's bytes and its stat from before they were read (None for a
    pipe), or the problem that stops reading it: a file that keeps changing is one."""
    for _ in range(_ATTEMPTS):
        before = registry_cache.stamp(path)
        raw, problem = _read_bytes(path)
        if before is None or problem is not None:  # a pipe, or nothing could be read
            return raw, problem, before
        if before.same(registry_cache.stamp(path)) and len(raw) == before.size:
            return raw, None, before
    message = "the file changed while it was being read; run the command again"
    return b"", Problem(str(path), None, None, None, message), None


def _streamed(
    path: str, where: registry_cache.Entry, raw: bytes, seen: registry_cache.Stamp
) -> FileResult | None:
    """A clean file of studies alone, validated and cached a study at a time, then read back
    as the cache's views: the parsed tables and the models are never all held at once (at
    10,000 studies that peaked near 10x the file). None when the file is anything else (a
    problem anywhere, other kinds of record, a piece that does not parse alone) or the cache
    cannot be written: the caller then reads it whole, and every message is the same.
    """
    import sqlite3

    from pydantic import ValidationError

    from stemrenal.models import Study
    from stemrenal.registry import parse

    writer = registry_cache.Writer.begin(where, len(raw))
    if writer is None:
        return None
    with writer:
        try:
            for table in parse.studies(raw):
                writer.add(Study.model_validate(table))
            digest = writer.finish(raw, seen)
        except (parse.Whole, ValidationError, OSError, ValueError, sqlite3.Error):
            return None
    views = registry_cache.load_views(where, ("study",), digest)
    return None if views is None else _viewed(path, views)


def _viewed(path: str, views: CachedFile) -> FileResult:
    """A cached file's studies as views. The one cast of the warm path: the stand-ins answer
    every attribute a Study has (tests/test_views.py holds them to it), so the rest of the
    program reads them as studies. Their ids are read on demand."""
    return FileResult(path, cast("Sequence[Study]", views), (), range(len(views)))


def _read_once(path: str, raw: bytes, kinds: Sequence[str]) -> tuple[FileResult, tuple[str, ...]]:
    """The file's bytes decoded, parsed and validated whole, and the kinds of record it holds
    when the cache can keep it: studies alone (validated, so only when they were wanted), or
    no studies (then only its lack of them is kept); () when it cannot."""
    name = str(path)
    wanted = tuple(kinds) or KINDS
    text, problem = _decode(name, raw)
    if problem is not None:
        return FileResult(path, (), (problem,)), ()
    data, problem = _parse(name, text)
    if problem is not None:
        return FileResult(path, (), (problem,)), ()
    studies_alone = set(data) == {"study"} and "study" in wanted
    held = tuple(data) if studies_alone or "study" not in data else ()
    return _validate(name, text, data, wanted), held


def read_text(path: str) -> tuple[str | None, Problem | None]:
    """A registry file's text, or the problem that stops reading it (unreadable, too large,
    not UTF-8), located as every registry problem is."""
    raw, problem = _read_bytes(path)
    if problem is not None:
        return None, problem
    text, problem = _decode(str(path), raw)
    return (None if problem else text), problem


#: The largest registry file read, in bytes (STEMRENAL_MAX_FILE_MB, default 256): a device or
#: a runaway file is refused rather than read until memory runs out.
def _largest() -> int:
    import os

    try:
        return int(float(os.environ.get("STEMRENAL_MAX_FILE_MB", "256")) * 1024 * 1024)
    except ValueError:
        return 256 * 1024 * 1024


def _read_bytes(path: str) -> tuple[bytes, Problem | None]:
    """The file's bytes, at most STEMRENAL_MAX_FILE_MB of them: a regular file is checked by
    its size first; a pipe named on the command line (`--registry <(...)`) is read to the
    limit, so a device such as /dev/zero is refused rather than read forever."""
    import stat

    largest = _largest()
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            regular = stat.S_ISREG(info.st_mode)
            if regular and info.st_size > largest:
                return b"", _too_large(path, info.st_size)
            data = handle.read(largest + 1)
            if len(data) > largest:
                return b"", _too_large(path, len(data))
            return data, None
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        return b"", Problem(str(path), None, None, None, message)


def _too_large(path: str, size: int) -> Problem:
    message = (
        f"more than {_largest() // 1024 // 1024} MB (the STEMRENAL_MAX_FILE_MB limit); "
        "a registry file should be far smaller"
    )
    return Problem(str(path), None, None, None, message)


def _decode(name: str, raw: bytes) -> tuple[str, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return "", Problem(
            name, line, None, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save as UTF-8"
        )


def _parse(name: str, text: str) -> tuple[dict[str, Any], Problem | None]:
    import tomli

    from stemrenal.registry import parse

    try:
        return parse.loads(text), None
    except tomli.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        return {}, Problem(name, line, None, None, f"invalid TOML: {message}")
    except RecursionError:
        return {}, Problem(name, None, None, None, "invalid TOML: nested too deeply")


#: The record kinds a registry file may hold, as top-level keys.
KINDS = ("study", "trial", "excluded", "certainty", "coverage")


def _validate(
    name: str, text: str, data: dict[str, Any], kinds: Sequence[str] = KINDS
) -> FileResult:
    @cache
    def locator(kind: str = "study") -> Locator:
        """Only a file with problems needs line numbers; a clean one never pays for them."""
        from stemrenal.registry.locate import Locator

        return Locator(text, kind)

    problems = [
        Problem(
            name,
            locator().key_line((key,)),
            None,
            key,
            "unknown top-level key; use [[study]] (or [[trial]], [[excluded]], [[certainty]], [coverage])",
        )
        for key in data
        if key not in KINDS
    ]
    if not any(key in data for key in KINDS):
        message = "no [[study]] tables found"
        return FileResult(name, (), (*problems, Problem(name, None, None, None, message)))
    if not any(key in data for key in kinds):  # nothing this command reads: leave it be
        return FileResult(name, (), tuple(problems))
    from pydantic import ValidationError

    from stemrenal.models import Certainty, Coverage, Excluded, Study, Trial

    studies: list[Study] = []
    indices: list[int] = []
    ids: frozenset[str] = frozenset()
    if "study" in data and "study" in kinds:
        tables = data["study"]
        if not isinstance(tables, list) or not tables:
            message = "`study` must be [[study]] tables"
            return FileResult(name, (), (*problems, Problem(name, None, None, None, message)))
        ids = frozenset(
            t["id"] for t in tables if isinstance(t, dict) and isinstance(t.get("id"), str)
        )
        for index, table in enumerate(tables):
            tables[index] = None  # let each parsed table go once validated: halves peak memory
            try:
                studies.append(Study.model_validate(table))
                indices.append(index)
            except ValidationError as exc:
                problems.extend(_explain(name, locator(), index, table, exc))
    others = {
        kind: _records(name, data.get(kind, []), model, kind, locator, problems)
        for kind, model in (("trial", Trial), ("excluded", Excluded), ("certainty", Certainty))
        if kind in kinds
    }
    coverage = None
    if "coverage" in data and "coverage" in kinds:
        try:
            coverage = Coverage.model_validate(data["coverage"])
        except ValidationError as exc:
            line = locator().key_line(("coverage",))
            problems.extend(
                Problem(name, line, None, "coverage." + _dotted(tuple(e["loc"])), _message(e))
                for e in exc.errors(include_url=False)
            )
    return FileResult(
        name,
        tuple(studies),
        tuple(problems),
        tuple(indices),
        ids,
        tuple(others.get("trial", ())),
        tuple(others.get("excluded", ())),
        coverage,
        tuple(others.get("certainty", ())),
    )


def _records(
    name: str,
    tables: object,
    model: Any,
    kind: str,
    locator: Callable[[str], Locator],
    problems: list[Problem],
) -> list[Any]:
    """The valid records of one other kind (trials, exclusions); problems for the rest."""
    from pydantic import ValidationError

    if not isinstance(tables, list):
        problems.append(Problem(name, None, None, kind, f"`{kind}` must be [[{kind}]] tables"))
        return []
    valid = []
    for index, table in enumerate(tables):
        try:
            valid.append(model.model_validate(table))
        except ValidationError as exc:
            problems.extend(_explain(name, locator(kind), index, table, exc, kind))
    return valid


def _explain(
    name: str,
    locator: Locator,
    index: int,
    table: object,
    exc: ValidationError,
    kind: str = "study",
) -> Iterable[Problem]:
    raw_id = table.get("id") if isinstance(table, dict) else None
    study = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        loc = _within(tuple(error["loc"]), str(ctx["field"])) if "field" in ctx else error["loc"]
        loc = tuple(loc)
        line = locator.line(index, loc)
        yield Problem(name, line, study, _dotted(loc) or f"({kind})", _message(error), kind)


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _within(loc: tuple[Any, ...], field: str) -> tuple[Any, ...]:
    """The location a validator names (`field`, e.g. "domains[0]"), inside the model it ran on.

    A field validator of a study names a path from the study's own field ("outcomes[0].arm"),
    so the field it ran on is not repeated.
    """
    parts = tuple(int(i) if i else k for k, i in _PART.findall(field))
    if loc and parts and parts[0] == loc[-1]:
        return (*loc[:-1], *parts)
    return (*loc, *parts)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "missing": "required key is missing",
}

#: What to write, for the patterns whose regex would mean nothing to a curator.
_PATTERN_HINTS = {
    "id": "write the id in lower case as author-year-topic, e.g. deng-2017-lupus-nephritis",
    "doi": "write the bare DOI, e.g. 10.1136/annrheumdis-2017-211073 (drop any https://doi.org/ "
    "or doi: prefix)",
    "pmid": "write the PMID as digits only, e.g. 28478399",
    "overlaps": "name studies by their ids, e.g. deng-2017-lupus-nephritis",
    "last_checked": "write a date as YYYY-MM-DD, e.g. 2026-12-01",
}

#: Tables written `[study.x]` where the registry wants `[[study.x]]` (one per item).
_LISTS_OF_TABLES = {"arms", "outcomes", "safety_events", "limitations", "domains", "arm_values"}


def _message(error: Any) -> str:
    kind = error["type"]
    loc = tuple(error.get("loc") or ())
    given = error.get("input")
    last = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if isinstance(given, str) and given.lstrip().upper().startswith("TODO"):
        return (
            f"not filled in yet: replace {quoted(given)} (or delete the key if no source says it)"
        )
    if kind == "missing":
        return str(_MESSAGES[kind])
    if kind == "extra_forbidden":
        return "unknown key (not part of the registry format)" + _known_key(last)
    if kind == "string_pattern_mismatch" and last in _PATTERN_HINTS:
        return f"{_PATTERN_HINTS[last]} (got {quoted(given)})"
    if kind == "list_type" and isinstance(given, dict) and last in _LISTS_OF_TABLES:
        path = ".".join(part for part in loc if isinstance(part, str))
        return f"write each item as its own [[study.{path}]] table (double brackets), not [study.{path}]"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind in {"string_pattern_mismatch", "literal_error"}:
        message += f" (got {quoted(given)})"
    return message


def _known_key(key: str) -> str:
    """ "; did you mean `enrolled`?" for a misspelt key, from every key the format has."""
    import difflib

    from stemrenal import models

    keys = {
        name
        for model in vars(models).values()
        if isinstance(model, type) and issubclass(model, models.StrictModel)
        for name in model.model_fields
    }
    close = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
