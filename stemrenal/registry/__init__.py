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
from typing import TYPE_CHECKING, Any, NamedTuple

from stemrenal import query
from stemrenal.errors import Problem, RegistryError, UsageProblem
from stemrenal.registry.read import FileResult, read_file
from stemrenal.registry.read import read_text as read_text  # for `fmt`: a file as registry text
from stemrenal.text import did_you_mean

if TYPE_CHECKING:
    from pathlib import Path

    from stemrenal.models import Certainty, Coverage, Excluded, Study, Trial
    from stemrenal.query import Filters

#: Environment variable naming registry files or directories, separated by os.pathsep.
ENV_VAR = "STEMRENAL_REGISTRY"


def without_cache() -> contextlib.AbstractContextManager[None]:
    """Within the block, neither read nor write the cache (the `--no-cache` option)."""
    from stemrenal.registry.cache import bypassed

    return bypassed()


def bundled_path() -> Path:
    """The registry shipped with stemrenal: a directory (studies, trials, exclusions, coverage).

    Two candidates, because hatchling's force-include reaches a wheel but not an editable
    install: the packaged directory in the package first, then the checkout's ``data/``.
    (Plain paths, not importlib.resources: it costs startup time and a zipped install could not
    be read as a path anyway.)
    """
    from pathlib import Path

    return Path(_bundled())


def _bundled() -> str:
    """`bundled_path` as text: the query path imports no pathlib (and with it urllib.parse)."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    packaged = os.path.join(package, "data")
    if os.path.isfile(os.path.join(packaged, "studies.toml")):
        return packaged
    return os.path.join(os.path.dirname(package), "data")


def sources(paths: Sequence[str | os.PathLike[str]] = ()) -> tuple[list[str], list[Problem]]:
    """Registry files to read: each path is a file or a directory of ``*.toml``.

    With no paths, the bundled registry. Problems (a missing path, an empty directory) are
    returned, not raised, so `validate` can report them beside the others. Files are named
    as given (a directory's joined to it), in the order of their path's parts.
    """
    if not paths:
        paths = [_bundled()]
    found: list[str] = []
    problems: list[Problem] = []
    for raw in paths:
        path = os.fspath(raw)
        directory = os.path.isdir(path)
        problems += _local_vocabulary(path if directory else os.path.dirname(path) or os.curdir)
        if directory:
            tomls, trouble = _walk(path)
            problems += trouble
            if not tomls and not trouble:
                problems.append(Problem(path, None, None, None, "no *.toml files in directory"))
            found.extend(tomls)
        elif os.path.exists(path):
            found.append(path)
        else:
            problems.append(Problem(path, None, None, None, "no such file or directory"))
    return found, problems


def _walk(root: str) -> tuple[list[str], list[Problem]]:
    """Every registry file below `root` (hidden directories and files skipped), and a problem
    for each that should be read and cannot: an unreadable directory, a dangling link, a FIFO
    or device. An entry that vanishes during the walk is simply gone."""
    found: list[str] = []
    problems: list[Problem] = []

    def unreadable(error: OSError) -> None:
        if not isinstance(error, FileNotFoundError):  # vanished mid-walk: nothing to report
            where = error.filename or root
            message = f"cannot read directory: {error.strerror or error}"
            problems.append(Problem(str(where), None, None, None, message))

    own_vocabulary = os.path.join(root, vocabulary_name())
    for directory, subdirectories, names in os.walk(root, onerror=unreadable):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or not name.endswith(".toml"):
                continue
            path = os.path.join(directory, name)
            if path == own_vocabulary:
                continue
            trouble = _not_readable(path)
            if trouble is None:
                found.append(path)
            elif trouble:
                problems.append(Problem(path, None, None, None, trouble))
    return sorted(found, key=lambda path: path.split(os.sep)), problems


def _not_readable(path: str) -> str | None:
    """Why a file found in a registry directory is not read ("" when it just vanished)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "dangling symbolic link" if os.path.islink(path) else ""
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, device or socket is not read)"
    return None


def vocabulary_name() -> str:
    from stemrenal.vocabulary import LOCAL_NAME

    return LOCAL_NAME


_EXTENDED: set[str] = set()


def _local_vocabulary(directory: str) -> list[Problem]:
    """A `vocabulary.toml` beside the registry adds its terms (once per process); the cache
    is bypassed for such a registry, as its validity depends on that file too."""
    path = os.path.join(directory, vocabulary_name())
    if not os.path.isfile(path):
        return []
    resolved = os.path.realpath(path)
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    if resolved in _EXTENDED or resolved == os.path.join(package, "vocabulary.toml"):
        return []
    from stemrenal import vocabulary
    from stemrenal.registry.cache import bypass

    _EXTENDED.add(resolved)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as exc:
        return [
            Problem(
                str(path),
                None,
                None,
                None,
                f"cannot read file: {exc.strerror or exc}",
                "vocabulary",
            )
        ]
    bypass()
    return [
        Problem(path, None, None, None, message, "vocabulary")
        for message in vocabulary.extend(text)
    ]


