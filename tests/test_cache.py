"""The validated-registry cache: hits, misses, damage, an unwritable directory, concurrent
writers, and output that is the same with or without it. No timing assertions: a hit is
proved by the parser and validator not running at all.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stemrenal import registry
from stemrenal.cli import cli
from stemrenal.models import Study
from stemrenal.registry import cache, read
from stemrenal.registry import cached as views

from helpers import MINIMAL, SEED

TIMEOUT = 60


def cache_dir() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "stemrenal"


def cache_files() -> list[Path]:
    folder = cache_dir()
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from TOML so far: a cache hit adds nothing."""
    seen: list[str] = []
    real, real_streamed = read._parse, read._streamed

    def counting(name: str, text: str) -> Any:
        seen.append(name)
        return real(name, text)

    def streamed(path: str, *args: Any) -> Any:
        """A file of studies alone read a study at a time; when that falls back, `_parse`
        reads it whole (and counts it)."""
        got = real_streamed(path, *args)
        if got is not None:
            seen.append(path)
        return got

    monkeypatch.setattr(read, "_parse", counting)
    monkeypatch.setattr(read, "_streamed", streamed)
    return seen


@pytest.fixture
def registry_file(write_registry: Callable[..., Path]) -> Path:
    return write_registry(MINIMAL)


def refuse(*_: object, **__: object) -> Any:
    raise AssertionError("a cache hit must not parse or validate again")


