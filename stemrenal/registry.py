"""Find registry files, parse them with tomli, validate every study, and say where each problem is.

Problems are collected, never raised one at a time: a registry edited by many hands should be
fixable in one pass. No parser exception escapes as a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from stemrenal import cache as registry_cache
from stemrenal.errors import Problem, RegistryError, quoted

if TYPE_CHECKING:
    from pydantic import ValidationError

    from stemrenal.locate import Locator
    from stemrenal.models import Study

#: Environment variable naming registry files or directories, separated by os.pathsep.
ENV_VAR = "STEMRENAL_REGISTRY"


def bundled_path() -> Path:
    """The registry shipped with stemrenal.

    Two candidates, because hatchling's force-include reaches a wheel but not an editable
    install: the packaged file beside this module first, then the checkout's
    ``data/studies.toml``. (Plain paths, not importlib.resources: it costs startup time and a
    zipped install could not be read as a path anyway.)
    """
    here = Path(__file__).resolve().parent
    packaged = here / "data" / "studies.toml"
    if packaged.is_file():
        return packaged
    return here.parent / "data" / "studies.toml"


def sources(paths: Sequence[str | os.PathLike[str]] = ()) -> tuple[list[Path], list[Problem]]:
    """Registry files to read: each path is a file or a directory of ``*.toml``.

    With no paths, the bundled registry. Problems (a missing path, an empty directory) are
    returned, not raised, so `validate` can report them beside the others.
    """
    if not paths:
        return [bundled_path()], []
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            tomls = sorted(
                p
                for p in path.rglob("*.toml")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not tomls:
                problems.append(
                    Problem(str(path), None, None, None, "no *.toml files in directory")
                )
            found.extend(tomls)
        elif path.exists():
            found.append(path)
        else:
            problems.append(Problem(str(path), None, None, None, "no such file or directory"))
    return found, problems


class FileResult(NamedTuple):
    """What one file yielded: valid studies, and problems with everything else.

    `indices` gives each valid study's position among the file's ``[[study]]`` tables, so
    its line can be found when a message needs it (see `lines`).
    """

    path: Path
    studies: Sequence[Study]
    problems: tuple[Problem, ...]
    indices: Sequence[int] = ()
    ids: frozenset[str] = frozenset()

    def names(self) -> tuple[Sequence[str], Iterable[str]]:
        """The studies' ids in order, and every id they overlap: all the cross-file rules read.

        Read from the cache's index when the studies are views, so none has to be built.
        """
        from stemrenal.views import CachedFile

        lazy: object = self.studies  # typed as studies; may be the cache's view of them
        if isinstance(lazy, CachedFile):
            return lazy.ids, lazy.overlapped()
        return [s.id for s in self.studies], (o for s in self.studies for o in s.overlaps)

    def lines(self) -> tuple[int | None, ...]:
        """The line of each valid study, read from the file again.

        Only messages that span files need these, and locating every key of a large file
        costs more than parsing it, so they are found on demand rather than on every load.
        """
        from stemrenal.locate import Locator

        text, _ = _read_text(self.path)
        locator = Locator(text or "")
        return tuple(locator.line(index, ()) for index in self.indices)


def read_file(path: Path, *, views: bool = False) -> FileResult:
    """Parse and validate one registry file; every failure becomes a Problem.

    A clean file is kept in the validated-registry cache (`stemrenal.cache`) and read from
    there while its content is unchanged; a file with problems is checked afresh every time.
    With `views`, a cached file comes back as `views.CachedStudy` stand-ins, which answer
    like a `Study` but are read without Pydantic (what the query commands use).
    """
    entry = registry_cache.entry(path)
    if entry is not None:
        if views:
            lazy = registry_cache.load_views(entry)
            if lazy is not None:
                # The views answer every attribute a Study has (tests/test_views.py): read as one.
                studies = cast("Sequence[Study]", lazy)
                return FileResult(path, studies, (), range(len(lazy)), frozenset(lazy.ids))
        else:
            cached = registry_cache.load(entry)
            if cached is not None:
                ids = frozenset(study.id for study in cached)
                return FileResult(path, cached, (), tuple(range(len(cached))), ids)
    name = str(path)
    raw, problem = _read_bytes(path)
    if problem is not None:
        return FileResult(path, (), (problem,))
    text, problem = _decode(name, raw)
    if problem is not None:
        return FileResult(path, (), (problem,))
    data, problem = _parse(name, text)
    if problem is not None:
        return FileResult(path, (), (problem,))
    result = _validate(name, text, data)
    if entry is not None and not result.problems:
        registry_cache.store(entry, result.studies, raw)
    return result


def _read_text(path: Path) -> tuple[str | None, Problem | None]:
    raw, problem = _read_bytes(path)
    if problem is not None:
        return None, problem
    text, problem = _decode(str(path), raw)
    return (None if problem else text), problem


def _read_bytes(path: Path) -> tuple[bytes, Problem | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        return b"", Problem(str(path), None, None, None, message)


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

    try:
        return tomli.loads(text), None
    except tomli.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        return {}, Problem(name, line, None, None, f"invalid TOML: {message}")
    except RecursionError:
        return {}, Problem(name, None, None, None, "invalid TOML: nested too deeply")


def _validate(name: str, text: str, data: dict[str, Any]) -> FileResult:
    from pydantic import ValidationError

    from stemrenal.models import Study

    @cache
    def locator() -> Locator:
        """Only a file with problems needs line numbers; a clean one never pays for them."""
        from stemrenal.locate import Locator

        return Locator(text)

    problems = [
        Problem(name, locator().key_line((key,)), None, key, "unknown top-level key; use [[study]]")
        for key in data
        if key != "study"
    ]
    tables = data.get("study")
    if not isinstance(tables, list) or not tables:
        message = (
            "no [[study]] tables found" if tables is None else "`study` must be [[study]] tables"
        )
        return FileResult(Path(name), (), (*problems, Problem(name, None, None, None, message)))
    ids = frozenset(t["id"] for t in tables if isinstance(t, dict) and isinstance(t.get("id"), str))
    studies: list[Study] = []
    indices: list[int] = []
    for index, table in enumerate(tables):
        tables[index] = None  # let each parsed table go once validated: halves peak memory
        try:
            studies.append(Study.model_validate(table))
            indices.append(index)
        except ValidationError as exc:
            problems.extend(_explain(name, locator(), index, table, exc))
    return FileResult(Path(name), tuple(studies), tuple(problems), tuple(indices), ids)


def _explain(
    name: str, locator: Locator, index: int, table: object, exc: ValidationError
) -> Iterable[Problem]:
    raw_id = table.get("id") if isinstance(table, dict) else None
    study = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        if not loc and "field" in ctx:
            loc = (str(ctx["field"]),)
        line = locator.line(index, loc)
        yield Problem(name, line, study, _dotted(loc) or "(study)", _message(error))


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key (not part of the registry format)",
}


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return str(_MESSAGES[kind])
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind in {"string_pattern_mismatch", "literal_error"}:
        message += f" (got {quoted(error.get('input'))})"
    return message


def check(
    paths: Sequence[str | os.PathLike[str]] = (), *, views: bool = False
) -> tuple[Sequence[Study], list[Problem]]:
    """Every valid study and every problem in the registry; nothing is raised.

    A tuple of `Study` models; with `views`, a lazy sequence in which the studies of cached
    files are read-only stand-ins, built when read (see `read_file`).
    """
    files, problems = sources(paths)
    with _long_lived():
        results = [read_file(path, views=views) for path in files]
        known: set[str] = set()
        for result in results:
            problems.extend(result.problems)
            known |= result.ids
        if not _consistent(results, known):  # rare: check study by study, with lines
            origins = [
                (s, str(r.path), line)
                for r in results
                for s, line in zip(r.studies, r.lines(), strict=True)
            ]
            problems.extend(cross_check(origins, known))
    if not views:
        return tuple(study for result in results for study in result.studies), problems
    from stemrenal.views import Chain

    parts = [result.studies for result in results if result.studies]
    return (parts[0] if len(parts) == 1 else Chain(parts)), problems


def _consistent(results: Sequence[FileResult], known: set[str]) -> bool:
    """True when `cross_check` would find nothing: ids unique, every overlap a known study.

    Reads ids alone, so a warm run never builds a study just to check it.
    """
    ids: list[str] = []
    overlapped: list[str] = []
    for result in results:
        names, others = result.names()
        ids.extend(names)
        overlapped.extend(others)
    unique = set(ids)
    return len(unique) == len(ids) and all(o in unique or o in known for o in overlapped)


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """Load without the cyclic garbage collector, then hand what was made to its oldest
    generation unscanned.

    Loading makes millions of small objects, none of them garbage, that live as long as the
    registry. Collected as young objects they are rescanned again and again: that more than
    doubled the time to load 10,000 studies, and a pause alone only moves the rescans to
    later. freeze() then unfreeze() promotes them without a scan (skipped when the program
    freezes objects itself, so its frozen ones stay frozen).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def cross_check(
    origins: Sequence[tuple[Study, str, int | None]], known: set[str] | frozenset[str] = frozenset()
) -> list[Problem]:
    """Rules that span studies and files: unique ids, overlaps that name real studies.

    `known` holds ids of studies that failed validation, so an overlap naming one of them
    is not reported twice.
    """
    first: dict[str, tuple[str, int | None]] = {}
    problems: list[Problem] = []
    for study, file, line in origins:
        if study.id in first:
            where = "{}:{}".format(*first[study.id])
            problems.append(
                Problem(file, line, study.id, "id", f"duplicate id; first used at {where}")
            )
        else:
            first[study.id] = (file, line)
    for study, file, line in origins:
        problems.extend(
            Problem(file, line, study.id, "overlaps", f"names unknown study {other!r}")
            for other in study.overlaps
            if other not in first and other not in known
        )
    return problems


def load(paths: Sequence[str | os.PathLike[str]] = (), *, views: bool = False) -> Sequence[Study]:
    """The registry's studies; RegistryError (with every problem) if any file is invalid.

    With `views`, studies of cached files are read-only stand-ins (see `read_file`).
    """
    studies, problems = check(paths, views=views)
    if problems:
        raise RegistryError(problems)
    return studies