class Registry:
    """A loaded, valid registry: its studies (and registered trials, exclusions and coverage
    statement), and the questions commands ask of it."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        studies: Sequence[Study],
        trials: Sequence[Trial] = (),
        excluded: Sequence[Excluded] = (),
        coverage: Coverage | None = None,
        certainties: Sequence[Certainty] = (),
    ) -> None:
        self.paths = tuple(paths)
        self.studies = studies
        self.trials = trials
        self.excluded = excluded
        self.coverage = coverage
        self.certainties = certainties

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
        if sort is None and limit is not None:  # registry order: stop at the limit
            import itertools

            passing = (s for s in candidates if query.matches(s, filters))
            chosen = tuple(itertools.islice(passing, limit))
        else:
            chosen = query.order(query.select(candidates, filters), sort)
            if limit is not None:
                chosen = chosen[:limit]
        read_together(chosen)
        return chosen

    def summary(self, filters: Filters | None = None) -> query.Summary:
        """`query.summarise` of the studies that pass the filters. Without filters, when one
        cached file holds every study, the summary stored when it was cached (by the same
        function, under a key that covers its code; only for a file consistent alone) is
        read instead of built from every study again."""
        from stemrenal.registry.cached import CachedFile

        filters = query.Filters() if filters is None else filters
        lazy: object = self.studies  # typed as studies; may be the cache's view of them
        if filters == query.Filters() and isinstance(lazy, CachedFile):
            stored = lazy.summary()
            if stored is not None:
                return stored
        return query.summarise(self.select(filters))

    def get(self, study_id: str) -> Study:
        """The study a reader names: its id (any letter case, or a unique prefix), its PMID,
        its DOI (bare, `doi:` or a doi.org address) or a registration id. UsageProblem lists
        the candidates of an ambiguous prefix, or suggests the closest ids."""
        wanted = study_id.strip()
        for study in self.studies:  # the common case, without reading any record
            if study.id == wanted:
                return study
        folded = wanted.casefold()
        exact = [s for s in self.studies if s.id.casefold() == folded]
        if exact:
            return exact[0]
        found = _by_identifier(self.studies, wanted)
        if len(found) == 1:
            return found[0]
        if not found:
            found = [s for s in self.studies if s.id.casefold().startswith(folded)]
            if len(found) == 1:
                return found[0]
        if len(found) > 1:
            names = ", ".join(s.id for s in found[:10]) + (", ..." if len(found) > 10 else "")
            raise UsageProblem(
                f"{study_id!r} matches {len(found)} studies: {names}; give more of the id",
                option="ID",
            )
        import difflib  # only a miss needs suggestions

        known = [s.id for s in self.studies]
        close = difflib.get_close_matches(study_id, known, n=3, cutoff=0.4)
        close += [i for i in known if study_id and study_id in i and i not in close]
        raise UsageProblem(f"no study with id {study_id!r}.{did_you_mean(close[:3])}", option="ID")

    def refuse_target(self, target: str | None) -> None:
        """Query commands never write the registry, not even when asked to by a slip of `-o`."""
        if target is None or target == "-":
            return
        from pathlib import Path  # only when writing a file (-o)

        out = Path(target).resolve()
        for raw in self.paths or [_bundled()]:
            source = Path(raw).resolve()
            inside = source.is_dir() and out.suffix == ".toml" and source in out.parents
            if out == source or inside:
                raise UsageProblem(
                    f"{target} is part of the registry being read; choose another output file",
                    option="--output",
                )


def forget_cache_read() -> None:
    """A new command begins: `blame_cache` looks at what it reads, not at earlier commands'."""
    from stemrenal.registry.cached import forget_opened

    forget_opened()


def blame_cache() -> bool:
    """Whether a cached record this run read is invalid (then the entries read are removed):
    asked when a command failed on a value of the wrong shape. See `cache.blame`."""
    from stemrenal.registry.cache import blame

    return blame()


def batches(studies: Sequence[Study]) -> Iterator[Sequence[Study]]:
    """The studies a few hundred at a time, each batch's cached records read together and
    let go of after: what streaming output iterates (see `cached.batches`)."""
    from stemrenal.registry.cached import batches as in_batches

    return in_batches(studies)


