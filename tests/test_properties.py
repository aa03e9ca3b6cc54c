"""Property-based tests (Hypothesis).

(a) Generated valid registries round-trip: TOML text -> loader -> `list`/`outcomes` as JSON,
    CSV and TSV -> parsed back, equal to the generated values.
(b) Hostile text in every string field never breaks a format: CSV and TSV parse back cell for
    cell, JSON is exact, Markdown rows keep their pipes, the Rich table prints markup literally.
(c) Durations parse exactly as documented, and nothing else parses.

Examples are kept few (tens) so the suite stays fast; no function-scoped fixture is used inside
@given (each example writes its registry to its own temporary directory).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stemrenal import registry
from stemrenal.cli import cli
from stemrenal.durations import ACCEPTED_FORMS, parse_duration

from strategies import FEW, HOSTILE, ONE_LINE, registries, registry_file

# ----------------------------------------------------------------------------- expected cells

Cell = str | tuple[str, ...] | None


def _joined(items: list[str], sep: str = ", ") -> str | None:
    return sep.join(items) if items else None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _citation(r: dict[str, Any]) -> str:
    authors = r["citation"]["authors"]
    first = authors[0] + (" et al." if len(authors) > 1 else "")
    return f"{first}, {r['citation']['journal']} {r['year']}"


def _limitations(r: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{lim['text']} ({lim['source']})" for lim in r["limitations"])


STUDY_CELLS: dict[str, Callable[[dict[str, Any]], Cell]] = {
    "id": lambda r: r["id"],
    "citation": _citation,
    "year": lambda r: str(r["year"]),
    "title": lambda r: r["title"],
    "authors": lambda r: ", ".join(r["citation"]["authors"]),
    "journal": lambda r: r["citation"]["journal"],
    "conditions": lambda r: ", ".join(r["conditions"]),
    "population": lambda r: r["population"],
    "design": lambda r: r["design"]["kind"],
    "randomized": lambda r: "yes" if r["design"]["randomized"] else "no",
    "phase": lambda r: r["design"]["phase"],
    "blinding": lambda r: r["design"]["blinding"],
    "comparator": lambda r: r["design"]["comparator"],
    "centres": lambda r: _opt(r["design"]["centres"]),
    "n": lambda r: _opt(r["enrolled"]),
    "arms": lambda r: _joined(
        [f"{a['name']} ({a['n'] if a['n'] is not None else '?'})" for a in r["arms"]], "; "
    ),
    "cell_type": lambda r: r["intervention"]["cell_type"],
    "cell_source": lambda r: r["intervention"]["cell_source"],
    "tissue": lambda r: r["intervention"]["tissue"],
    "dose": lambda r: r["intervention"]["dose"],
    "route": lambda r: r["intervention"]["route"],
    "doses": lambda r: _opt(r["intervention"]["doses"]),
    "follow_up": lambda r: r["follow_up"],
    "safety": lambda r: r["safety"],
    "limitations": _limitations,
    "doi": lambda r: r["citation"]["doi"],
    "pmid": lambda r: r["citation"]["pmid"],
    "registrations": lambda r: _joined(r["registrations"]),
    "overlaps": lambda r: _joined(r["overlaps"]),
    "countries": lambda r: _joined(r["countries"]),
    "sources": lambda r: _joined(r["sources"], " "),
}

OUTCOME_CELLS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Cell]] = {
    "study": lambda r, o: r["id"],
    "endpoint": lambda r, o: o["endpoint"],
    "measure": lambda r, o: o["measure"],
    "timepoint": lambda r, o: o["timepoint"],
    "result": lambda r, o: o["result"],
    "p_value": lambda r, o: o["p_value"],
    "direction": lambda r, o: o["direction"],
    "follow_up": lambda r, o: r["follow_up"],
    "n": lambda r, o: _opt(r["enrolled"]),
    "citation": lambda r, o: _citation(r),
    "limitations": lambda r, o: _limitations(r),
}


def study_rows(studies: list[dict[str, Any]], names: list[str]) -> list[list[Cell]]:
    return [[STUDY_CELLS[n](r) for n in names] for r in studies]


def outcome_rows(studies: list[dict[str, Any]], names: list[str]) -> list[list[Cell]]:
    return [[OUTCOME_CELLS[n](r, o) for n in names] for r in studies for o in r["outcomes"]]


def one_line(cell: Cell) -> str:
    """What a CSV/TSV cell holds: items joined with " | ", runs of tabs/newlines as one space."""
    if cell is None:
        return ""
    text = " | ".join(cell) if isinstance(cell, tuple) else cell
    return re.sub(r"[\t\n]+", " ", text)


def markdown(cell: Cell) -> str:
    """A Markdown cell, unescaped: items as bullets, tabs as spaces, `<` as `&lt;` (no raw
    HTML), newlines as <br>."""
    if cell is None:
        return "not reported"
    text = "\n".join(f"• {item}" for item in cell) if isinstance(cell, tuple) else cell
    return text.replace("\t", " ").replace("<", "&lt;").replace("\n", "<br>")


# ----------------------------------------------------------------------------- helpers


def run(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--registry", str(path), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def parse_tsv(text: str, width: int) -> list[list[str]]:
    assert text.endswith("\n")
    rows = [line.split("\t") for line in text[:-1].split("\n")]
    assert all(len(row) == width for row in rows), rows
    return rows


def markdown_cells(line: str) -> list[str]:
    """Split a Markdown table row on unescaped pipes; a backslash escapes the next character."""
    cells: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, ""))
        elif ch == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
    cells.append("".join(current))
    return cells


def check_markdown(text: str, names: list[str], rows: list[list[Cell]]) -> None:
    lines = text.splitlines()
    assert len(lines) == 2 + len(rows)
    for line, row in zip(lines[2:], rows, strict=True):
        cells = markdown_cells(line)
        assert len(cells) == len(names) + 2, line  # len(names) + 1 unescaped pipes
        assert cells[0] == cells[-1] == ""
        assert [c[1:-1] for c in cells[1:-1]] == [markdown(c) for c in row]


STUDY_NAMES = list(STUDY_CELLS)
OUTCOME_NAMES = list(OUTCOME_CELLS)


# ----------------------------------------------------------------------------- (a) round trip


@FEW
@given(studies=registries(ONE_LINE))
def test_valid_registry_round_trips_through_json_csv_and_tsv(studies: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = registry_file(tmp, studies)
        assert [s.id for s in registry.load([path])] == [r["id"] for r in studies]

        records = json.loads(run(path, "list", "--format", "json"))
        for record, expected in zip(records, studies, strict=True):
            months = record.pop("follow_up_months")
            assert record == expected
            if expected["follow_up"] is None:
                assert months is None
            else:
                assert months == pytest.approx(documented_months(expected["follow_up"]), abs=0.01)

        names = ",".join(STUDY_NAMES)
        want = [
            STUDY_NAMES,
            *([one_line(c) for c in row] for row in study_rows(studies, STUDY_NAMES)),
        ]
        assert parse_csv(run(path, "list", "--format", "csv", "--columns", names)) == want
        tsv = run(path, "list", "--format", "tsv", "--columns", names)
        assert parse_tsv(tsv, len(STUDY_NAMES)) == want

        names = ",".join(OUTCOME_NAMES)
        rows = outcome_rows(studies, OUTCOME_NAMES)
        want = [OUTCOME_NAMES, *([one_line(c) for c in row] for row in rows)]
        assert parse_csv(run(path, "outcomes", "--format", "csv", "--columns", names)) == want
        tsv = run(path, "outcomes", "--format", "tsv", "--columns", names)
        assert parse_tsv(tsv, len(OUTCOME_NAMES)) == want


# ----------------------------------------------------------------------------- (b) hostile text

#: Free-text columns for the Rich table (where markup would be read if it were ever enabled).
TEXT_COLUMNS = ["id", "title", "authors", "population", "safety", "limitations"]
MARKUP = re.compile(r"\[/?[a-z]*(?:=[^\]]*)?\]")
SGR = re.compile(r"\x1b\[[0-9;]*m")


@FEW
@given(studies=registries(HOSTILE))
def test_hostile_text_never_breaks_an_output_format(studies: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = registry_file(tmp, studies)

        records = json.loads(run(path, "list", "--format", "json"))
        assert [{k: v for k, v in r.items() if k != "follow_up_months"} for r in records] == (
            studies
        )

        for command, all_names, expected in (
            ("list", STUDY_NAMES, study_rows),
            ("outcomes", OUTCOME_NAMES, outcome_rows),
        ):
            names = ",".join(all_names)
            rows = expected(studies, all_names)
            want = [all_names, *([one_line(c) for c in row] for row in rows)]
            assert parse_csv(run(path, command, "--format", "csv", "--columns", names)) == want
            tsv = run(path, command, "--format", "tsv", "--columns", names)
            assert parse_tsv(tsv, len(all_names)) == want
            md = run(path, command, "--format", "markdown", "--columns", names)
            check_markdown(md, all_names, rows)

        table = run(path, "list", "--format", "table", "--columns", ",".join(TEXT_COLUMNS))
        assert "\x1b" not in table
        for row in study_rows(studies, TEXT_COLUMNS):
            for cell in row:
                for item in cell if isinstance(cell, tuple) else [cell or ""]:
                    for tag in MARKUP.findall(item):
                        assert tag in table, tag
                    for line in item.replace("\t", " ").split("\n"):
                        assert line.strip() in table, (line, table)

        with (
            mock.patch("stemrenal.output.is_terminal", return_value=True),
            mock.patch.dict(os.environ, {"COLUMNS": "100", "TERM": "xterm-256color"}),
        ):
            for command in ("list", "outcomes"):
                shown = run(path, command)
                assert "\x1b" not in SGR.sub("", shown), repr(shown)
                assert "\x07" not in shown
                assert "\x9b" not in shown


# ----------------------------------------------------------------------------- (c) durations

_DAY = 12 / 365.25
#: The documented units (durations.py, README): English and Chinese, any letter case.
UNITS: dict[str, float] = {
    **dict.fromkeys(["d", "day", "days", "天", "日"], _DAY),
    **dict.fromkeys(["w", "wk", "wks", "week", "weeks", "周", "星期"], 7 * _DAY),
    **dict.fromkeys(["m", "mo", "mos", "mon", "month", "months", "个月", "月"], 1.0),
    **dict.fromkeys(["y", "yr", "yrs", "year", "years", "年"], 12.0),
}
_GRAMMAR = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(.+?)\s*", re.DOTALL)


def documented_months(text: str) -> float | None:
    """The documented reading: a number, optional spaces, a unit; None when it is not one."""
    match = _GRAMMAR.fullmatch(text.casefold())
    if match is None or match.group(2) not in UNITS:
        return None
    months = float(match.group(1)) * UNITS[match.group(2)]
    return months if math.isfinite(round(months, 2)) else None


def test_every_example_in_the_accepted_forms_parses() -> None:
    examples = ACCEPTED_FORMS.split("e.g. ", 1)[1].split(", ")
    assert len(examples) >= 8
    for example in examples:
        assert parse_duration(example) == pytest.approx(documented_months(example), abs=0.01)


NUMBERS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.from_regex(r"[0-9]{1,4}\.[0-9]{1,3}", fullmatch=True),
)
SPACES = st.sampled_from(["", " ", "  ", "\t", "\u3000"])
CASES = st.sampled_from([str.lower, str.upper, str.title])


@settings(max_examples=100, deadline=None)
@given(
    number=NUMBERS,
    unit=st.sampled_from(sorted(UNITS)),
    case=CASES,
    before=SPACES,
    between=SPACES,
    after=SPACES,
)
def test_documented_durations_parse(
    number: str, unit: str, case: Callable[[str], str], before: str, between: str, after: str
) -> None:
    text = f"{before}{number}{between}{case(unit)}{after}"
    expected = float(number) * UNITS[unit]
    assert parse_duration(text) == pytest.approx(expected, abs=0.01)


def _near_misses() -> st.SearchStrategy[str]:
    parts = st.sampled_from(
        ["", " ", "-", "+", ".", ",", "e3", "1", "12", "0.5", "½", "６", "one", "half",
         "month", "months", "mnths", "weeks", "y", "yrs", "years", "年", "个月", "and", "/"]
    )  # fmt: skip
    return st.lists(parts, max_size=5).map("".join)


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(_near_misses(), st.text(max_size=12)))
def test_duration_parses_exactly_what_is_documented(text: str) -> None:
    expected = documented_months(text)
    if expected is None:
        with pytest.raises(ValueError, match="cannot read duration") as info:
            parse_duration(text)
        assert ACCEPTED_FORMS in str(info.value) or "too large" in str(info.value)
    else:
        assert parse_duration(text) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "months", "6", "-6 months", "+6 months", "6 months 2 weeks", "6 months and",
        "1e3 days", ".5 years", "1. years", "1.5.2 years", "1,5 years", "six months",
        "6 mnths", "6 fortnights", "6 m o", "9" * 400 + " days", "1" + "0" * 308 + " years",
    ],
)  # fmt: skip
def test_undocumented_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration(text)


def test_years_are_twelve_months() -> None:
    for n in ("1", "1.5", "10"):
        assert parse_duration(f"{n} years") == parse_duration(f"{float(n) * 12} months")
