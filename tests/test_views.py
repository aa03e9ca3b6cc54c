"""The cache's read-only views: they answer as `Study` does, every command prints the same
through them, a warm query reads only the records it prints and never imports Pydantic.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from stemrenal import appraisal, query, registry, vocabulary
from stemrenal.cli import cli
from stemrenal.models import Study
from stemrenal.registry import cache
from stemrenal.registry import cached as views

from helpers import MINIMAL, SEED
from strategies import HOSTILE, registries, registry_file

TIMEOUT = 60
SECOND = MINIMAL.replace('id = "doe-2020-ckd"', 'id = "roe-2021-aki"')


def public_names(cls: type[BaseModel]) -> list[str]:
    """Everything a model answers: fields, computed fields and public properties.

    Read from the model class, so a field or property added later is checked too.
    """
    names = [*cls.model_fields, *cls.model_computed_fields]
    for klass in cls.__mro__:
        names += [
            name
            for name, value in vars(klass).items()
            if isinstance(value, (property, cached_property))
            and not name.startswith("_")
            and name not in names
            and not hasattr(BaseModel, name)
        ]
    return names


def same(real: Any, view: Any, where: str) -> None:
    """`view` answers as `real` does, down to the types of the values."""
    if isinstance(real, BaseModel):
        for name in public_names(type(real)):
            same(getattr(real, name), getattr(view, name), f"{where}.{name}")
        assert view.model_dump() == real.model_dump(), where
    elif isinstance(real, (list, tuple)):
        assert isinstance(view, (type(real), list)), where
        assert len(view) == len(real), where
        for i, (a, b) in enumerate(zip(real, view, strict=True)):
            same(a, b, f"{where}[{i}]")
    else:
        assert (type(view), view) == (type(real), real), where


def models_and_views(paths: list[Path]) -> tuple[tuple[Study, ...], tuple[Study, ...]]:
    with cache.bypassed():
        models, problems = registry.check(paths)
    assert problems == []
    registry.check(paths)  # fills the cache
    cached, problems = registry.check(paths, lazy=True)
    assert problems == []
    assert all(isinstance(s, views.CachedStudy) for s in cached)
    return models, cached


@pytest.mark.parametrize("paths", [[SEED], []], ids=["seed", "bundled"])
def test_a_view_answers_every_attribute_a_study_has(paths: list[Path]) -> None:
    models, cached = models_and_views(paths)
    assert len(models) == len(cached) > 0
    for model, view in zip(models, cached, strict=True):
        same(model, view, model.id)
        assert view.model_dump(mode="json") == model.model_dump(mode="json")
        assert view.intervention.model_dump() == model.intervention.model_dump()


def test_the_walk_sees_properties_and_computed_fields() -> None:
    """The comparison above is only as good as its list of names: it must include these."""
    names = public_names(Study)
    assert {"id", "citation", "follow_up_months", "cell_free", "facets"} <= set(names)


@settings(max_examples=30, deadline=None)
@given(studies=registries(HOSTILE))
def test_generated_studies_read_the_same_through_views(studies: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        models, cached = models_and_views([registry_file(tmp, studies)])
        for model, view in zip(models, cached, strict=True):
            same(model, view, model.id)


# ----------------------------------------------------------------------------- every command


COMMANDS = [
    ["list", "--format", "csv"],
    ["list", "--format", "json"],
    ["list", "--format", "markdown", "--sort", "-n"],
    ["list", "--format", "tsv", "--columns", "study,arms,cells,evidence,sources,countries"],
    ["list", "--format", "jsonl", "--search", "placebo", "--exclude-cell-free"],
    ["list", "--format", "csv", "--min-followup", "12 months", "--since", "2015", "--min-n", "20"],
    ["outcomes", "--format", "csv", "--endpoint", "egfr"],
    ["outcomes", "--format", "json", "--sort", "year"],
    ["outcomes", "--format", "table", "--disease", "lupus"],
    ["summary", "--format", "csv"],
    ["summary", "--format", "json", "--design", "rct"],
    ["show", "deng-2017-lupus-nephritis"],
    ["show", "deng-2017-lupus-nephritis", "--format", "json"],
    ["show", "deng-2017-lupus-nephritis", "--format", "markdown"],
    ["cite"],
    ["cite", "--style", "bibtex"],
    ["cite", "--style", "ris", "--disease", "kidney-transplant"],
    ["cite", "--style", "csl-json"],
    ["validate"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_every_command_prints_the_same_from_views(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    def invoke(*extra: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, [*extra, *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    fresh = invoke("--no-cache")
    assert fresh[0] == 0, fresh[2]
    assert invoke() == fresh  # cold: validates and writes the cache
    read: list[views.CachedFile | None] = []
    real = cache.load_views

    def counting(where: cache.Entry, wanted: Any = ("study",)) -> views.CachedFile | None:
        read.append(real(where, wanted))
        return read[-1]

    monkeypatch.setattr(cache, "load_views", counting)
    assert invoke() == fresh  # warm: through the views
    assert read, "the warm run did not look in the cache"
    # the studies file hits; the trial, exclusion and coverage files hit (as holding no
    # studies) for a command that reads studies alone, and are parsed for one that reads them
    assert any(r for r in read), "the warm run missed the cache"


def test_a_warm_filter_reads_only_the_records_it_prints(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["list", "--disease", "lupus-nephritis", "--format", "csv", "--columns", "id"]
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    total = len(registry.load())
    parsed: list[str] = []
    decodes: list[str] = []
    real_fill, real_parse = views.CachedStudy._fill, views.CachedStudy._parse

    def filling(self: views.CachedStudy, record: object, *, light: bool = False) -> None:
        parsed.append(self.id)
        real_fill(self, record, light=light)

    def parsing(self: views.CachedStudy, hook: Any, column: str = "record") -> Any:
        decodes.append(self.id)
        return real_parse(self, hook, column)

    monkeypatch.setattr(views.CachedStudy, "_fill", filling)
    monkeypatch.setattr(views.CachedStudy, "_parse", parsing)
    result = runner.invoke(cli, args, catch_exceptions=False)
    printed = result.stdout.splitlines()[1:]
    assert 1 < len(printed) < total
    assert parsed == []  # the id and the filters come from the index alone
    result = runner.invoke(cli, [*args[:-1], "id,citation"], catch_exceptions=False)
    assert [line.split(",", 1)[0] for line in result.stdout.splitlines()[1:]] == printed
    assert sorted(parsed) == sorted(printed)
    assert decodes == []  # read together: one decode for all, none study by study
    parsed.clear()
    runner.invoke(cli, [*args[:-1], "id,citation", "--limit", "1"], catch_exceptions=False)
    assert parsed == printed[:1]  # what is left out by --limit is never parsed


@pytest.mark.parametrize("command", ["list", "outcomes"])
@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "markdown"])
def test_default_tables_read_only_the_light_records(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: str, fmt: str
) -> None:
    """The default columns of every table format read `LIGHT` fields alone, so a table
    parses the light records (half the text); a column outside them reads whole records."""
    args = ["--registry", str(SEED), command, "--format", fmt]
    expected = runner.invoke(cli, ["--no-cache", *args], env={"COLUMNS": "120"}).stdout
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    read: list[str] = []
    real_parse = views.CachedStudy._parse

    def parsing(self: views.CachedStudy, hook: Any, column: str = "record") -> Any:
        read.append(column)
        return real_parse(self, hook, column)

    real_together = views._parse_together

    def together(studies: list[views.CachedStudy], light: bool = False) -> None:
        read.append("light" if light else "record")
        real_together(studies, light)

    monkeypatch.setattr(views.CachedStudy, "_parse", parsing)
    monkeypatch.setattr(views, "_parse_together", together)
    warm = runner.invoke(cli, args, env={"COLUMNS": "120"}, catch_exceptions=False)
    assert warm.stdout == expected
    assert read
    assert set(read) == {"light"}
    if command == "list":  # outcomes has no column outside them
        read.clear()
        runner.invoke(cli, [*args, "--columns", "id,title"], catch_exceptions=False)
        assert "record" in read


def test_a_warm_query_on_one_consistent_file_reads_no_id_it_does_not_print(
    runner: CliRunner, write_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading every id was whole-file work on every query; the cross-file checks need the
    ids only when another file holds studies, or when this one is not consistent alone."""
    monkeypatch.setattr(views, "_READ_WHOLE", 0)  # a large file: read as it is used
    other = MINIMAL.replace('"chronic-kidney-disease"', '"lupus-nephritis"')
    body = MINIMAL + other.replace('"doe-2020-ckd"', '"roe-2021-ln"')
    path = write_registry(body)
    read: list[int] = []
    real = views.CachedFile._read_ids

    def reading(self: views.CachedFile, connection: sqlite3.Connection) -> None:
        read.append(len(self))
        real(self, connection)

    monkeypatch.setattr(views.CachedFile, "_read_ids", reading)
    args = ["--registry", str(path), "list", "--disease", "lupus-nephritis", "--format", "csv"]
    cold = runner.invoke(cli, ["--no-cache", *args]).stdout
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    read.clear()
    assert runner.invoke(cli, args, catch_exceptions=False).stdout == cold
    assert read == []
    second = write_registry(SECOND, "second.toml")  # another file holding studies: read them
    both = ["--registry", str(path), "--registry", str(second), *args[2:]]
    runner.invoke(cli, both, catch_exceptions=False)
    read.clear()
    assert runner.invoke(cli, both, catch_exceptions=False).stdout == cold
    assert sorted(read) == [1, 2]


