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


#: Each way a file's text reaches the parsers, and what it prints for a hostile file.
READERS = {
    "whole": (
        "import sys, tomli\n"
        "from stemrenal.registry import parse\n"
        "try:\n"
        "    parse.loads(open(sys.argv[1]).read())\n"
        "except (tomli.TOMLDecodeError, RecursionError):\n"
        "    print('refused')\n"
    ),
    "a study at a time": (
        "import sys\n"
        "from stemrenal.registry import parse\n"
        "try:\n"
        "    list(parse.studies(open(sys.argv[1], 'rb').read()))\n"
        "except parse.Whole:\n"
        "    print('refused')\n"
    ),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_hostile_nesting_does_not_crash_the_process(tmp_path: Path, reader: str) -> None:
    """toml-rs alone overflows the C stack here (a segfault, exit -11)."""
    deep = tmp_path / "deep.toml"
    for opener, closer in (("[", "]"), ("{x = ", "}")):
        deep.write_text(MINIMAL + "\n[[study]]\nx = " + opener * 100_000 + closer * 100_000)
        done = subprocess.run(
            [sys.executable, "-c", READERS[reader], str(deep)],
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


# ----------------------------------------------------------- a file read a study at a time


def streamed(text: str, raw: bytes | None = None) -> tuple[str, Any]:
    """`parse.studies` of the file's bytes: its tables, or that it must be parsed whole."""
    try:
        return "data", same(list(parse.studies(text.encode() if raw is None else raw)))
    except parse.Whole:
        return "whole", None


def agree_streamed(text: str) -> None:
    """Where `studies` gives tables, they are tomli's, and tomli finds nothing else in the
    file; wherever tomli finds the file to hold studies alone, `studies` reads it (or says
    it must be read whole, and `loads` does that)."""
    got = streamed(text)
    if got[0] == "data":
        assert outcome(tomli.loads, text) == ("data", {"study": got[1]})


@pytest.fixture(params=["toml-rs", "tomli"])
def piece_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each piece parsed by toml-rs (the `fast` extra) or, without it, by tomli."""
    if request.param == "tomli":
        monkeypatch.setattr(parse, "_fast_loads", lambda: None)
    return str(request.param)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: str(p.relative_to(VALID)))
def test_valid_files_read_a_study_at_a_time_as_tomli_reads_them(
    path: Path, piece_parser: str
) -> None:
    text = read(path)
    assert text is not None
    for variant in variants(text):
        agree_streamed(variant)


def test_many_variants_of_the_valid_suite_are_read_a_study_at_a_time(piece_parser: str) -> None:
    """The parity above is not empty: a valid document as a study's body, or before studies
    as their head, reads a study at a time where it defines nothing outside the study."""
    texts = [read(path) or "" for path in VALID_FILES]
    read_so = [streamed(v)[0] == "data" for text in texts for v in variants(text)]
    assert sum(read_so) >= 300


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: str(p.relative_to(TOML_TEST_INVALID)))
def test_invalid_files_are_never_read_a_study_at_a_time(path: Path, piece_parser: str) -> None:
    raw = path.read_bytes()
    for variant in (raw, b"[[study]]\n" + raw, raw + STUDY.encode(), STUDY.encode() + raw):
        got = streamed("", variant)
        if got[0] == "data":  # the suite's TOML 1.1 acceptances: tomli accepts them too
            assert outcome(tomli.loads, variant.decode("utf-8-sig")) == ("data", {"study": got[1]})


@pytest.mark.parametrize("name", sorted(CUTS))
def test_cut_points_inside_values_are_read_whole(name: str, piece_parser: str) -> None:
    body = CUTS[name]
    for document in (MINIMAL + body, body + MINIMAL, MINIMAL + body + MINIMAL):
        agree_streamed(document)


def test_the_bundled_studies_are_read_a_study_at_a_time(piece_parser: str) -> None:
    raw = (bundled_path() / "studies.toml").read_bytes()
    assert list(parse.studies(raw)) == tomli.loads(raw.decode("utf-8"))["study"]
    assert list(parse.studies(b"\xef\xbb\xbf" + raw)) == tomli.loads(raw.decode())["study"]


@pytest.mark.parametrize("head", [b"", b"\xef\xbb\xbf", b"# studies\n", b"\xef\xbb\xbf\n\n"])
def test_a_file_whose_first_line_is_a_study_is_read_a_study_at_a_time(
    head: bytes, piece_parser: str
) -> None:
    raw = head + (MINIMAL.lstrip() * 2).replace("doe-2020-ckd", "x", 1).encode()
    assert list(parse.studies(raw)) == tomli.loads(raw.decode("utf-8-sig"))["study"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"# no studies\n",
        b'title = "a head with keys"\n' + MINIMAL.encode(),
        MINIMAL.encode() + b"\n[[trial]]\nid = 1\n",
        MINIMAL.encode() + b'\n[[study]]\nid = "caf\xe9"\n',  # Latin-1, not UTF-8
        b"\xe9\n" + MINIMAL.encode(),
        b"\xef\xbb\xbf\xef\xbb\xbf# two BOMs: tomli refuses the second\n" + MINIMAL.encode(),
    ],
    ids=["empty", "comments only", "head keys", "a trial", "not UTF-8", "head not UTF-8", "2 BOMs"],
)
def test_a_file_of_anything_but_studies_is_read_whole(raw: bytes, piece_parser: str) -> None:
    with pytest.raises(parse.Whole):
        list(parse.studies(raw))


def test_the_pieces_are_parsed_as_they_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file is never parsed whole first: each study's piece is parsed when it is asked for."""
    seen: list[str] = []

    def counted(text: str) -> dict[str, Any]:
        seen.append(text)
        return dict(toml_rs.loads(text))

    monkeypatch.setattr(parse, "_fast_loads", lambda: counted)
    tables = parse.studies(("# three studies\n" + MINIMAL * 3).encode())
    assert next(tables)["id"] == "doe-2020-ckd"
    assert len(seen) == 2  # the head, then the first study
    assert len(list(tables)) == 2
    assert len(seen) == 4


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12), st.booleans())
def test_random_registries_read_a_study_at_a_time_as_tomli_does(
    parts: list[str], fast: bool
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_fast_loads", lambda: toml_rs.loads if fast else None)
        agree_streamed("".join(parts))
