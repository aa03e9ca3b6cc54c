"""Loading: sources, FILE:LINE problems, the toml-test corpus, bundled registry lookup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stemrenal import registry
from stemrenal.errors import RegistryError

from helpers import MINIMAL, TOML_TEST_INVALID, run_program

assert TOML_TEST_INVALID.is_dir(), f"external corpus missing: {TOML_TEST_INVALID}"
INVALID_FILES = sorted(TOML_TEST_INVALID.rglob("*.toml"))


def test_corpus_is_not_empty() -> None:
    assert len(INVALID_FILES) > 400


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: str(p.relative_to(TOML_TEST_INVALID)))
def test_every_invalid_toml_file_is_a_located_problem(path: Path) -> None:
    studies, problems = registry.check([path])
    assert studies == ()
    assert problems
    assert all(str(p).startswith(str(path)) for p in problems)


def test_duplicate_ids_across_files(write_registry: Callable[..., Path]) -> None:
    a = write_registry(MINIMAL, "a.toml")
    b = write_registry(MINIMAL, "b.toml")
    _, problems = registry.check([a, b])
    assert [str(p) for p in problems] == [
        f"{b}:2: study doe-2020-ckd: id: duplicate id; first used at {a}:2"
    ]


def test_duplicate_ids_within_a_file(write_registry: Callable[..., Path]) -> None:
    path = write_registry(MINIMAL + MINIMAL)
    _, problems = registry.check([path])
    assert [str(p) for p in problems] == [
        f"{path}:44: study doe-2020-ckd: id: duplicate id; first used at {path}:2"
    ]


def test_overlaps_must_name_a_loaded_study(write_registry: Callable[..., Path]) -> None:
    text = MINIMAL.replace("enrolled = 10", 'enrolled = 10\noverlaps = ["nobody-1999-x"]')
    path = write_registry(text)
    _, problems = registry.check([path])
    assert [str(p) for p in problems] == [
        f"{path}:10: study doe-2020-ckd: overlaps: names unknown study 'nobody-1999-x'"
    ]


def test_directory_reads_every_toml_below_it(
    write_registry: Callable[..., Path], tmp_path: Path
) -> None:
    write_registry(MINIMAL, "dir/a.toml")
    write_registry(MINIMAL.replace("doe-2020-ckd", "roe-2021-ckd"), "dir/sub/b.toml")
    write_registry("not toml at all", "dir/.hidden/c.toml")
    (tmp_path / "dir" / "notes.txt").write_text("ignored")
    studies = registry.load([tmp_path / "dir"])
    assert [s.id for s in studies] == ["doe-2020-ckd", "roe-2021-ckd"]


def test_directory_without_toml_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _, problems = registry.check([tmp_path / "empty"])
    assert [p.message for p in problems] == ["no *.toml files in directory"]


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    _, problems = registry.check([tmp_path / "nope.toml"])
    assert [p.message for p in problems] == ["no such file or directory"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no [[study]] tables found"),
        (b"# only a comment\n", "no [[study]] tables found"),
        (b"title = 'x'\n", "no [[study]] tables found"),
        (b"study = 3\n", "`study` must be [[study]] tables"),
        (b"[[study]]\nid = 'caf\xe9'\n", "not valid UTF-8 (byte 0xe9); save as UTF-8"),
        (b"[[study]]\nid = \n", "invalid TOML: Invalid value"),
    ],
    ids=["empty", "comment-only", "no-study", "study-not-tables", "latin-1", "bad-toml"],
)
def test_file_level_faults(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(content)
    _, problems = registry.check([path])
    assert any(p.message == message for p in problems), [str(p) for p in problems]
    assert all(str(p).startswith(str(path)) for p in problems)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b"# ok\n# ok\ntitle = '\xff'\n")
    _, problems = registry.check([path])
    assert str(problems[0]) == f"{path}:3: not valid UTF-8 (byte 0xff); save as UTF-8"


def test_unreadable_file_is_a_problem(
    write_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_registry(MINIMAL)

    def refuse(file: object, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(file))

    from stemrenal.registry import read

    monkeypatch.setattr(read, "open", refuse, raising=False)  # read.py's own `open` only
    _, problems = registry.check([path])
    assert [str(p) for p in problems] == [f"{path}: cannot read file: Permission denied"]


def test_load_raises_with_every_problem(write_registry: Callable[..., Path]) -> None:
    bad = MINIMAL.replace("year = 2020", 'year = "x"').replace("enrolled = 10", "enrolled = 0")
    with pytest.raises(RegistryError) as info:
        registry.load([write_registry(bad)])
    assert len(info.value.problems) == 2
    assert str(info.value).endswith("2 problems found")


def test_bundled_registry_is_found_and_valid() -> None:
    path = registry.bundled_path()
    assert (path / "studies.toml").is_file()
    studies, problems = registry.check()
    assert problems == []
    assert len(studies) >= 3


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert [s.id for s in registry.load([path])] == ["doe-2020-ckd"]


def test_arms_and_self_overlap_reported_beside_other_problems(
    write_registry: Callable[..., Path],
) -> None:
    """One run names every fault, not only the first layer of them."""
    text = (
        MINIMAL.replace('population = "CKD stage 3-4"\n', "").replace(
            "enrolled = 10", 'enrolled = 10\noverlaps = ["doe-2020-ckd"]'
        )
        + '\n[[study.arms]]\nname = "a"\nn = 4\n'
    )
    _, problems = registry.check([write_registry(text)])
    fields = sorted(p.field or "" for p in problems)
    assert fields == ["arms", "overlaps", "population"]
    assert any("add up to 14, but enrolled is 10" in p.message for p in problems)


def test_unknown_top_level_keys_are_each_located_in_linear_time(tmp_path: Path) -> None:
    """40,000 unknown top-level keys, each reported at its own line.

    The locator used to rescan the file from the top for every key: quadratic, 86 s for
    16,000 keys and about nine minutes for these. Located in one pass, they take under a
    second; the timeout only stops the old cost.
    """
    count = 40_000
    path = tmp_path / "keys.toml"
    path.write_text("".join(f"k{i} = 1\n" for i in range(count)) + MINIMAL, encoding="utf-8")
    result = run_program("--registry", str(path), "validate")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()  # validate's report
    message = "unknown top-level key; use [[study]]"
    assert lines[0].startswith(f"{path}:1: k0: {message}")
    assert lines[count - 1].startswith(f"{path}:{count}: k{count - 1}: {message}")


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("a = 1\n", "a", 1),
        ('x = 1\n"a" = 2\n', "a", 2),
        ("[a]\nb = 1\n", "a", 1),  # a table that opens the file
        ("[[study]]\n[a]\nb = 1\n", "a", None),  # a table after the first: not found
    ],
    ids=["key", "quoted-key", "first-table", "later-table"],
)
def test_unknown_top_level_key_lines(
    write_registry: Callable[..., Path], text: str, key: str, line: int | None
) -> None:
    _, problems = registry.check([write_registry(text + MINIMAL)])
    (found,) = [p for p in problems if p.field == key]
    assert found.line == line