def test_an_overlap_naming_no_study_is_reported_warm_as_cold(
    runner: CliRunner, write_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "_READ_WHOLE", 0)
    text = MINIMAL.replace("enrolled = 10", 'enrolled = 10\noverlaps = ["nobody-1999-x"]')
    path = write_registry(text + SECOND)
    args = ["--registry", str(path), "list", "--format", "csv"]
    cold = runner.invoke(cli, ["--no-cache", *args])
    assert cold.exit_code == 1
    assert "names unknown study 'nobody-1999-x'" in cold.stderr
    for _ in range(2):  # the first run caches the file, the second reads it
        warm = runner.invoke(cli, args)
        assert (warm.exit_code, warm.stderr) == (1, cold.stderr)
    assert _database().is_file()  # cached: the problem is one of the cross-file checks


def test_the_light_fields_are_fields_of_a_study() -> None:
    assert set(views.LIGHT) <= set(public_names(Study))
    assert len(views.LIGHT) == len(set(views.LIGHT))


# ----------------------------------------------------------------------------- the term index


def _terms(kind: str) -> st.SearchStrategy[tuple[str, ...]]:
    """Terms of one vocabulary kind, plus one no study holds: the index must not invent rows."""
    known = sorted(vocabulary.ids(kind))
    return st.lists(st.sampled_from([*known, "no-such-term"]), max_size=3, unique=True).map(tuple)