def json_records(studies: Sequence[Study]) -> Iterator[Any]:
    """Each study's record for JSON output, in order: the cache's own serialised text where it
    holds the study (`text.JSONText`), else the model's plain data; read a batch at a time,
    so an export of every study keeps few of them in memory."""
    from stemrenal.registry.cached import record_texts
    from stemrenal.text import JSONText

    for study, text in zip(studies, record_texts(studies), strict=True):
        yield JSONText(text) if text is not None else study.model_dump(mode="json")


_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")


def _by_identifier(studies: Sequence[Study], wanted: str) -> list[Study]:
    """Studies whose PMID, DOI or registration id is `wanted` (DOIs compare case-blind)."""
    text = wanted
    for prefix in _DOI_PREFIXES:
        if text.casefold().startswith(prefix):
            text = text[len(prefix) :]
    text = text.strip().rstrip("/")
    if text.isdigit():
        return [s for s in studies if s.citation.pmid == text]
    if text.startswith("10."):
        return [
            s for s in studies if s.citation.doi and s.citation.doi.casefold() == text.casefold()
        ]
    upper = text.upper()
    if any(ch.isdigit() for ch in upper) and len(upper) >= 6:
        return [s for s in studies if upper in (r.upper() for r in s.registrations)]
    return []


def open_registry(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    lazy: bool = False,
    target: str | None = None,
    kinds: Sequence[str] = (),
) -> Registry:
    """The registry at `paths` (else the bundled one); RegistryError with every problem.

    `target` is the output file the command will write: refused first if it is part of the
    registry. With `lazy`, studies of cached files are read-only stand-ins built when read.
    `kinds` limits the records read and validated (`read.KINDS`; all when empty).
    """
    if target is not None:
        Registry(paths, ()).refuse_target(target)
    found = inspect(paths, lazy=lazy, kinds=kinds)
    if found.problems:
        raise RegistryError(found.problems)
    return Registry(
        paths, found.studies, found.trials, found.excluded, found.coverage, found.certainties
    )


