"""The one output path: every format has a writer, every command writes each of its formats,
and the format is chosen in one place (explicit, then file suffix, then terminal or pipe)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli
from stemrenal.output import (
    CITATION,
    DOCUMENT,
    FIGURES,
    PAGE,
    ROWS,
    SUFFIXES,
    TABULAR,
    Defaults,
    Format,
    OutputOptions,
    choose_format,
)
from stemrenal.output.tables import Table, as_text, choose_columns, project
from stemrenal.output.writers import WRITERS

from helpers import SEED

#: Every command that writes through `output.write`, with the formats it offers.
COMMANDS: dict[str, tuple[list[str], tuple[Format, ...]]] = {
    "list": (["list"], (*TABULAR, Format.SQLITE)),
    "outcomes": (["outcomes"], TABULAR),
    "summary": (["summary"], TABULAR),
    "vocab": (["vocab", "designs"], TABULAR),
    "safety": (["safety"], TABULAR),
    "trials": (["trials"], TABULAR),  # the bundled registry: the seed file holds no trials
    "about": (["about"], DOCUMENT),
    "show": (["show", "ranjbar-2022-lupus-nephritis"], (*DOCUMENT, Format.TOML)),
    "cite": (["cite"], CITATION),
    "evidence": (["evidence"], TABULAR),
    "map": (["map"], (*TABULAR, *FIGURES)),
    "rob": (["rob"], (*TABULAR, Format.ROBVIS, *FIGURES)),
    "brief": (["brief"], PAGE),
    "check": (
        ["check", str(Path(__file__).resolve().parent.parent / "claims" / "seed-article-zh.toml")],
        TABULAR,
    ),
}


def test_every_format_has_a_writer() -> None:
    assert set(WRITERS) == set(Format)


def test_every_format_is_offered_by_some_command() -> None:
    offered = {fmt for _, formats in COMMANDS.values() for fmt in formats}
    assert offered == set(Format)


def test_every_command_that_writes_is_listed_here() -> None:
    # validate and schema print fixed shapes; new, import and fmt write registry text
    curate = {"new", "import", "fmt"}
    assert set(COMMANDS) | {"validate", "schema"} | curate == set(cli.commands)


@pytest.mark.parametrize(
    ("args", "fmt"),
    [(args, fmt) for args, formats in COMMANDS.values() for fmt in formats],
    ids=lambda v: v.value if isinstance(v, Format) else v[0],
)
def test_every_command_writes_each_of_its_formats(args: list[str], fmt: Format) -> None:
    where = [] if args[0] == "trials" else ["--registry", str(SEED)]
    result = CliRunner().invoke(cli, [*where, *args, "--format", fmt.value], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


@pytest.mark.parametrize(("args", "formats"), COMMANDS.values(), ids=list(COMMANDS))
def test_a_format_a_command_does_not_offer_is_a_usage_error(
    args: list[str], formats: tuple[Format, ...]
) -> None:
    other = next(fmt for fmt in Format if fmt not in formats)
    result = CliRunner().invoke(cli, ["--registry", str(SEED), *args, "--format", other.value])
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


@pytest.mark.parametrize(
    ("path", "formats", "expected"),
    [
        ("out.csv", TABULAR, Format.CSV),
        ("OUT.TSV", TABULAR, Format.TSV),
        ("out.json", TABULAR, Format.JSON),
        ("out.json", CITATION, Format.CSL_JSON),
        ("out.json", DOCUMENT, Format.JSON),
        ("out.md", DOCUMENT, Format.MARKDOWN),
        ("refs.bib", CITATION, Format.BIBTEX),
        ("out", TABULAR, Format.TSV),
    ],
)
def test_the_suffix_chooses_among_the_commands_formats(
    path: str, formats: tuple[Format, ...], expected: Format
) -> None:
    assert choose_format(OutputOptions(path=path), io.StringIO(), formats, ROWS) == expected


def test_a_suffix_the_command_cannot_write_is_a_usage_error() -> None:
    from stemrenal.errors import UsageProblem

    for path in ("refs.bib", "out.xlsx", "page.html"):
        with pytest.raises(UsageProblem, match="cannot tell the format"):
            choose_format(OutputOptions(path=path), io.StringIO(), TABULAR, ROWS)


def test_an_explicit_format_beats_the_suffix() -> None:
    options = OutputOptions(format=Format.JSON, path="out.csv")
    assert choose_format(options, io.StringIO()) == Format.JSON


def test_the_default_follows_the_stream() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    defaults = Defaults(Format.TABLE, Format.TSV)
    assert choose_format(OutputOptions(), Terminal(), TABULAR, defaults) == Format.TABLE
    assert choose_format(OutputOptions(), io.StringIO(), TABULAR, defaults) == Format.TSV


def test_every_suffix_names_real_formats() -> None:
    assert all(fmts and set(fmts) <= set(Format) for fmts in SUFFIXES.values())


def test_written_file_gets_its_format_from_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "refs.ris"
    result = CliRunner().invoke(
        cli, ["--registry", str(SEED), "cite", "-o", str(target)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("TY  - JOUR")


# ----------------------------------------------------------------------------- tables


def test_choose_columns_keeps_the_order_asked_for() -> None:
    assert choose_columns(["b", "a"], ["a", "b", "c"], ["c"]) == ("b", "a")
    assert choose_columns(None, ["a", "b"], ["b"]) == ("b",)


def test_choose_columns_names_the_valid_ones() -> None:
    from stemrenal.errors import UsageProblem

    with pytest.raises(UsageProblem, match="unknown column 'x'; valid columns: a, b"):
        choose_columns(["x"], ["a", "b"], ["a"])
    with pytest.raises(UsageProblem, match="valid columns: a, b"):
        choose_columns(("help",), ["a", "b"], ["a"])


def test_project_keeps_rows_and_caption() -> None:
    table = Table(("a", "b", "c"), (("1", "2", "3"), ("4", None, "6")), "note")
    assert project(table, ["c", "a"]) == Table(("c", "a"), (("3", "1"), ("6", "4")), "note")


@pytest.mark.parametrize(
    ("value", "cell"),
    [(None, None), ("x", "x"), (True, "yes"), (False, "no"), (1.5, "1.5"), (12.0, "12"), (3, "3")],
)
def test_as_text(value: object, cell: object) -> None:
    assert as_text(value) == cell