FILTERS = st.builds(
    query.Filters,
    diseases=_terms("disease"),
    cell_sources=_terms("cell-source"),
    cell_types=_terms("cell-type"),
    tissues=_terms("tissue"),
    endpoints=_terms("endpoint"),
    designs=_terms("design"),
    min_followup=st.none() | st.sampled_from([1.0, 6.0, 12.0, 36.0]),
    min_n=st.none() | st.integers(0, 100),
    since=st.none() | st.integers(2005, 2025),
    exclude_cell_free=st.booleans(),
    comparators=_terms("comparator"),
    transplant_settings=_terms("transplant-setting"),
    cell_classes=_terms("cell-class"),
    ckd_stages=st.lists(st.integers(1, 5), max_size=2, unique=True).map(tuple),
    dialysis=st.booleans(),
    refractory=st.booleans(),
    primary=st.booleans(),
    comparisons=st.lists(
        st.sampled_from(["between-groups", "within-group"]), max_size=2, unique=True
    ).map(tuple),
    risk_of_bias=st.none() | st.sampled_from(sorted(appraisal.RANK)),
)


class Both(NamedTuple):
    """The same registry as models and as views; a short repr, since Hypothesis prints the
    arguments of every call (a full repr of the registry is hundreds of kilobytes)."""

    models: tuple[Study, ...]
    cached: Sequence[Study]

    def __repr__(self) -> str:
        return f"Both({len(self.models)} studies)"