class Inspection(NamedTuple):
    """What checking a registry found: the valid records, every problem, the files read."""

    studies: Sequence[Study]
    problems: list[Problem]
    files: list[str]
    trials: tuple[Trial, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    coverage: Coverage | None = None
    certainties: tuple[Certainty, ...] = ()


def check(
    paths: Sequence[str | os.PathLike[str]] = (), *, lazy: bool = False
) -> tuple[Sequence[Study], list[Problem]]:
    """Every valid study and every problem in the registry; nothing is raised.

    A tuple of `Study` models; with `lazy`, a sequence in which the studies of cached files
    are read-only stand-ins, built when read (see `read.read_file`).
    """
    found = inspect(paths, lazy=lazy)
    return found.studies, found.problems


def inspect(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    lazy: bool = False,
    kinds: Sequence[str] = (),
) -> Inspection:
    """`check`, and the files it read (what `validate` reports); `kinds` as `open_registry`."""
    files, problems = sources(paths)
    with _long_lived():
        results = [read_file(path, lazy=lazy, kinds=kinds) for path in files]
        for result in results:
            problems.extend(result.problems)
        if not _consistent(results):  # rare: check study by study, with lines
            known = _known(results)
            origins = [
                (s, str(r.path), line)
                for r in results
                for s, line in zip(r.studies, r.lines(), strict=True)
            ]
            at_overlaps = {
                s.id: line
                for r in results
                for s, line in zip(r.studies, r.lines(("overlaps",)), strict=True)
            }
            problems.extend(cross_check(origins, known, at_overlaps))
        trials = tuple(t for result in results for t in result.trials)
        excluded = tuple(e for result in results for e in result.excluded)
        certainties = tuple(c for result in results for c in result.certainties)
        statements = [(r.path, r.coverage) for r in results if r.coverage is not None]
        if trials or excluded or certainties or len(statements) > 1:
            problems.extend(_other_records(results, _known(results)))
    coverage = statements[0][1] if statements else None
    others = (trials, excluded, coverage, certainties)
    if not lazy:
        studies = tuple(study for result in results for study in result.studies)
        return Inspection(studies, problems, files, *others)
    from stemrenal.registry.cached import chain

    studies_lazy = chain([result.studies for result in results])
    return Inspection(studies_lazy, problems, files, *others)


def strict_problems(found: Inspection) -> list[Problem]:
    """`validate --strict`: the content rules and overlap warnings, at each study's line."""
    import re

    from stemrenal.registry import strict

    where: dict[str, tuple[str, int | None]] = {}
    pattern = re.compile(r'^\s*id\s*=\s*"([^"]+)"')
    for path in found.files:
        try:
            with open(path, encoding="utf-8-sig") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        in_study = False
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped.startswith("["):
                in_study = stripped == "[[study]]"
            match = pattern.match(line)
            if in_study and match:
                where.setdefault(match.group(1), (str(path), number))
    return strict.check(list(found.studies), where)


def _other_records(results: Sequence[FileResult], known: set[str]) -> list[Problem]:
    """Rules across trials, exclusions and studies: unique ids, a trial's publication is a
    study that names the trial among its registrations, one coverage statement."""
    problems = _unique_records(results)
    named = {study_id for r in results for trial in r.trials for study_id in trial.published_as}
    registrations: dict[str, set[str]] = {}
    for result in results if named else ():
        for study in result.studies:
            if study.id in named:  # only these records are read
                registrations[study.id] = set(study.registrations)
    for result in results:
        for trial in result.trials:
            for study_id in trial.published_as:
                if study_id not in known:
                    message = f"names unknown study {study_id!r}"
                elif trial.id not in registrations.get(study_id, set()):
                    message = f"study {study_id!r} does not list {trial.id} in its registrations"
                else:
                    continue
                problems.append(
                    Problem(str(result.path), None, trial.id, "published_as", message, "trial")
                )
    problems.extend(_certainty_studies(results, known))
    statements = [r.path for r in results if r.coverage is not None]
    problems.extend(
        Problem(str(p), None, None, "coverage", f"a second statement (first in {statements[0]})")
        for p in statements[1:]
    )
    return problems


def _certainty_studies(results: Sequence[FileResult], known: set[str]) -> list[Problem]:
    """A certainty record judges real studies: each exists, has the disease and reports the
    endpoint (read from facets, so a warm run builds no study for it)."""
    facets = {s.id: s.facets for r in results for s in r.studies}
    problems: list[Problem] = []
    for result in results:
        for record in result.certainties:
            for study_id in record.studies:
                v = facets.get(study_id)
                if v is None:
                    message = (
                        f"names unknown study {study_id!r}"
                        if study_id not in known
                        else f"study {study_id!r} is not valid"
                    )
                elif record.disease not in v.conditions:
                    message = f"study {study_id!r} is not about {record.disease}"
                elif record.endpoint not in v.endpoints:
                    message = f"study {study_id!r} reports no {record.endpoint} outcome"
                else:
                    continue
                path = str(result.path)
                problems.append(Problem(path, None, record.id, "studies", message, "certainty"))
    return problems


def _unique_records(results: Sequence[FileResult]) -> list[Problem]:
    """Trial, exclusion and certainty ids are unique within their kind."""
    problems: list[Problem] = []
    for kind, records in (
        ("trial", [(r.path, t) for r in results for t in r.trials]),
        ("excluded", [(r.path, e) for r in results for e in r.excluded]),
        ("certainty", [(r.path, c) for r in results for c in r.certainties]),
    ):
        seen: set[str] = set()
        for path, record in records:
            if record.id in seen:
                problems.append(Problem(str(path), None, record.id, "id", "duplicate id", kind))
            seen.add(record.id)
    return problems


def _known(results: Sequence[FileResult]) -> set[str]:
    """Every study id in the files, valid or not: an overlap or a record naming a study that
    failed validation is not reported twice."""
    return set().union(*(result.all_ids() for result in results))


def _consistent(results: Sequence[FileResult]) -> bool:
    """True when `cross_check` would find nothing: ids unique, every overlap a known study.

    Reads ids alone, so a warm run never builds a study just to check it, and none at all
    when one cached file holds every study and is consistent alone (`CachedFile.alone`).
    """
    from stemrenal.registry.cached import CachedFile

    holding: list[object] = [result.studies for result in results if result.studies]
    if len(holding) == 1 and isinstance(holding[0], CachedFile) and holding[0].alone:
        return True  # typed as studies above; may be the cache's view of them
    ids: list[str] = []
    overlapped: list[str] = []
    for result in results:
        names, others = result.names()
        ids.extend(names)
        overlapped.extend(others)
    unique = set(ids)
    if len(unique) != len(ids):
        return False
    known: set[str] | None = None
    for other in overlapped:
        if other not in unique:
            known = _known(results) if known is None else known
            if other not in known:
                return False
    return True


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
    origins: Sequence[tuple[Study, str, int | None]],
    known: set[str] | frozenset[str] = frozenset(),
    at_overlaps: dict[str, int | None] | None = None,
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
        at = (at_overlaps or {}).get(study.id) or line  # the overlaps key's own line
        problems.extend(
            Problem(file, at, study.id, "overlaps", f"names unknown study {other!r}")
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
