"""The registry: find its files, read them (through the cache), check them, answer queries.

`open` gives a `Registry`, whose `select` and `get` are all the query commands need; `check`
gives every study and every problem, for `validate` and the library. Nothing outside this
package knows that a cache exists: its stand-ins (`cached.CachedStudy`) come back as studies.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from stemrenal import query
from stemrenal.errors import Problem, RegistryError, UsageProblem
from stemrenal.registry.read import FileResult, read_file
from stemrenal.text import did_you_mean

if TYPE_CHECKING:
    from stemrenal.models import Study
    from stemrenal.query import Filters

#: Environment variable naming registry files or directories, separated by os.pathsep.
ENV_VAR = "STEMRENAL_REGISTRY"


def without_cache() -> contextlib.AbstractContextManager[None]:
    """Within the block, neither read nor write the cache (the `--no-cache` option)."""
    from stemrenal.registry.cache import bypassed

    return bypassed()


def bundled_path() -> Path:
    """The registry shipped with stemrenal.

    Two candidates, because hatchling's force-include reaches a wheel but not an editable
    install: the packaged file in the package first, then the checkout's
    ``data/studies.toml``. (Plain paths, not importlib.resources: it costs startup time and a
    zipped install could not be read as a path anyway.)
    """
    package = Path(__file__).resolve().parent.parent
    packaged = package / "data" / "studies.toml"
    if packaged.is_file():
        return packaged
    return package.parent / "data" / "studies.toml"


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


class Registry:
    """A loaded, valid registry: its studies, and the two questions commands ask of it."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], studies: Sequence[Study]) -> None:
        self.paths = tuple(paths)
        self.studies = studies

    def __len__(self) -> int:
        return len(self.studies)

    def select(
        self, filters: Filters, sort: str | None = None, limit: int | None = None
    ) -> tuple[Study, ...]:
        """The studies that pass the filters, ordered by `sort`, at most `limit` of them.

        Cached files first narrow themselves by their term index, so studies that hold no
        wanted term are never built; `query.select` decides. The studies returned are what a
        command prints: cached ones then parse their records together when first read.
        """
        from stemrenal.registry.cached import narrow, read_together

        candidates = narrow(self.studies, query.wanted_terms(filters))
        chosen = query.order(query.select(candidates, filters), sort)
        if limit is not None:
            chosen = chosen[:limit]
        read_together(chosen)
        return chosen

    def get(self, study_id: str) -> Study:
        """The study with this id; UsageProblem suggests the closest ids."""
        for study in self.studies:
            if study.id == study_id:
                return study
        import difflib  # only a miss needs suggestions

        known = [s.id for s in self.studies]
        close = difflib.get_close_matches(study_id, known, n=3, cutoff=0.4)
        close += [i for i in known if study_id and study_id in i and i not in close]
        raise UsageProblem(f"no study with id {study_id!r}.{did_you_mean(close[:3])}", option="ID")

    def refuse_target(self, target: str | None) -> None:
        """Query commands never write the registry, not even when asked to by a slip of `-o`."""
        if target is None or target == "-":
            return
        out = Path(target).resolve()
        for raw in self.paths or [str(bundled_path())]:
            source = Path(raw).resolve()
            inside = source.is_dir() and out.suffix == ".toml" and source in out.parents
            if out == source or inside:
                raise UsageProblem(
                    f"{target} is part of the registry being read; choose another output file",
                    option="--output",
                )


def open_registry(
    paths: Sequence[str | os.PathLike[str]] = (), *, lazy: bool = False, target: str | None = None
) -> Registry:
    """The registry at `paths` (else the bundled one); RegistryError with every problem.

    `target` is the output file the command will write: refused first if it is part of the
    registry. With `lazy`, studies of cached files are read-only stand-ins built when read.
    """
    if target is not None:
        Registry(paths, ()).refuse_target(target)
    return Registry(paths, load(paths, lazy=lazy))


class Inspection(NamedTuple):
    """What checking a registry found: the valid studies, every problem, the files read."""

    studies: Sequence[Study]
    problems: list[Problem]
    files: list[Path]


def check(
    paths: Sequence[str | os.PathLike[str]] = (), *, lazy: bool = False
) -> tuple[Sequence[Study], list[Problem]]:
    """Every valid study and every problem in the registry; nothing is raised.

    A tuple of `Study` models; with `lazy`, a sequence in which the studies of cached files
    are read-only stand-ins, built when read (see `read.read_file`).
    """
    found = inspect(paths, lazy=lazy)
    return found.studies, found.problems


def inspect(paths: Sequence[str | os.PathLike[str]] = (), *, lazy: bool = False) -> Inspection:
    """`check`, and the files it read (what `validate` reports)."""
    files, problems = sources(paths)
    with _long_lived():
        results = [read_file(path, lazy=lazy) for path in files]
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
    if not lazy:
        studies = tuple(study for result in results for study in result.studies)
        return Inspection(studies, problems, files)
    from stemrenal.registry.cached import chain

    return Inspection(chain([result.studies for result in results]), problems, files)


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


def load(paths: Sequence[str | os.PathLike[str]] = (), *, lazy: bool = False) -> Sequence[Study]:
    """The registry's studies; RegistryError (with every problem) if any file is invalid.

    With `lazy`, studies of cached files are read-only stand-ins (see `read.read_file`).
    """
    studies, problems = check(paths, lazy=lazy)
    if problems:
        raise RegistryError(problems)
    return studies
