"""Output that never lies or leaks: terminals, spreadsheets, files.

- Terminal safety: control characters in a registry are refused by `validate` with a located,
  inert message; registry text is never Rich markup on the terminal table, `show` and Markdown
  paths; the writers strip control characters even if one got past the model.
- Spreadsheet safety: formula-like cells are written as they are, unless --safe-csv.
- No data lost: a failed --output leaves the previous file byte for byte, with no temporary
  file; no command ever writes a registry file.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, final

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from stemrenal.cli import cli
from stemrenal.output import Format, OutputOptions, writers
from stemrenal.output import Result as Written
from stemrenal.output.tables import Table
from stemrenal.text import strip_controls

from helpers import MINIMAL, SEED

#: What must never reach a terminal raw: C0 (but tab and newline), DEL, C1, line/paragraph
#: separators and bidi overrides.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
SGR = re.compile(r"\x1b\[[0-9;]*m")
OSC8 = re.compile(r"\x1b\]8;[^;\x1b\x07]*;([^\x1b\x07]*)(?:\x1b\\|\x07)")
SHAO = "shao-2021-chronic-renal-failure"


def invoke(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def edit(*pairs: tuple[str, str]) -> str:
    text = MINIMAL
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# ============================================================================= terminal safety

CONTROLS = {
    "ESC": "\x1b",
    "BEL": "\x07",
    "NUL": "\x00",
    "BS": "\x08",
    "CR": "\r",
    "DEL": "\x7f",
    "NEL": "\x85",
    "CSI-C1": "\x9b",
    "LINE-SEPARATOR": "\u2028",
    "RLO-bidi": "\u202e",
}

#: Where a control character goes: (text to replace, replacement with {c}, field, snippet of
#: the line the problem must point at).
PLACES = {
    "title": ('"A small study"', '"A {c}[31msmall study"', "title", "title ="),
    "author": ('"Doe J"', '"Doe{c} J"', "citation.authors[0]", "authors ="),
    "outcome": ('"30 to 31"', '"30{c} to 31"', "outcomes[0].result", "result ="),
    "limitation": ('"Ten patients', '"Ten{c} patients', "limitations[0].text", "text ="),
    "doi": ('"10.1000/test.1"', '"10.1000/test{c}.1"', "citation.doi", "doi ="),
}


def toml_escape(char: str) -> str:
    return f"\\u{ord(char):04X}"


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
def test_control_character_is_refused_with_an_inert_located_message(
    runner: CliRunner, write_registry: Callable[..., Path], char: str, place: tuple[str, ...]
) -> None:
    old, new, field, snippet = place
    text = edit((old, new.format(c=toml_escape(char))))
    path = write_registry(text)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith(snippet))

    result = invoke(runner, "validate", str(path))
    assert result.exit_code == 1
    problems = result.stdout.splitlines()
    assert problems[1:] == ["1 problem found"]
    prefix = f"{path}:{line}: study doe-2020-ckd: {field}: "
    assert problems[0].startswith(prefix), problems[0]
    message = problems[0][len(prefix) :]
    if field == "citation.doi" and char in "\r\x85\u2028":  # whitespace: the DOI pattern says no
        assert message.startswith("write the bare DOI")
        assert "\\" in message  # the character is shown escaped, never raw
    else:
        name = unicodedata.name(char, "control character")
        assert message == f"contains a control character (U+{ord(char):04X} {name})"
    assert not UNSAFE.search(result.output)

    listed = invoke(runner, "--registry", str(path), "list")
    assert listed.exit_code == 1
    assert listed.stdout == ""
    assert not UNSAFE.search(listed.output)


def test_raw_control_byte_is_invalid_toml_with_an_inert_message(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    path = write_registry(edit(("A small study", "A \x1b]0;owned\x07 study")))
    result = invoke(runner, "validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:4: invalid TOML: ")
    assert "'\\x1b'" in result.stdout
    assert not UNSAFE.search(result.output)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (edit(('"doe-2020-ckd"', '"x\\u001B[2J\\u009B"')), "study x\\x1b[2J\\x9b: id: "),
        (
            edit(("enrolled = 10", 'enrolled = 10\n"\\u001B]0;t\\u0007\\nnext" = 1')),
            "study doe-2020-ckd: \\x1b]0;t\\x07\\nnext: unknown key",
        ),
        ('"bell\\u0007\\u202E" = 1\n' + MINIMAL, ": bell\\x07\\u202e: unknown top-level key"),
    ],
    ids=["invalid-id", "unknown-key", "unknown-top-level-key"],
)
def test_problem_lines_escape_what_they_quote(
    runner: CliRunner, write_registry: Callable[..., Path], text: str, shown: str
) -> None:
    """Ids and key names that fail validation are quoted in messages: escaped, on one line."""
    path = write_registry(text)
    for args in (["validate", str(path)], ["--registry", str(path), "list"]):
        result = invoke(runner, *args)
        assert result.exit_code == 1
        out = result.stdout if args[0] == "validate" else result.stderr
        lines = out.splitlines()
        assert len(lines) == 2, lines
        assert lines[0].startswith(str(path))
        assert shown in lines[0]
        assert not UNSAFE.search(result.output)


def test_file_name_with_control_characters_is_escaped(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "reg"
    folder.mkdir()
    (folder / "evil\x1b[31m.toml").write_text("", encoding="utf-8")
    result = invoke(runner, "validate", str(folder))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{folder}/evil\\x1b[31m.toml: no [[study]] tables found",
        "1 problem found",
    ]


# ----------------------------------------------------------------------------- markup

MARKUP = {
    "A small study": "[bold red]Loud[/] [link=https://evil.example]click[/link]",
    "CKD stage 3-4": "[blink]CKD[/blink] :warning: 3-4",
    "30 to 31": "[bold]30[/bold] to 31",
    "Ten patients, no control group.": "[link=https://evil.example]Ten[/link] patients",
}
LITERALS = [*MARKUP.values(), "[link=https://evil.example]Ten[/link] patients (curator)"]


@pytest.fixture
def markup_registry(write_registry: Callable[..., Path]) -> Path:
    text = MINIMAL
    for old, new in MARKUP.items():
        text = text.replace(old, new, 1)
    return write_registry(text)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make stdout look like a terminal of a given width, with colour."""
    import stemrenal.output

    monkeypatch.setattr(stemrenal.output, "is_terminal", lambda stream: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("FORCE_COLOR", "1")

    def width(columns: int) -> None:
        monkeypatch.setenv("COLUMNS", str(columns))

    width(200)
    return width


def visible(out: str) -> str:
    """Terminal output with its colour codes removed; any other escape is left to be found."""
    return SGR.sub("", out)


def links(out: str) -> set[str]:
    return {target for target in OSC8.findall(out) if target}


@pytest.mark.parametrize(
    ("args", "literals"),
    [
        (
            ["list", "--columns", "id,title,population,limitations"],
            [MARKUP["A small study"], MARKUP["CKD stage 3-4"], LITERALS[-1]],
        ),
        (["outcomes", "--columns", "study,result,limitations"], [MARKUP["30 to 31"], LITERALS[-1]]),
    ],
    ids=["list", "outcomes"],
)
def test_terminal_table_prints_markup_literally(
    runner: CliRunner,
    markup_registry: Path,
    terminal: Callable[[int], None],
    args: list[str],
    literals: list[str],
) -> None:
    result = invoke(runner, "--registry", str(markup_registry), *args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "╭" in out  # the real terminal path: a boxed Rich table...
    assert "\x1b[1m" in out  # ...with styles on
    plain = visible(out)
    assert not UNSAFE.search(plain)
    assert links(out) == set()
    words = plain.split()  # the table may wrap a cell between words, never inside one
    for literal in literals:
        for word in literal.split():
            assert word in words, (word, plain)


@pytest.mark.parametrize("columns", [80, 200])
def test_terminal_default_table_has_no_link_or_stray_escape(
    runner: CliRunner, markup_registry: Path, terminal: Callable[[int], None], columns: int
) -> None:
    terminal(columns)
    for command in ("list", "outcomes", "summary"):
        result = invoke(runner, "--registry", str(markup_registry), command)
        assert result.exit_code == 0, result.output
        assert not UNSAFE.search(visible(result.stdout))
        assert links(result.stdout) == set()
        assert max(len(line) for line in visible(result.stdout).splitlines()) <= columns


def test_show_on_a_terminal_prints_markup_literally_and_links_only_the_doi(
    runner: CliRunner, markup_registry: Path, terminal: Callable[[int], None]
) -> None:
    result = invoke(runner, "--registry", str(markup_registry), "show", "doe-2020-ckd")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b[1m" in out  # the Rich path, styled
    plain = OSC8.sub("", visible(out))
    assert not UNSAFE.search(plain)
    assert links(out) == {"https://doi.org/10.1000/test.1"}
    for literal in LITERALS:
        assert literal in plain


@pytest.mark.parametrize(
    ("args", "literals"),
    [
        (["show", "doe-2020-ckd", "--format", "markdown"], LITERALS),
        (
            ["list", "--format", "markdown", "--columns", "title,population,limitations"],
            [MARKUP["A small study"], MARKUP["CKD stage 3-4"], LITERALS[-1]],
        ),
        (["outcomes", "--format", "markdown", "--columns", "result"], [MARKUP["30 to 31"]]),
    ],
    ids=["show", "list", "outcomes"],
)
def test_markdown_prints_markup_literally(
    runner: CliRunner, markup_registry: Path, args: list[str], literals: list[str]
) -> None:
    out = invoke(runner, "--registry", str(markup_registry), *args).stdout
    assert not UNSAFE.search(out)
    assert "[bold" not in out.replace("\\[bold", "")  # registry brackets are escaped: no
    assert "[link=" not in out.replace("\\[link=", "")  # link or image syntax can form
    shown = re.sub(r"\\([\[\]])", r"\1", out)  # what a Markdown renderer displays
    for literal in literals:
        assert literal in shown, (literal, out)


# ----------------------------------------------------------------------------- writers

HOSTILE_CELLS: tuple[str, ...] = (
    "\x1b[31mred\x1b[0m",
    "bell\x07",
    "csi\x9b2J",
    "rlo\u202eevil",
    "nul\x00byte",
    "osc\x1b]8;;https://evil\x1b\\link",
)
KEPT = ("red", "bell", "csi2J", "rloevil", "nulbyte", "link")


@pytest.mark.parametrize("terminal_path", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize(
    "fmt", [Format.TABLE, Format.CSV, Format.TSV, Format.MARKDOWN], ids=lambda f: f.value
)
def test_writers_strip_control_characters_that_got_past_the_model(
    fmt: Format, terminal_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: clean() runs in every writer, whatever the model let through."""
    monkeypatch.setenv("COLUMNS", "120")
    table = Table(
        ("text", "items"), tuple((cell, (cell, "ok")) for cell in HOSTILE_CELLS), "cap\x1b[2J"
    )
    stream = io.StringIO()
    writers.WRITERS[fmt](
        Written(table=lambda f: table), fmt, OutputOptions(), stream, terminal_path
    )
    out = visible(stream.getvalue()).replace("\r\n", "\n")  # CSV's own line ends
    assert not UNSAFE.search(out), repr(out)
    for kept in KEPT:
        assert kept in out


@pytest.mark.parametrize("terminal_path", [False, True], ids=["piped", "terminal"])
def test_table_keeps_the_text_after_a_tab(
    terminal_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rich measures a tab as zero width and used to crop what followed it."""
    monkeypatch.setenv("COLUMNS", "120")
    stream = io.StringIO()
    table = Table(("text", "more"), (("before\tafter the tab", ("x\ty",)),))
    writers.write_table(table, OutputOptions(), stream, terminal_path)
    assert "before after the tab" in stream.getvalue()
    assert "x y" in stream.getvalue()


def test_tsv_writes_quotes_and_lone_empty_cells(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    """TSV has no quoting, so csv.QUOTE_NONE used to refuse both (a traceback, exit 1)."""
    path = write_registry(edit(("A small study", 'A \\"quoted\\" study')))
    out = invoke(runner, "--registry", str(path), "list", "--columns", "title").stdout
    assert out == 'title\nA "quoted" study\n'
    out = invoke(runner, "--registry", str(path), "list", "--columns", "pmid").stdout
    assert out == "pmid\n\n"


def test_records_escape_every_control_character() -> None:
    """JSON carries text exactly; json escapes C0 controls, so ESC never reaches a terminal.

    (C1 and bidi controls are written as they are, but no registry can hold them: the model
    refuses them, see above.)
    """
    stream = io.StringIO()
    writers.write_json([{"t": cell} for cell in HOSTILE_CELLS], Format.JSON, stream)
    assert "\x1b" not in stream.getvalue()
    assert [r["t"] for r in json.loads(stream.getvalue())] == list(HOSTILE_CELLS)


# ============================================================================= spreadsheets

FORMULAS = {
    "A small study": '=HYPERLINK(\\"https://evil.example\\",\\"click\\")',
    "CKD stage 3-4": "+SUM(A1:A9)",
    "Journal of Tests": "@cmd",
    "Ten patients, no control group.": "-2+3 patients",
}
SPREADSHEET_COLUMNS = "id,title,population,journal,citation,limitations,safety"


@pytest.fixture
def formula_registry(write_registry: Callable[..., Path]) -> Path:
    text = MINIMAL
    for old, new in FORMULAS.items():
        text = text.replace(old, new, 1)
    text = text.replace("enrolled = 10", 'enrolled = 10\nsafety = "\\t=1+1 after a tab"', 1)
    return write_registry(text)


RAW_ROW = [
    "doe-2020-ckd",
    '=HYPERLINK("https://evil.example","click")',
    "+SUM(A1:A9)",
    "@cmd",
    "Doe J et al., @cmd 2020",
    "-2+3 patients (curator)",
    " =1+1 after a tab",  # clean() turned the tab into a space: no longer a formula
]
SAFE_ROW = [
    "doe-2020-ckd",
    '\'=HYPERLINK("https://evil.example","click")',
    "'+SUM(A1:A9)",
    "'@cmd",
    "Doe J et al., @cmd 2020",
    "'-2+3 patients (curator)",
    " =1+1 after a tab",
]


def parse(out: str, fmt: str) -> list[list[str]]:
    import csv

    if fmt == "csv":
        return list(csv.reader(io.StringIO(out, newline="")))
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@pytest.mark.parametrize("safe", [False, True], ids=["as-is", "safe-csv"])
def test_formula_cells_are_written_as_is_unless_safe_csv(
    runner: CliRunner, formula_registry: Path, fmt: str, safe: bool
) -> None:
    flag = ["--safe-csv"] if safe else []
    args = ["list", "--format", fmt, "--columns", SPREADSHEET_COLUMNS, *flag]
    result = invoke(runner, "--registry", str(formula_registry), *args)
    assert result.exit_code == 0, result.output
    header, row = parse(result.stdout, fmt)
    assert header == SPREADSHEET_COLUMNS.split(",")  # the header is never prefixed
    assert row == (SAFE_ROW if safe else RAW_ROW)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_safe_csv_covers_outcomes_and_summary_and_vocab(
    runner: CliRunner, formula_registry: Path, write_registry: Callable[..., Path], fmt: str
) -> None:
    path = write_registry(edit(('"30 to 31"', '"=1+1"'), ('"6 months"', '"6 months"')))
    out = invoke(
        runner, "--registry", str(path), "outcomes", "--format", fmt, "--columns", "result",
        "--safe-csv",
    ).stdout  # fmt: skip
    assert parse(out, fmt) == [["result"], ["'=1+1"]]
    for command in (["summary"], ["vocab", "designs"]):
        plain = invoke(runner, "--registry", str(path), *command, "--format", fmt).stdout
        safe = invoke(runner, "--registry", str(path), *command, "--format", fmt, "--safe-csv")
        assert safe.exit_code == 0
        assert safe.stdout == plain  # nothing formula-like there: --safe-csv changes nothing


@pytest.mark.parametrize("fmt", ["json", "jsonl", "markdown", "table"])
def test_safe_csv_leaves_other_formats_alone(
    runner: CliRunner, formula_registry: Path, fmt: str
) -> None:
    args = ["--registry", str(formula_registry), "list", "--format", fmt]
    if fmt in {"markdown", "table"}:
        args += ["--columns", SPREADSHEET_COLUMNS]
    plain = invoke(runner, *args)
    safe = invoke(runner, *args, "--safe-csv")
    assert safe.exit_code == 0
    assert safe.stdout == plain.stdout
    assert "'=HYPERLINK" not in safe.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("'=1", "'=1"),
        ("", ""),
    ],
)
def test_defuse_prefixes_exactly_the_formula_starts(value: str, expected: str) -> None:
    assert writers.defuse(value) == expected


# ============================================================================= no data lost


@final
class FailingStream:
    """A text file that takes `limit` characters, then fails like a full disk."""

    def __init__(self, inner: Any, limit: int, error: BaseException) -> None:
        self._inner = inner
        self._left = limit
        self._error = error

    def write(self, text: str) -> int:
        if len(text) > self._left:
            self._inner.write(text[: self._left])
            self._inner.flush()
            self._left = 0
            raise self._error
        self._left -= len(text)
        return int(self._inner.write(text))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> FailingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()

    def __iter__(self) -> Any:
        return iter(self._inner)


def fail_writes_after(
    monkeypatch: pytest.MonkeyPatch, limit: int, error: BaseException | None = None
) -> None:
    """Every file opened by stemrenal.output fails after `limit` characters."""
    from stemrenal.output import files as output

    real = os.fdopen
    failure = error or OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> FailingStream:
        return FailingStream(real(fd, *args, **kwargs), limit, failure)

    monkeypatch.setattr(output.os, "fdopen", fdopen)


def snapshot(path: Path) -> tuple[bytes, int, int]:
    info = path.stat()
    return path.read_bytes(), info.st_mtime_ns, info.st_mode


OUTPUT_COMMANDS = {
    "list-csv": ["list", "--format", "csv"],
    "list-tsv": ["list"],
    "list-json": ["list", "--format", "json"],
    "list-jsonl": ["list", "--format", "jsonl"],
    "list-markdown": ["list", "--format", "markdown"],
    "list-table": ["list", "--format", "table"],
    "outcomes": ["outcomes", "--format", "csv"],
    "summary": ["summary", "--format", "json"],
    "vocab": ["vocab", "--format", "csv"],
    "show-plain": ["show", SHAO],
    "show-json": ["show", SHAO, "--format", "json"],
    "show-markdown": ["show", SHAO, "--format", "markdown"],
    "cite": ["cite", SHAO, "--style", "bibtex"],
}


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """An earlier export that a failed run must leave exactly as it was."""
    out = tmp_path / "out"
    out.mkdir()
    target = out / "export.txt"
    target.write_bytes(b"previous export\r\nwith two lines, no final newline")
    target.chmod(0o640)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    return target


@pytest.mark.parametrize("args", OUTPUT_COMMANDS.values(), ids=OUTPUT_COMMANDS.keys())
def test_failure_mid_write_keeps_the_previous_file_and_leaves_no_temporary(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, previous: Path, args: list[str]
) -> None:
    assert args[0] in cli.commands
    before = snapshot(previous)
    fail_writes_after(monkeypatch, 40)
    result = invoke(runner, "--registry", str(SEED), *args, "--output", str(previous))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot write {previous}: No space left on device"
    )
    assert snapshot(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()) == ["export.txt"]


def test_failure_mid_write_creates_no_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fail_writes_after(monkeypatch, 10)
    target = tmp_path / "new.csv"
    result = invoke(runner, "--registry", str(SEED), "list", "-o", str(target))
    assert result.exit_code == 1
    assert not target.exists()
    assert not any(p.name.startswith(".new.csv.") for p in tmp_path.iterdir())


def test_ctrl_c_mid_write_keeps_the_previous_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, previous: Path
) -> None:
    before = snapshot(previous)
    fail_writes_after(monkeypatch, 40, KeyboardInterrupt())
    result = invoke(runner, "--registry", str(SEED), "list", "-o", str(previous))
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"
    assert snapshot(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()) == ["export.txt"]


def test_failed_rename_keeps_the_previous_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, previous: Path
) -> None:
    from stemrenal.output import files as output

    def refuse(src: str, dst: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    before = snapshot(previous)
    monkeypatch.setattr(output.os, "replace", refuse)
    result = invoke(runner, "--registry", str(SEED), "list", "-o", str(previous))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {previous}: {os.strerror(errno.EXDEV)}\n"
    assert snapshot(previous) == before
    assert sorted(p.name for p in previous.parent.iterdir()) == ["export.txt"]


def test_unwritable_directory_keeps_the_previous_file(runner: CliRunner, previous: Path) -> None:
    if sys.platform == "win32" or os.geteuid() == 0:
        pytest.skip("permissions do not stop root (or Windows) from writing")
    before = snapshot(previous)
    previous.parent.chmod(0o555)
    try:
        result = invoke(runner, "--registry", str(SEED), "list", "-o", str(previous))
    finally:
        previous.parent.chmod(0o755)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot write {previous}: Permission denied")
    assert snapshot(previous) == before


def test_success_replaces_the_file_and_keeps_its_permissions(
    runner: CliRunner, previous: Path
) -> None:
    result = invoke(runner, "--registry", str(SEED), "list", "--format", "csv", "-o", str(previous))
    assert result.exit_code == 0
    assert previous.read_text(encoding="utf-8").startswith("id,citation,")
    assert previous.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in previous.parent.iterdir()) == ["export.txt"]


# ----------------------------------------------------------------------------- registries stay put

#: Arguments for every command; a command added later without an entry here runs bare.
EVERY_COMMAND: dict[str, list[list[str]]] = {
    "list": [[], ["--format", "csv"], ["--format", "json"], ["--format", "table"],
             ["--format", "markdown"], ["--output", "{out}/list.csv"]],
    "outcomes": [[], ["--format", "json"], ["--output", "{out}/outcomes.md"]],
    "summary": [[], ["--format", "json"]],
    "show": [[SHAO], [SHAO, "--format", "json"], [SHAO, "--format", "markdown"],
             [SHAO, "--output", "{out}/show.txt"]],
    "cite": [[SHAO], ["--style", "bibtex"], ["--style", "ris", "--output", "{out}/refs.ris"]],
    "vocab": [[], ["diseases", "--format", "json"]],
    "validate": [[], ["{registry}"]],
    "schema": [[]],
    "check": [[str(Path(__file__).resolve().parent.parent / "claims" / "seed-article-zh.toml")],
              [str(Path(__file__).resolve().parent.parent / "claims" / "seed-article-zh.toml"),
               "--output", "{out}/claims.csv"]],
    "brief": [[], ["--output", "{out}/brief.html"], ["--lang", "zh", "--format", "markdown"]],
    "map": [[], ["--format", "json"]],
    "rob": [[], ["--format", "robvis", "--output", "{out}/rob.csv"]],
    "evidence": [[], ["--by", "disease", "--format", "json"]],
    # fmt is the one command whose job is to rewrite registry files (tests/test_curate.py
    # holds it to "never loses data"), so it is not run here
    "fmt": [],
    "new": [["--design", "rct"], ["--design", "single-arm", "--output", "{out}/new.toml"]],
    "import": [[str(Path(__file__).resolve().parent / "fixtures" / "citations" / "deng-2017.ris")]],
}  # fmt: skip


def fingerprint(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("as_dir", [False, True], ids=["file", "directory"])
@pytest.mark.parametrize("command", sorted(set(EVERY_COMMAND) | set(cli.commands)))
def test_no_command_writes_the_registry(
    runner: CliRunner, tmp_path: Path, command: str, as_dir: bool
) -> None:
    assert command in cli.commands, f"EVERY_COMMAND names {command!r}, which does not exist"
    folder = tmp_path / "registry"
    folder.mkdir()
    shutil.copy2(SEED, folder / "seed.toml")
    (folder / "more.toml").write_text(
        MINIMAL.replace("doe-2020-ckd", "doe-2020-more"), encoding="utf-8"
    )
    out = tmp_path / "exports"
    out.mkdir()
    registry = folder if as_dir else folder / "seed.toml"
    before = fingerprint(folder)
    for args in EVERY_COMMAND.get(command, [[]]):
        argv = [a.format(out=out, registry=registry) for a in args]
        result = invoke(runner, "--registry", str(registry), command, *argv)
        assert result.exit_code == 0, (argv, result.output)
        assert fingerprint(folder) == before, argv


COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def test_no_color_leaves_styles_but_no_colour(
    terminal: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR (no-color.org) removes colour; the terminal table keeps its layout."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = CliRunner().invoke(cli, ["--registry", str(SEED), "list", "--format", "table"]).stdout
    assert "╭" in out
    assert not COLOUR.search(out)


# ----------------------------------------------------------------------------- clean(), fast path

from stemrenal.text import _UNSAFE  # the one definition of unsafe characters

_REF_CONTROL = re.compile(f"[{_UNSAFE}]")
_REF_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\u2028\u2029]+")


def _reference_clean(value: str, multiline: bool) -> str:
    """clean() as specified, without its shortcut for text that is all printable."""
    if not multiline:
        value = _REF_BREAKS.sub(" ", value)
    return _REF_CONTROL.sub("", value.replace("\r\n", "\n").replace("\t", " "))


@settings(max_examples=300, deadline=None)
@given(value=st.text(), multiline=st.booleans())
def test_clean_shortcut_changes_nothing(value: str, multiline: bool) -> None:
    assert strip_controls(value, multiline) == _reference_clean(value, multiline)


@pytest.mark.parametrize(
    "value", ["a\x1b[31mb", "a\u2028b", "a\u202eb", "a\r\nb", "a\tb", "a\x85b", "plain", "中文 🙂"]
)
@pytest.mark.parametrize("multiline", [False, True])
def test_clean_shortcut_on_the_characters_it_must_catch(value: str, multiline: bool) -> None:
    assert strip_controls(value, multiline) == _reference_clean(value, multiline)