@pytest.fixture(scope="module")
def bundled_both() -> Both:
    """The bundled and seed registries (two files) as models and through a filled cache.

    The views keep their cache database open, so they outlive its directory.
    """
    paths = [Path(registry.bundled_path()), SEED]
    with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", home)
        with cache.bypassed():
            models, _ = registry.check(paths)
        registry.check(paths)
        cached, _ = registry.check(paths, lazy=True)
    assert isinstance(cached, views.Chain)
    assert all(isinstance(part, views.CachedFile) for part in cached._parts)  # both files hit
    return Both(tuple(models), cached)


@settings(max_examples=200, deadline=None)
@given(filters=FILTERS)
def test_the_index_narrows_to_what_the_filters_select(
    bundled_both: Both, filters: query.Filters
) -> None:
    models, cached = bundled_both
    expected = [s.id for s in query.select(models, filters)]
    assert [s.id for s in query.select(cached, filters)] == expected
    candidates = [s.id for s in cached.narrow(query.wanted_terms(filters))]  # type: ignore[attr-defined]
    assert set(expected) <= set(candidates)
    assert candidates == [s.id for s in models if s.id in set(candidates)]  # registry order


def test_a_warm_filter_builds_views_of_the_studies_holding_its_terms_only(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["list", "--disease", "lupus-nephritis", "--design", "rct", "--format", "csv"]
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    models = registry.load()
    holding = [s.id for s in models if "lupus-nephritis" in s.conditions and s.design.kind == "rct"]
    built: list[str] = []
    real = views.CachedStudy.__init__

    def counting(self: views.CachedStudy, *a: Any) -> None:
        built.append(a[0])
        real(self, *a)

    monkeypatch.setattr(views.CachedStudy, "__init__", counting)
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert 0 < len(holding) < len(models)
    assert built == holding
    assert len(result.stdout.splitlines()) == len(holding) + 1


def test_a_cached_file_reads_as_a_sequence(write_registry: Callable[..., Path]) -> None:
    path = write_registry(MINIMAL + SECOND)
    registry.check([path])
    cached, _ = registry.check([path], lazy=True)
    assert isinstance(cached, views.CachedFile)
    assert (len(cached), cached.ids) == (2, ["doe-2020-ckd", "roe-2021-aki"])
    assert cached[-1] is cached[1]
    assert cached[1].id == "roe-2021-aki"
    assert [s.id for s in cached[::-1]] == ["roe-2021-aki", "doe-2020-ckd"]
    assert list(cached) == [cached[0], cached[1]]
    with pytest.raises(IndexError):
        cached[2]


def test_cross_file_problems_read_the_same_through_views(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    write_registry(MINIMAL, "reg/a.toml")
    folder = write_registry(MINIMAL, "reg/b.toml").parent
    args = ["--registry", str(folder), "list", "--format", "csv"]
    runner.invoke(cli, ["--registry", str(folder / "a.toml"), "list"])  # cache a.toml alone
    runner.invoke(cli, ["--registry", str(folder / "b.toml"), "list"])
    warm = runner.invoke(cli, args)
    fresh = runner.invoke(cli, ["--no-cache", *args])
    assert (warm.exit_code, warm.stderr) == (fresh.exit_code, fresh.stderr)
    assert warm.exit_code == 1
    assert f"{folder / 'b.toml'}:2: study doe-2020-ckd: id: duplicate id" in warm.stderr


# ----------------------------------------------------------------------------- damage


def _database() -> Path:
    [entry] = (Path(os.environ["XDG_CACHE_HOME"]) / "stemrenal").iterdir()
    return entry


def forge(old: str, new: str, column: str = "record") -> None:
    """Edit the one cache database's records, both whole and light (or its facets), and fix
    up their CRCs, as only a person would."""
    with sqlite3.connect(_database()) as db:
        for name in ("record", "light") if column == "record" else (column,):
            rows = db.execute(f"SELECT row, id, {name} FROM study").fetchall()
            assert name == "light" or any(old in text for _, _, text in rows)
            for row, study_id, text in rows:
                text = text.replace(old, new)
                covered = f"{study_id}\n{text}" if name == "facets" else text
                db.execute(
                    f"UPDATE study SET {name} = ?, {name}_crc = ? WHERE row = ?",
                    (text, zlib.crc32(covered.encode()), row),
                )
    db.close()


# ----------------------------------------------------------------------------- stored summary


def _no_view(*args: object) -> None:
    raise AssertionError("a study's view was built")


@pytest.mark.parametrize("registry_args", [[], ["--registry", str(SEED)]], ids=["bundled", "seed"])
def test_a_summary_without_filters_is_read_as_stored_and_builds_no_study(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, registry_args: list[str]
) -> None:
    """`summary` and `about` on one consistent cached file read the summary stored when it was
    cached (by `query.summarise` itself): the same output, and `summary` builds no study."""

    def run(*args: str) -> str:
        return runner.invoke(cli, [*registry_args, *args], catch_exceptions=False).stdout

    runs = [("summary", "--format", "json"), ("summary",), ("about", "--format", "json")]
    expected = [run("--no-cache", *args) for args in runs]
    run("list")  # fills the cache
    assert run(*runs[2]) == expected[2]  # about: its counts as stored
    monkeypatch.setattr(views.CachedFile, "_view", _no_view)
    assert [run(*args) for args in runs[:2]] == expected[:2]
    with pytest.raises(AssertionError, match="view was built"):  # a filter counts afresh
        run("summary", "--design", "rct")
    with monkeypatch.context() as patched:
        patched.setattr(views.CachedFile, "summary", lambda self: None)  # as if none stored
        with pytest.raises(AssertionError, match="view was built"):
            run(*runs[0])
    monkeypatch.undo()
    filtered = ("summary", "--design", "rct", "--format", "json")
    assert run(*filtered) == run("--no-cache", *filtered)


def test_a_summary_across_files_is_counted_not_read(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files, one study overlapping the other's: no file holds the whole registry, so the
    summary is counted from the studies, and the shared participants once."""
    (tmp_path / "a.toml").write_text(MINIMAL, encoding="utf-8")
    second = SECOND.replace("enrolled = 10", "enrolled = 25").replace("n = 10", "n = 25")
    second = second.replace("registrations = []", 'registrations = []\noverlaps = ["doe-2020-ckd"]')
    (tmp_path / "b.toml").write_text(second, encoding="utf-8")
    args = ["--registry", str(tmp_path), "summary", "--format", "json"]
    expected = runner.invoke(cli, ["--no-cache", *args], catch_exceptions=False).stdout
    assert json.loads(expected)["participants"] == 25
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    monkeypatch.setattr(views.CachedFile, "summary", _no_view)
    assert runner.invoke(cli, args, catch_exceptions=False).stdout == expected


def _forge_summary(text: str, crc: int) -> None:
    with sqlite3.connect(_database()) as db:
        db.execute("UPDATE meta SET summary = ?, summary_crc = ?", (text, crc))
    db.close()


def test_a_stored_summary_is_checked_like_every_cached_value(runner: CliRunner) -> None:
    """A flipped bit is a miss (the summary is counted afresh); a summary edited into the
    wrong shape, its CRC fixed up, ends in one line and the entry is dropped."""
    args = ["--registry", str(SEED), "summary", "--format", "json"]
    expected = runner.invoke(cli, ["--no-cache", *args], catch_exceptions=False).stdout
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    with sqlite3.connect(_database()) as db:
        ((stored, crc),) = db.execute("SELECT summary, summary_crc FROM meta").fetchall()
    db.close()
    assert json.loads(stored)["studies"] == 3
    _forge_summary(stored, crc ^ 1)
    assert runner.invoke(cli, args, catch_exceptions=False).stdout == expected
    forged = json.dumps({**json.loads(stored), "participants": "many"})
    runner.invoke(cli, args, catch_exceptions=False)  # cached again
    _forge_summary(forged, zlib.crc32(forged.encode()))
    result = runner.invoke(cli, args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: the cached copy of the registry's summary is damaged; run again with "
        "--no-cache, or delete the stemrenal cache directory\n"
    )
    assert runner.invoke(cli, args, catch_exceptions=False).stdout == expected


@pytest.fixture(params=["small", "large"])
def size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small cached file is read whole and checked at once; a large one value by value as
    it is used (made "large" here by lowering the threshold)."""
    if request.param == "large":
        monkeypatch.setattr(views, "_READ_WHOLE", 0)
    return str(request.param)


@pytest.mark.parametrize("body", [MINIMAL, MINIMAL + SECOND], ids=["alone", "read-together"])
def test_a_record_that_passes_the_checksum_but_not_json_is_one_clear_error(
    runner: CliRunner, write_registry: Callable[..., Path], body: str, size: str
) -> None:
    """Only deliberate editing can do this (the CRC catches accidents): still no traceback
    and no output, the message names the way out (and the study, also when its record is
    parsed together with others), and the next run reads the registry afresh."""
    path = write_registry(body)
    args = ["--registry", str(path), "list", "--format", "csv", "--columns", "id,title"]
    expected = runner.invoke(cli, args, catch_exceptions=False).stdout
    forge('"title":"A small study"', '"title":"A small study\x00')
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stdout in ("", "id,title\n")  # CSV streams: at most what came before it
    assert "doe-2020-ckd" in result.stderr
    assert "--no-cache" in result.stderr
    assert "Traceback" not in result.stderr
    with cache.bypassed():
        assert registry.load([path])[0].title == "A small study"
    assert runner.invoke(cli, args).stdout == expected  # the damaged database was dropped


@pytest.mark.parametrize(
    ("old", "new", "args"),
    [
        ('"chronic-kidney-disease"', '{"chronic-kidney-disease"', []),
        ('["chronic-kidney-disease"]', '"chronic-kidney-disease"', []),
        ("[[", "[{", ["--disease", "chronic-kidney-disease"]),
    ],
    ids=["not-json", "wrong-shape", "wrong-shape-narrowed"],
)
def test_forged_facets_are_a_miss_or_one_clear_error(
    runner: CliRunner,
    write_registry: Callable[..., Path],
    old: str,
    new: str,
    args: list[str],
    size: str,
) -> None:
    """Facets are what filters read: checked for JSON and shape before any filter sees them."""
    path = write_registry(MINIMAL)
    command = ["--registry", str(path), "list", "--format", "csv", *args]
    expected = runner.invoke(cli, command, catch_exceptions=False).stdout
    forge(old, new, "facets")
    result = runner.invoke(cli, command)
    assert "Traceback" not in result.stderr
    if size == "small":  # checked when the file is opened: a miss
        assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")
    else:
        assert (result.exit_code, result.stdout) == (1, "")
        assert "damaged" in result.stderr
        assert "--no-cache" in result.stderr
    assert runner.invoke(cli, command).stdout == expected


def test_the_library_never_returns_a_forged_study(write_registry: Callable[..., Path]) -> None:
    """A record edited with its CRC fixed up is read by the views (the trust boundary
    documented in `cache`), but the library validates every record again."""
    path = write_registry(MINIMAL)
    registry.check([path])
    forge('"year":2020', '"year":1900')
    assert [s.year for s in registry.check([path], lazy=True)[0]] == [1900]
    studies, problems = registry.check([path])
    assert (problems, [s.year for s in studies]) == ([], [2020])  # a miss: parsed afresh


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE study SET overlaps = '7'",
        "UPDATE study SET overlaps = '[5]'",
        "UPDATE study SET id = x'00ff'",
        "UPDATE meta SET count = 'one'",
        "INSERT INTO term VALUES ('conditions', 'chronic-kidney-disease', 5)",
        "ALTER TABLE study DROP COLUMN record_crc",
    ],
    ids=["overlaps-a-number", "overlaps-not-ids", "id-a-blob", "count", "term-row", "no-crc"],
)
def test_a_database_of_the_wrong_shape_is_a_miss(
    runner: CliRunner, write_registry: Callable[..., Path], edit: str
) -> None:
    """Valid SQL in the wrong shape: a miss (parsed afresh), never a crash, for the commands
    and the library alike."""
    path = write_registry(MINIMAL)
    command = ["--registry", str(path), "list", "--format", "csv"]
    expected = runner.invoke(cli, command, catch_exceptions=False).stdout

    def damage() -> None:
        with sqlite3.connect(_database()) as db:
            db.execute(edit)
        db.close()

    damage()
    where = cache.entry(path)
    assert where is not None
    assert cache.load_views(where) is None
    result = runner.invoke(cli, command, catch_exceptions=False)
    assert (result.exit_code, result.stdout) == (0, expected)
    damage()  # the run above rebuilt the entry
    studies, problems = registry.check([path])
    assert (problems, [type(s) for s in studies]) == ([], [Study])


# ----------------------------------------------------------------------------- imports


_IMPORTS = """
import sys
from stemrenal.cli import cli
try:
    cli(sys.argv[1:], prog_name="stemrenal")
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = sorted(m for m in ("pydantic", "pydantic_core", "rich") if m in sys.modules)
sys.stderr.write(" ".join(heavy) + "\\n")
"""


def _modules_loaded(cache_home: Path, *args: str, script: str = _IMPORTS) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.strip()


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--disease", "lupus", "--format", "csv"],
        ["outcomes", "--format", "json"],
        ["summary", "--format", "tsv"],
        ["show", "deng-2017-lupus-nephritis", "--format", "markdown"],
        ["cite", "--style", "ris"],
        ["--registry", str(Path(registry.bundled_path()) / "studies.toml"), "validate"],
    ],
    ids=lambda a: a[0] if a[0] != "--registry" else "validate",
)
def test_a_warm_run_never_imports_pydantic(tmp_path: Path, args: list[str]) -> None:
    assert _modules_loaded(tmp_path, *args) == "pydantic pydantic_core"  # cold: validates
    assert _modules_loaded(tmp_path, *args) == ""  # warm
    assert _modules_loaded(tmp_path, "--no-cache", *args) == "pydantic pydantic_core"