def touch_ns(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


# ----------------------------------------------------------------------------- hits


def test_second_read_is_a_hit_that_neither_parses_nor_validates(
    registry_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, problems = registry.check([registry_file])
    assert problems == []
    assert len(cache_files()) == 1
    from stemrenal.registry import parse

    monkeypatch.setattr(parse, "loads", refuse)  # tomli's and toml-rs's ways in
    monkeypatch.setattr(parse, "studies", refuse)
    monkeypatch.setattr(read, "_validate", refuse)
    second, problems = registry.check([registry_file])
    assert problems == []
    assert all(isinstance(s, Study) for s in second)  # the library gets real models
    assert second == first
    assert second[0].follow_up_months == 6.0  # the computed field is computed again
    assert [s.model_dump() for s in second] == [s.model_dump() for s in first]


def test_cli_hit_gives_the_same_output(
    runner: CliRunner, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--registry", str(SEED), "list", "--format", "json"]
    cold = runner.invoke(cli, args, catch_exceptions=False)
    assert parses == [str(SEED)]
    monkeypatch.setattr(Study, "model_validate", refuse)
    monkeypatch.setattr(Study, "model_validate_json", refuse)
    warm = runner.invoke(cli, args, catch_exceptions=False)
    assert parses == [str(SEED)]
    assert (warm.exit_code, warm.stdout, warm.stderr) == (0, cold.stdout, "")


def test_each_file_of_a_directory_has_its_own_entry(
    tmp_path: Path, write_registry: Callable[..., Path], parses: list[str]
) -> None:
    write_registry(MINIMAL, "reg/a.toml")
    write_registry(MINIMAL.replace('"doe-2020-ckd"', '"doe-2021-ckd"'), "reg/b.toml")
    registry.check([tmp_path / "reg"])
    assert len(cache_files()) == 2
    parses.clear()
    studies, problems = registry.check([tmp_path / "reg"])
    assert (parses, problems) == ([], [])
    assert [s.id for s in studies] == ["doe-2020-ckd", "doe-2021-ckd"]


# ----------------------------------------------------------------------------- misses


def test_changed_content_with_same_size_and_mtime_is_a_miss(
    registry_file: Path, parses: list[str]
) -> None:
    registry.check([registry_file])
    before = registry_file.stat()
    text = registry_file.read_text(encoding="utf-8")
    changed = text.replace("Journal of Tests", "Journal of Texts")
    assert len(changed) == len(text)
    assert changed != text
    registry_file.write_text(changed, encoding="utf-8")
    touch_ns(registry_file, before.st_mtime_ns)
    assert registry_file.stat().st_size == before.st_size
    assert registry_file.stat().st_mtime_ns == before.st_mtime_ns

    studies, _ = registry.check([registry_file])
    assert studies[0].citation.journal == "Journal of Texts"
    assert len(parses) == 2


def _meta(**values: int | str) -> None:
    """Set columns of the one cache database's `meta` row, as a stale or racy entry has them."""
    [entry] = cache_files()
    with sqlite3.connect(entry) as db:
        db.execute(f"UPDATE meta SET {', '.join(f'{k} = ?' for k in values)}", [*values.values()])
    db.close()


def test_a_racily_clean_entry_is_hashed_and_a_changed_file_is_a_miss(
    registry_file: Path, parses: list[str]
) -> None:
    """Git's rule: a file modified within the timestamp granularity of when its stat was taken
    may have been written again with the same stat, so its content is hashed."""
    registry.check([registry_file])
    original = registry_file.read_bytes()
    registry_file.write_bytes(original.replace(b"Journal of Tests", b"Journal of Texts"))
    now = registry_file.stat()
    # As if the write had left the stat the cache holds (a coarse clock): only the hash tells.
    _meta(mtime_ns=now.st_mtime_ns, ctime_ns=now.st_ctime_ns, taken_ns=now.st_mtime_ns + 1)
    studies, _ = registry.check([registry_file])
    assert studies[0].citation.journal == "Journal of Texts"
    assert len(parses) == 2


def test_a_clean_stat_is_trusted_without_reading_the_file(
    registry_file: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.check([registry_file])
    info = registry_file.stat()
    _meta(taken_ns=info.st_mtime_ns + 10 * cache._RACY_NS)  # seen long after its last write
    monkeypatch.setattr(cache, "_sha256", refuse)
    studies, problems = registry.check([registry_file])
    assert (len(studies), problems, len(parses)) == (1, [], 1)


def test_a_file_changed_while_read_is_cached_with_the_stat_seen_before(
    registry_file: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What was parsed is stored under the stat taken before it was read: a later write is
    a miss, never served from the cache."""
    original = registry_file.read_bytes()
    real = read._read_bytes
    reads: list[str] = []

    def read_then_edit(path: str) -> Any:
        found = real(path)
        reads.append(path)
        if len(reads) == 1:  # the first read: the file changes just after it
            Path(path).write_bytes(original.replace(b"Journal of Tests", b"Journal of Texts"))
        return found

    monkeypatch.setattr(read, "_read_bytes", read_then_edit)
    studies, _ = registry.check([registry_file])
    assert studies[0].citation.journal == "Journal of Texts"  # read again: one version
    studies, _ = registry.check([registry_file])
    assert studies[0].citation.journal == "Journal of Texts"


def test_a_new_mtime_alone_is_hashed_once_and_then_trusted(
    registry_file: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = registry.check([registry_file])
    touch_ns(registry_file, registry_file.stat().st_mtime_ns - 10 * cache._RACY_NS)
    hashed: list[str] = []
    real = cache._sha256
    monkeypatch.setattr(cache, "_sha256", lambda path: hashed.append(path) or real(path))
    second, _ = registry.check([registry_file])
    third, _ = registry.check([registry_file])
    assert second == third == first
    assert len(parses) == 1  # the same content: a hit
    assert len(hashed) == 1  # and its new stat was stored: the third read hashes nothing


def test_new_size_is_a_miss(registry_file: Path, parses: list[str]) -> None:
    registry.check([registry_file])
    with registry_file.open("a", encoding="utf-8") as out:
        out.write("# one more line\n")
    registry.check([registry_file])
    assert len(parses) == 2


def test_another_stemrenal_version_is_a_miss(
    registry_file: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import stemrenal

    registry.check([registry_file])
    for name, value in [
        ("stemrenal.__version__", "999.0"),
        ("stemrenal.SCHEMA_VERSION", "999"),
        ("stemrenal.registry.cache._code", lambda: 7),
    ]:
        monkeypatch.setattr(name, value)
        cache._key.cache_clear()  # the key is computed once per process
        registry.check([registry_file])
    cache._key.cache_clear()
    assert len(parses) == 4
    assert stemrenal.__version__ == "999.0"


def test_the_installed_parsers_are_part_of_the_key(
    registry_file: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = {entry[0]: entry for entry in cache._parsers()}
    assert set(found) == {"pydantic", "pydantic_core", "tomli", "toml_rs"}
    import pydantic_core

    # Found without importing, and naming the version that is installed.
    assert f"pydantic_core-{pydantic_core.__version__}.dist-info" in found["pydantic_core"][3]
    registry.check([registry_file])
    upgraded = [[*entry[:3], ["pydantic_core-99.0.0.dist-info"]] for entry in cache._parsers()]
    monkeypatch.setattr(cache, "_parsers", lambda: upgraded)
    cache._key.cache_clear()
    registry.check([registry_file])
    registry.check([registry_file])
    cache._key.cache_clear()
    assert len(parses) == 2  # one miss for the upgrade, then a hit again


def test_a_file_turned_invalid_reports_its_problems(registry_file: Path) -> None:
    registry.check([registry_file])
    text = registry_file.read_text(encoding="utf-8")
    registry_file.write_text(text.replace("year = 2020", "year = 1900"), encoding="utf-8")
    studies, problems = registry.check([registry_file])
    assert studies == ()
    assert [str(p).split(": ")[0] for p in problems] == [f"{registry_file}:5"]


def test_a_file_with_problems_is_never_cached(
    write_registry: Callable[..., Path], parses: list[str]
) -> None:
    path = write_registry(MINIMAL.replace("enrolled = 10", "enrolled = 0"))
    for _ in range(2):
        _, problems = registry.check([path])
        assert [p.field for p in problems] == ["enrolled"]
    assert cache_files() == []
    assert len(parses) == 2


def many(count: int) -> str:
    """A file of `count` studies, each the minimal one under its own id; its first line is
    the first study's header."""
    studies = (MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{n}"') for n in range(count))
    return "".join(studies).lstrip()


def test_a_cold_query_validates_and_caches_one_study_at_a_time(
    write_registry: Callable[..., Path], runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of studies alone is parsed, validated and written a study at a time, then read
    back from the cache (`read._streamed`): holding every model (and every parsed table)
    at once peaked near 10x the file at 10,000 studies."""
    path = write_registry(many(30))
    written: list[weakref.ref[Study]] = []
    held: list[int] = []
    real = cache.Writer.add

    def add(self: cache.Writer, study: Study) -> None:
        written.append(weakref.ref(study))
        held.append(sum(ref() is not None for ref in written))
        real(self, study)

    monkeypatch.setattr(cache.Writer, "add", add)
    args = ["--registry", str(path), "list", "--format", "csv"]
    cold = runner.invoke(cli, args, catch_exceptions=False)
    assert len(held) == 30
    assert max(held) <= 2  # the study being written, and at most the one before it
    bypassed = runner.invoke(cli, ["--no-cache", *args], catch_exceptions=False)
    warm = runner.invoke(cli, args, catch_exceptions=False)
    assert len(held) == 30  # the warm run wrote nothing
    assert cold.stdout == bypassed.stdout == warm.stdout
    assert len(cold.stdout.splitlines()) == 31
    assert [p.name.startswith(".tmp-") for p in cache_files()] == [False]


@pytest.mark.parametrize("command", ["list", "validate"])
def test_a_problem_found_while_caching_study_by_study_leaves_nothing_behind(
    write_registry: Callable[..., Path], runner: CliRunner, command: str
) -> None:
    """The 20th study of 30 is invalid: what was written for the 19 before it is removed,
    and the file is read whole, so every message is the one --no-cache gives."""
    text = many(30).replace(
        '"doe-2020-ckd-19"\ntitle = "A small study"\nyear = 2020',
        '"doe-2020-ckd-19"\ntitle = "A small study"\nyear = 1900',
    )
    path = write_registry(text)
    args = [command, "--format", "csv"] if command == "list" else [command]
    every = ["--registry", str(path), *args] if command == "list" else [*args, str(path)]
    streamed = runner.invoke(cli, every)
    bypassed = runner.invoke(cli, ["--no-cache", *every])
    assert streamed.exit_code == bypassed.exit_code == 1
    assert (streamed.stdout, streamed.stderr) == (bypassed.stdout, bypassed.stderr)
    assert "year" in streamed.stdout + streamed.stderr
    assert cache_files() == []
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []


def test_ctrl_c_while_caching_study_by_study_leaves_nothing_behind(
    write_registry: Callable[..., Path], runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_registry(many(30))
    real = cache.Writer.add
    written: list[str] = []

    def add(self: cache.Writer, study: Study) -> None:
        if len(written) == 10:
            raise KeyboardInterrupt
        written.append(study.id)
        real(self, study)

    monkeypatch.setattr(cache.Writer, "add", add)
    args = ["--registry", str(path), "list", "--format", "csv"]
    stopped = runner.invoke(cli, args)
    assert (stopped.exit_code, stopped.stderr, stopped.stdout) == (130, "Interrupted.\n", "")
    assert list(cache_dir().iterdir()) == []  # no half-written database, not even a temporary
    monkeypatch.setattr(cache.Writer, "add", real)
    again = runner.invoke(cli, args, catch_exceptions=False)
    assert (again.exit_code, len(again.stdout.splitlines())) == (0, 31)
    assert len(cache_files()) == 1


def test_a_file_that_cannot_be_cut_into_studies_is_read_whole_and_cached(
    write_registry: Callable[..., Path],
    runner: CliRunner,
    parses: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A note that holds a line starting with [[study]] ends a piece inside a string, which
    does not parse alone: the file is parsed whole, as before, and cached all the same."""
    note = 'curation_notes = ["""\n[[study]] is not a header here\n"""]\n'
    sources = 'sources = ["https://example.org/abstract"]\n'
    path = write_registry(many(3).replace(sources, sources + note, 1))
    cut: list[bool] = []
    real = read._streamed
    monkeypatch.setattr(read, "_streamed", lambda *a: cut.append(True) or real(*a))
    args = ["--registry", str(path), "list", "--format", "csv"]
    cold = runner.invoke(cli, args, catch_exceptions=False)
    warm = runner.invoke(cli, args, catch_exceptions=False)
    assert cut == [True]  # tried once, on the cold run
    assert parses == [str(path)]  # parsed whole once; the warm run is a hit
    assert cold.stdout == warm.stdout
    assert len(cold.stdout.splitlines()) == 4


def test_a_crlf_file_is_read_a_study_at_a_time(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "crlf.toml"
    path.write_bytes(many(3).replace("\n", "\r\n").encode())
    written: list[str] = []
    real = cache.Writer.add
    monkeypatch.setattr(cache.Writer, "add", lambda self, s: written.append(s.id) or real(self, s))
    args = ["--registry", str(path), "list", "--format", "csv"]
    cold = runner.invoke(cli, args, catch_exceptions=False)
    bypassed = runner.invoke(cli, ["--no-cache", *args], catch_exceptions=False)
    assert written == [f"doe-2020-ckd-{n}" for n in range(3)]
    assert cold.stdout == bypassed.stdout
    assert len(cold.stdout.splitlines()) == 4


#: Parts of registry files that read a study at a time (the unknown overlap is a problem
#: only across the registry), and parts that send a file to the whole read: an invalid
#: study, a head key, another kind of record, a cut inside a string.
STREAMED_PARTS = [
    MINIMAL,
    MINIMAL.lstrip(),
    MINIMAL.replace("\n", "\r\n"),
    MINIMAL.replace('"6 months"\n', '"6 months"\noverlaps = ["nobody-2020-ckd"]\n', 1),
    "# a comment\n",
    "\n",
]
WHOLE_PARTS = [
    MINIMAL.replace("year = 2020", "year = 1900"),
    MINIMAL.replace("enrolled = 10", "enrolled = 0"),
    'title = "a head key"\n',
    '\n[[trial]]\nid = "NCT00000001"\n',
    'x = """\n[[study]]\n"""\n',
    "\n[[study]]\n",
]


@settings(max_examples=80, deadline=None)
@given(
    parts=st.lists(st.sampled_from(STREAMED_PARTS), min_size=1, max_size=5),
    spoilt=st.one_of(st.none(), st.tuples(st.sampled_from([*WHOLE_PARTS, b"\xe4"]), st.integers())),
    renamed=st.booleans(),
    bom=st.booleans(),
)
def test_a_cold_read_answers_as_the_uncached_read_for_any_file(
    tmp_path_factory: pytest.TempPathFactory,
    parts: list[str],
    spoilt: tuple[str | bytes, int] | None,
    renamed: bool,
    bom: bool,
) -> None:
    """Whether a file is read a study at a time or whole (half the examples have one part
    that sends it to the whole read, such as a byte that is not UTF-8), cold and warm runs
    print, report and exit exactly as --no-cache does, and leave no temporary database."""
    pieces = [
        (part.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{n}"') if renamed else part).encode()
        for n, part in enumerate(parts)
    ]
    if spoilt is not None:
        part, at = spoilt
        pieces.insert(at % (len(pieces) + 1), part if isinstance(part, bytes) else part.encode())
    raw = (b"\xef\xbb\xbf" if bom else b"") + b"".join(pieces)
    folder = tmp_path_factory.mktemp("any")
    path = folder / "registry.toml"
    path.write_bytes(raw)
    env = {"XDG_CACHE_HOME": str(folder / "cache")}
    runner = CliRunner()
    args = ["--registry", str(path), "list", "--format", "csv"]
    runs = [runner.invoke(cli, [*first, *args], env=env) for first in ([], [], ["--no-cache"])]
    assert len({(r.exit_code, r.stdout, r.stderr) for r in runs}) == 1, runs[-1].stderr
    assert runs[0].exception is None or isinstance(runs[0].exception, SystemExit)
    left = list((folder / "cache" / "stemrenal").glob(".tmp-*"))
    assert left == []


def test_duplicates_across_cached_files_still_name_file_and_line(
    write_registry: Callable[..., Path], runner: CliRunner
) -> None:
    a = write_registry(MINIMAL, "a.toml")
    b = write_registry("# another file\n" + MINIMAL, "b.toml")
    expected = f"{b}:3: study doe-2020-ckd: id: duplicate id; first used at {a}:2"
    for _ in range(2):  # the second time, both files come from the cache
        result = runner.invoke(cli, ["validate", str(a), str(b)], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stdout.splitlines()[0] == expected
    assert len(cache_files()) == 2


# ----------------------------------------------------------------------------- damage


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64) + b"\n\x00\xff" * 100)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute(statement)
        db.close()

    damage.__name__ = statement.split(" ")[0].lower()
    return damage


def _bit_flip(path: Path) -> None:
    """One flipped bit in a record: still a valid database, JSON and study, but not what was
    written; only its CRC can tell."""
    data = bytearray(path.read_bytes())
    where = data.index(b'"title":"') + len(b'"title":"')
    data[where] ^= 0x01
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _a_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _a_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _a_link(path: Path) -> None:
    """A link to a copy of itself: a cache file is a regular file, never followed."""
    copy = path.with_name("elsewhere.db")
    path.rename(copy)
    path.symlink_to(copy)


def _writable_by_others(path: Path) -> None:
    path.chmod(0o666)


@pytest.mark.parametrize(
    "damage",
    [
        _garbage,
        _truncated,
        _sql(f"UPDATE meta SET key = replace(key, '[{cache.FORMAT},', '[0,')"),
        _sql("UPDATE study SET facets_crc = facets_crc + 1"),
        _sql("UPDATE study SET record = replace(record, '\"year\":2020', '\"year\":1900')"),
        _bit_flip,
        _sql("DELETE FROM study"),
        _sql(
            "INSERT INTO study SELECT row + 1, id, overlaps, facets, facets_crc, record, "
            "record_crc, light, light_crc, year, design, randomized, enrolled, follow_up_months, cell_source, "
            "cell_type, tissue, risk_of_bias FROM study"
        ),
        _sql("INSERT INTO meta SELECT * FROM meta"),
        _sql("UPDATE study SET id = 7"),
        _sql("UPDATE study SET overlaps = '7'"),
        _sql("INSERT INTO term VALUES ('conditions', 'lupus-nephritis', 99)"),
        _sql("DROP TABLE term"),
        _empty,
        _a_directory,
        _a_fifo,
        _a_link,
        _writable_by_others,
    ],
    ids=lambda damage: damage.__name__,
)
def test_damaged_cache_is_ignored_and_rebuilt(
    registry_file: Path,
    runner: CliRunner,
    parses: list[str],
    damage: Callable[[Path], None],
) -> None:
    args = ["--registry", str(registry_file), "list", "--format", "csv"]
    clean = runner.invoke(cli, args, catch_exceptions=False)
    [entry] = cache_files()
    damage(entry)
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert (result.exit_code, result.stdout, result.stderr) == (0, clean.stdout, "")
    assert len(parses) == 2
    if entry.is_file() and not entry.is_symlink() and not entry.stat().st_mode & 0o022:
        runner.invoke(cli, args, catch_exceptions=False)  # rebuilt: the next run is a hit
        assert len(parses) == 2


def test_unreadable_cache_file_is_a_miss(registry_file: Path, parses: list[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("permissions do not stop root from reading a file")
    registry.check([registry_file])
    [entry] = cache_files()
    entry.chmod(0)
    studies, problems = registry.check([registry_file])
    assert (len(studies), problems, len(parses)) == (1, [], 2)


# ----------------------------------------------------------------------------- unwritable


@pytest.fixture(params=["under-a-file", "read-only-dir"])
def unwritable_cache(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """An XDG_CACHE_HOME where nothing can be created."""
    if request.param == "under-a-file":  # binds even for root
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("a file, not a directory\n")
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
        yield blocker
        return
    if os.geteuid() == 0:
        pytest.skip("chmod does not stop root from writing")
    home = tmp_path / "read-only"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    yield home
    home.chmod(0o700)


def test_unwritable_cache_dir_is_silent(
    unwritable_cache: Path, registry_file: Path, runner: CliRunner, parses: list[str]
) -> None:
    args = ["--registry", str(registry_file), "list", "--format", "csv"]
    results = [runner.invoke(cli, args, catch_exceptions=False) for _ in range(2)]
    for result in results:
        assert (result.exit_code, result.stderr) == (0, "")
        assert "doe-2020-ckd" in result.stdout
    assert len(parses) == 2
    assert not cache_dir().exists()


@pytest.mark.parametrize("how", ["group-writable", "another-owner"])
def test_a_cache_directory_that_is_not_the_users_own_is_never_read_or_written(
    registry_file: Path, runner: CliRunner, parses: list[str], how: str
) -> None:
    """In a shared XDG_CACHE_HOME, another user could plant forged studies: a cache directory
    must be this user's own and writable by no one else."""
    args = ["--registry", str(registry_file), "list", "--format", "csv"]
    clean = runner.invoke(cli, args, catch_exceptions=False)
    [entry] = cache_files()
    with sqlite3.connect(entry) as db:  # what the other user planted
        db.execute("UPDATE study SET record = replace(record, 'A small study', 'Forged')")
    db.close()
    if how == "group-writable":
        cache_dir().chmod(0o770)
    elif os.geteuid() == 0:
        os.chown(cache_dir(), 65534, 65534)
    else:
        pytest.skip("only root can give a directory to another user")
    before = sorted(p.name for p in cache_files())
    for _ in range(2):
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert (result.exit_code, result.stdout, result.stderr) == (0, clean.stdout, "")
    assert len(parses) == 3  # never read: both runs parse the registry
    assert sorted(p.name for p in cache_files()) == before  # and never written into


def test_no_home_means_no_cache(
    registry_file: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # no HOME, no password entry
    for _ in range(2):
        studies, problems = registry.check([registry_file])
        assert (len(studies), problems) == (1, [])
    assert len(parses) == 2


def test_relative_xdg_cache_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.directory() == str(tmp_path / ".cache" / "stemrenal")


# ----------------------------------------------------------------------------- concurrency

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from stemrenal import registry
    from stemrenal.registry import cache

    path = Path(sys.argv[1])
    entry = cache.entry(path)
    seen = cache.stamp(path)
    studies = registry.read_file(path).studies
    raw = path.read_bytes()
    for _ in range(int(sys.argv[2])):
        cache.store(entry, studies, raw, seen)
    """
)

_READER = textwrap.dedent(
    """
    import sqlite3, sys
    from pathlib import Path
    from stemrenal.registry import cache

    path, done = Path(sys.argv[1]), Path(sys.argv[2])
    entry = cache.entry(path)
    reads = 0
    while not done.exists() and reads < 1_000_000:
        try:
            seen = Path(entry.file).read_bytes()
        except FileNotFoundError:  # between an unlink and a rename: never with os.replace
            seen = b""
        db = sqlite3.connect(":memory:")
        try:
            db.deserialize(seen)
            count = db.execute("SELECT count(*) FROM study").fetchone()[0]
        except sqlite3.Error as exc:
            sys.exit(f"read {len(seen)} bytes, not a whole database: {exc}")
        if count != 300:
            sys.exit(f"read {count} of 300 studies: a partial cache file")
        reads += 1
    print(reads)
    """
)


def _python(*args: object) -> subprocess.Popen[bytes]:
    """`python ARGS...` in a child that shares this test's cache directory."""
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "STEMRENAL_NO_CACHE"},
    )


def test_concurrent_writers_never_show_a_partial_file(
    write_registry: Callable[..., Path], tmp_path: Path, parses: list[str]
) -> None:
    """Two processes rewrite the entry while a third reads it: every read sees all of it."""
    body = "".join(MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{i}"') for i in range(300))
    path = write_registry(body)
    registry.check([path])  # the entry every process rewrites with the same bytes
    done = tmp_path / "done"
    reader = _python("-c", _READER, path, done)
    writers = [_python("-c", _WRITER, path, 40) for _ in range(2)]
    for writer in writers:
        _, err = writer.communicate(timeout=TIMEOUT)
        assert (writer.returncode, err) == (0, b""), err.decode()
    done.touch()
    out, err = reader.communicate(timeout=TIMEOUT)
    assert (reader.returncode, err) == (0, b""), err.decode()
    assert int(out) > 0
    assert [p.name.startswith(".tmp-") for p in cache_files()] == [False]
    parses.clear()
    studies, problems = registry.check([path])
    assert (len(studies), problems, parses) == (300, [], [])


def test_two_concurrent_cli_runs_on_a_new_registry(write_registry: Callable[..., Path]) -> None:
    path = write_registry(MINIMAL)
    command = ["-m", "stemrenal", "--registry", path, "list", "--format", "json"]
    procs = [_python(*command) for _ in range(2)]
    outputs = [proc.communicate(timeout=TIMEOUT) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    assert outputs[0] == outputs[1]
    assert outputs[0][1] == b""
    assert len(cache_files()) == 1
    assert cache.load(_entry(path)) is not None


def _entry(path: Path) -> cache.Entry:
    entry = cache.entry(path)
    assert entry is not None
    return entry


# ----------------------------------------------------------------------------- bypass


@pytest.mark.parametrize("command", ["list", "outcomes", "summary"])
@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("registry_path", [SEED, None], ids=["seed", "bundled"])
def test_same_output_with_and_without_the_cache(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    fmt: str,
    registry_path: Path | None,
) -> None:
    prefix = ["--registry", str(registry_path)] if registry_path else []
    args = [command, "--format", fmt]

    def invoke(*extra: str) -> str:
        result = runner.invoke(cli, [*extra, *prefix, *args], catch_exceptions=False)
        assert (result.exit_code, result.stderr) == (0, "")
        return result.stdout

    bypassed = invoke("--no-cache")
    assert cache_files() == []  # --no-cache neither reads nor writes
    cold, warm = invoke(), invoke()
    files = registry.sources([registry_path] if registry_path else [])[0]
    assert len(cache_files()) == len(files)  # the studies, and each other file as holding none
    monkeypatch.setenv("STEMRENAL_NO_CACHE", "1")
    by_env = invoke()
    assert bypassed == cold == warm == by_env


@pytest.mark.parametrize("large", [False, True], ids=["4k-pages", "64k-pages"])
def test_a_large_file_is_cached_in_large_pages_and_reads_the_same(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """A large registry file's database has 64 KiB pages (made "large" here by lowering the
    threshold below the seed file's size, and read row by row as a large file is)."""
    if large:
        monkeypatch.setattr(cache, "_LARGE_FILE", SEED.stat().st_size - 1)
        monkeypatch.setattr(views, "_READ_WHOLE", 0)
    for args in (["list", "--format", "csv"], ["outcomes", "--format", "json"], ["summary"]):
        every = ["--registry", str(SEED), *args]
        bypassed = runner.invoke(cli, ["--no-cache", *every], catch_exceptions=False).stdout
        cold = runner.invoke(cli, every, catch_exceptions=False).stdout
        warm = runner.invoke(cli, every, catch_exceptions=False).stdout
        assert bypassed == cold == warm
    (database,) = cache_files()
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA page_size").fetchone() == ((65536 if large else 4096),)


def test_env_var_bypasses_the_library_too(
    registry_file: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    monkeypatch.setenv("STEMRENAL_NO_CACHE", "1")
    registry.check([registry_file])
    registry.check([registry_file])
    assert (len(parses), cache_files()) == (2, [])
    monkeypatch.setenv("STEMRENAL_NO_CACHE", "0")  # "0" means "use the cache"
    assert cache.enabled()


def test_no_cache_option_ends_with_its_command(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--no-cache", "list", "--format", "csv"], catch_exceptions=False)
    assert result.exit_code == 0
    assert cache.enabled()


def test_a_fifo_registry_is_read_once_and_not_cached(tmp_path: Path) -> None:
    """A named pipe can be read once: the parser reads it, the cache never opens it."""
    fifo = tmp_path / "registry.toml"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", 'cat "$1" > "$2"', "_", str(SEED), str(fifo)])
    try:
        done = subprocess.run(
            [sys.executable, "-m", "stemrenal", "--registry", str(fifo), "list", "--columns", "id"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 0, done.stderr
    assert "ranjbar-2022-lupus-nephritis" in done.stdout.splitlines()
    assert cache_files() == []


def test_many_cached_files_under_a_low_descriptor_limit_are_all_hits(
    write_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """A directory of many small files, each cached: none of them holds a descriptor open."""
    import resource

    for i in range(150):
        write_registry(MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{i}"'), f"r/{i}.toml")
    folder = tmp_path / "r"
    probe = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        from stemrenal import registry
        studies, problems = registry.check([sys.argv[1]], lazy=True)
        assert problems == [], problems
        print(len(studies), sum(type(s).__name__ == "CachedStudy" for s in studies))
        """
    )
    registry.check([folder])  # fills the cache
    assert len(cache_files()) == 150
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft > 64
    done = subprocess.run(
        [sys.executable, "-c", probe, str(folder)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "STEMRENAL_NO_CACHE"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["150", "150"]


def test_a_file_without_studies_is_never_parsed_again_by_a_query(
    runner: CliRunner, parses: list[str]
) -> None:
    """The bundled trials, exclusions, certainty and coverage files hold no studies: a warm
    query skips them whole, and a command that reads trials still parses and validates them."""
    runner.invoke(cli, ["list", "--format", "csv"], catch_exceptions=False)
    files = registry.sources([])[0]
    assert sorted(parses) == sorted(map(str, files))
    parses.clear()
    runner.invoke(cli, ["list", "--format", "csv"], catch_exceptions=False)
    assert parses == []
    trials = runner.invoke(cli, ["trials", "--format", "csv"], catch_exceptions=False)
    assert trials.exit_code == 0
    assert [Path(p).name for p in parses] == ["trials.toml"]
    assert "NCT" in trials.stdout
