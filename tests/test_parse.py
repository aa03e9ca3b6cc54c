"""toml-rs (the `fast` extra) against tomli, the parser of record: the same data or the same
error for every document, on the toml-test suites, on cut-up registries and on random ones.

The fast path cuts a file before each ``[[study]]`` line; the documents here put the toml-test
files before, after and between such lines, and inside strings and arrays that span a cut.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

from stemrenal.registry import bundled_path, parse

from helpers import DATA, MINIMAL, TOML_TEST_INVALID

toml_rs = pytest.importorskip("toml_rs")

VALID = DATA / "toml-test-valid"
VALID_FILES = sorted(VALID.rglob("*.toml"))
INVALID_FILES = sorted(TOML_TEST_INVALID.rglob("*.toml"))
STUDY = '\n[[study]]\nid = "a"\n'


def read(path: Path) -> str | None:
    """The file as text, or None where it is not UTF-8 (the reader refuses it before parsing)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def same(value: Any) -> Any:
    """A value that compares equal to itself (NaN does not), keeping its type."""
    if isinstance(value, dict):
        return {key: same(item) for key, item in value.items()}
    if isinstance(value, list):
        return [same(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan", math.copysign(1.0, value))
    return (type(value).__name__, value)


def outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "data", same(load(text))
    except tomli.TOMLDecodeError as exc:
        return "error", str(exc)
    except RecursionError:
        return "error", "RecursionError"


@pytest.fixture
def pieces(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pieces toml-rs parsed, so a test knows the fast path was taken."""
    seen: list[str] = []

    def counted(text: str) -> dict[str, Any]:
        seen.append(text)
        return dict(toml_rs.loads(text))

    monkeypatch.setattr(parse, "_fast_loads", lambda: counted)
    return seen


def agree(text: str) -> None:
    assert outcome(parse.loads, text) == outcome(tomli.loads, text)


def variants(text: str) -> list[str]:
    """The document alone, as a study's body, before studies, and between two."""
    return [text, "[[study]]\n" + text, text + STUDY, STUDY + text + STUDY]


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: str(p.relative_to(VALID)))
def test_valid_toml_test_files_parse_alike(path: Path, pieces: list[str]) -> None:
    text = read(path)
    assert text is not None
    for variant in variants(text):
        agree(variant)


def test_the_valid_suite_is_the_toml_1_1_list() -> None:
    assert len(VALID_FILES) == 220
    assert (VALID / "LICENSE").is_file()


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: str(p.relative_to(TOML_TEST_INVALID)))
def test_invalid_toml_test_files_fail_alike(path: Path, pieces: list[str]) -> None:
    text = read(path)
    if text is None:
        pytest.skip("not UTF-8: refused before parsing")
    for variant in variants(text):
        agree(variant)


def test_most_pieces_of_the_suites_reach_toml_rs(pieces: list[str]) -> None:
    for path in VALID_FILES[:40]:
        text = read(path)
        assert text is not None
        agree(text + STUDY)
    assert len(pieces) >= 40


def test_the_bundled_registry_parses_alike_a_study_at_a_time(pieces: list[str]) -> None:
    text = (bundled_path() / "studies.toml").read_text(encoding="utf-8")
    assert parse.loads(text) == tomli.loads(text)
    assert len(pieces) == text.count("\n[[study]]") + 1  # the head, then each study


CUTS = {
    "a basic multi-line string": 'x = """\n[[study]]\n"""\n',
    "a literal multi-line string": "x = '''\n[[study]]\nid = 1\n'''\n",
    "an array": "x = [\n[[study]]\n]\n",
    "an inline table": "x = {\n[[study]]\n}\n",
    "a comment": "# [[study]]\n",
    "an indented header": '  [[study]]\nid = "b"\n',
    "a header with a comment": '[[study]] # the second\nid = "b"\n',
    "another table after a study": "[other]\nx = 1\n",
    "a dotted key outside the study": "[[study]]\nother.x = 1\n[other]\n",
    "the head defines study": "",
    "a static array of studies": "",
    "a sub-table": '[study.citation]\nauthors = ["A"]\n',
    "an array of sub-tables": "[[study.arms]]\nn = 1\n[[study.arms]]\nn = 2\n",
    "a table redefined across studies": "[study.citation]\nx = 1\n[study.citation]\nx = 2\n",
    "a CRLF file": 'x = 1\r\n[[study]]\r\nid = "b"\r\n',
    "a bare CR before a header": 'x = 1\r[[study]]\nid = "b"\n',
    "a header that runs on": '[[study]]]\nid = "b"\n',
    "a header with spaces": '[[ study ]]\nid = "b"\n',
}


@pytest.mark.parametrize("name", sorted(CUTS))
def test_cut_points_inside_values_or_tables_parse_as_tomli_does(
    name: str, pieces: list[str]
) -> None:
    body = CUTS[name]
    documents = [MINIMAL + body, body + MINIMAL, MINIMAL + body + MINIMAL]
    if name == "the head defines study":
        documents = ['study = [{id = "x"}]\n' + MINIMAL]
    if name == "a static array of studies":
        documents = ["study = []\n" + MINIMAL]
    for document in documents:
        agree(document)


def test_a_piece_nested_beyond_the_bound_goes_to_tomli(pieces: list[str]) -> None:
    deep = "x = " + "[" * (parse._NESTING + 1) + "]" * (parse._NESTING + 1) + "\n"
    text = MINIMAL + MINIMAL.replace("[[study]]", "[[study]]\n" + deep, 1)
    agree(text)
    assert not any(deep in piece for piece in pieces)
    assert len(pieces) == 2  # the head and the first study; the deep one went to tomli


def test_hostile_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    """toml-rs alone overflows the C stack here (a segfault, exit -11)."""
    deep = tmp_path / "deep.toml"
    for opener, closer in (("[", "]"), ("{x = ", "}")):
        deep.write_text(MINIMAL + "\n[[study]]\nx = " + opener * 100_000 + closer * 100_000)
        code = (
            "import sys, tomli\n"
            "from stemrenal.registry import parse\n"
            "try:\n"
            "    parse.loads(open(sys.argv[1]).read())\n"
            "except (tomli.TOMLDecodeError, RecursionError):\n"
            "    print('refused')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(deep)],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-500:]
        assert done.stdout == "refused\n"


def test_no_fast_path_off_the_main_thread_or_on_a_small_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse._fast_loads() is toml_rs.loads
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(parse._fast_loads()))
    worker.start()
    worker.join()
    assert found == [None]
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024 * 1024, resource.RLIM_INFINITY))
    assert parse._fast_loads() is None


def test_without_toml_rs_tomli_parses_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "toml_rs", None)  # as if not installed
    assert parse._fast_loads() is None
    text = (bundled_path() / "studies.toml").read_text(encoding="utf-8")
    assert parse.loads(text) == tomli.loads(text)


#: Fragments of registry files, cut points and the statements around them included.
FRAGMENTS = [
    "[[study]]\n", '[[study]]\nid = "s"\n', "  [[study]]\n", "[[study]] # c\n", "[study.x]\n",
    "[[study.arms]]\n", "[other]\n", "other.key = 1\n", "x = 1\n", "y = 'two'\n", 'x = """\n',
    '"""\n', "x = '''\n", "'''\n", "x = [\n", "1,\n", "]\n", "x = {a = 1}\n", "x = {\n", "}\n",
    "# comment [[study]]\n", "\r\n", "\n", "study = []\n", "x = [[1], [2]]\n", 'z = "[[study]]"\n',
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
def test_random_registries_parse_as_tomli_does(parts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_fast_loads", lambda: toml_rs.loads)
        agree("".join(parts))