_QUERY_PATH = """
import sys
from stemrenal.cli import cli
try:
    cli(sys.argv[1:], prog_name="stemrenal")
except SystemExit as exc:
    assert not exc.code, exc.code
unneeded = ("pathlib", "urllib.parse", "hashlib", "csv", "stemrenal.cite.styles")
sys.stderr.write(" ".join(m for m in unneeded if m in sys.modules) + "\\n")
"""


@pytest.mark.parametrize(
    ("args", "needed"),
    [
        (["list", "--disease", "lupus", "--format", "csv"], "csv"),
        (["list", "--format", "json"], ""),
        (["outcomes", "--endpoint", "proteinuria", "--format", "tsv"], ""),
        (["summary", "--format", "markdown"], ""),
        (["--registry", str(Path(registry.bundled_path()) / "studies.toml"), "list"], ""),
        (["cite", "--style", "ris"], "stemrenal.cite.styles"),
    ],
    ids=["csv", "json", "tsv", "summary", "one-file", "cite"],
)
def test_a_warm_query_imports_only_what_its_command_needs(
    tmp_path: Path, args: list[str], needed: str
) -> None:
    """Issue 21: no pathlib (and its urllib.parse), hashlib, csv or citation styles on the
    query path unless the command needs them. (tomli still reads the vocabulary when a term
    is resolved: 1.5 ms of parsing; the registry is never parsed warm, tests/test_cache.py.)"""
    _modules_loaded(tmp_path, *args, script=_QUERY_PATH)  # cold: fills the cache
    assert _modules_loaded(tmp_path, *args, script=_QUERY_PATH) == needed


def test_validate_checks_trial_and_coverage_files_afresh(tmp_path: Path) -> None:
    """Only files of studies are cached; the bundled registry's small trial, exclusion and
    coverage files are validated by `validate` every time (with Pydantic), and by no query."""
    assert _modules_loaded(tmp_path, "validate") == "pydantic pydantic_core"
    assert _modules_loaded(tmp_path, "validate") == "pydantic pydantic_core"
    assert _modules_loaded(tmp_path, "list", "--format", "csv") == ""


def forge_record(edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit every record of the one cache database as data, whole and light, CRCs fixed up."""
    with sqlite3.connect(_database()) as db:
        for name in ("record", "light"):
            for row, text in db.execute(f"SELECT row, {name} FROM study").fetchall():
                record = json.loads(text)
                edit(record)
                text = json.dumps(record)
                db.execute(
                    f"UPDATE study SET {name} = ?, {name}_crc = ? WHERE row = ?",
                    (text, zlib.crc32(text.encode()), row),
                )
    db.close()


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(title=5),
        lambda r: r.pop("citation"),
        lambda r: r.update(outcomes="x"),
        lambda r: r.update(limitations=[1, 2]),
        lambda r: r.update(design=None),
        lambda r: r.update(arms={"a": 1}),
    ],
    ids=["title-a-number", "no-citation", "outcomes-text", "limitations-numbers", "no-design",
         "arms-a-table"],
)  # fmt: skip
@pytest.mark.parametrize(
    "args",
    [["list"], ["show", "doe-2020-ckd"], ["cite"], ["outcomes"], ["brief", "--format", "text"]],
    ids=lambda a: a[0],
)
def test_a_forged_record_of_the_wrong_shape_is_one_line_and_then_a_miss(
    runner: CliRunner,
    write_registry: Callable[..., Path],
    edit: Callable[[dict[str, Any]], None],
    args: list[str],
) -> None:
    """The views are not validated again: a value of the wrong shape deep in a record (CRC
    fixed up) fails the command in one line, not a traceback, and the entry is removed."""
    path = write_registry(MINIMAL)
    command = ["--registry", str(path), *args]
    expected = runner.invoke(cli, command, catch_exceptions=False)
    assert expected.exit_code == 0
    forge_record(edit)
    result = runner.invoke(cli, command)
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("Error: the cached copy of the registry is damaged (")
        assert result.stderr.count("\n") == 1
        assert result.stderr.endswith("it was removed: run the command again\n")
    again = runner.invoke(cli, command, catch_exceptions=False)
    assert (again.exit_code, again.stdout) == (0, expected.stdout)


@pytest.mark.parametrize("style", ["ris", "bibtex", "vancouver", "csl-json"])
def test_cite_sends_a_forged_cached_title_through_the_sanitiser(
    runner: CliRunner, write_registry: Callable[..., Path], style: str
) -> None:
    path = write_registry(MINIMAL)
    command = ["--registry", str(path), "cite", "--style", style]
    runner.invoke(cli, command, catch_exceptions=False)
    forge('"title":"A small study"', '"title":"A small \\u001b[31mstudy\\u0007"')
    result = runner.invoke(cli, command, catch_exceptions=False)
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    assert "study" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_an_export_of_every_study_holds_a_batch_of_records_at_most(
    runner: CliRunner,
    write_registry: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    """Memory flat in the number of studies printed: CSV and TSV parse a batch of records at
    a time and let each go once written; JSON writes the cached text and parses none."""
    body = "".join(MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{i}"') for i in range(1200))
    path = write_registry(body)
    args = ["--registry", str(path), "list", "--format", fmt]
    expected = runner.invoke(cli, ["--no-cache", *args], catch_exceptions=False).stdout
    runner.invoke(cli, args, catch_exceptions=False)  # fills the cache
    held: list[int] = [0, 0]  # now, most
    real_fill, real_release = views.CachedStudy._fill, views.CachedStudy.release

    def filling(self: views.CachedStudy, record: object, *, light: bool = False) -> None:
        held[0] += not self._light  # read now, light or whole, and not before
        real_fill(self, record, light=light)
        held[1] = max(held)

    def releasing(self: views.CachedStudy) -> None:
        held[0] -= self._light
        real_release(self)

    monkeypatch.setattr(views.CachedStudy, "_fill", filling)
    monkeypatch.setattr(views.CachedStudy, "release", releasing)
    warm = runner.invoke(cli, args, catch_exceptions=False)
    assert warm.stdout == expected
    assert held[1] == (0 if fmt.startswith("json") else 500)
