"""Reading on a terminal and scripting: layouts measured in a real pseudo-terminal at 80, 120
and 200 columns, the pager, lookups by PMID/DOI/registration/prefix, order by evidence, one
JSON shape, refusals instead of silent surprises, and the SQLite export."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import sqlite3
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stemrenal import registry
from stemrenal.cli import cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def on_terminal(
    args: list[str],
    columns: int,
    rows: int = 400,
    env: dict[str, str] | None = None,
    both: bool = False,
) -> tuple[str, str]:
    """Run stemrenal with stdout on a pseudo-terminal of this size; (screen text, stderr)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {**os.environ, "COLUMNS": str(columns), "LINES": str(rows), **(env or {})}
    environment.pop("STEMRENAL_REGISTRY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stemrenal", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower if both else subprocess.PIPE,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    _, err = proc.communicate(timeout=120)
    err = err or b""
    assert proc.returncode == 0, err.decode()
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")
    return text, err.decode()


def cells(screen: str) -> list[str]:
    """Every cell of a box-drawn table as one string: its lines joined at spaces, or straight
    on after a line that ends in a hyphen (where wrapping is allowed to break)."""
    found: list[str] = []
    current: dict[int, list[str]] = {}

    def flush() -> None:
        for parts in current.values():
            text = ""
            for part in parts:
                if not part:
                    continue
                text += part if text.endswith("-") or not text else " " + part
            if text:
                found.append(text)
        current.clear()

    for line in screen.splitlines():
        if line.startswith(("├", "╰", "╭")):
            flush()
        elif line.startswith("│"):
            for index, part in enumerate(line.strip("│").split("│")):
                current.setdefault(index, []).append(part.strip())
    flush()
    return found


STUDY_IDS = [s.id for s in registry.open_registry().studies]


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_list_never_splits_an_id(columns: int) -> None:
    screen, _ = on_terminal(["list", "--no-pager"], columns)
    joined = " ".join(cells(screen))
    missing = [i for i in STUDY_IDS if i not in joined]
    assert missing == []
    assert max(len(line) for line in screen.splitlines()) <= columns


@pytest.mark.parametrize(("columns", "most"), [(80, 200), (120, 120), (200, 90)])
def test_outcomes_of_one_trial_fit_a_screen(columns: int, most: int) -> None:
    screen, _ = on_terminal(
        ["outcomes", "--disease", "lupus", "--design", "rct", "--no-pager"], columns
    )
    lines = screen.splitlines()
    assert len(lines) < most
    # the study's limitations once, not on every outcome row
    deng = next(s for s in registry.open_registry().studies if s.id == "deng-2017-lupus-nephritis")
    first = deng.limitations[0].text.split()[:4]
    assert sum(1 for c in cells(screen) if " ".join(first) in c) == 1
    assert "deng-2017-lupus-nephritis" in " ".join(cells(screen))


def test_the_result_is_the_widest_column_of_outcomes() -> None:
    screen, _ = on_terminal(["outcomes", "--disease", "lupus", "--no-pager"], 120)
    header = next(line for line in screen.splitlines() if line.startswith("│"))
    widths = [len(part) for part in header.strip("│").split("│")]
    assert widths[-1] == max(widths)


@pytest.mark.parametrize("columns", [80, 120, 200])
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["summary"], ["systemic-lupus-erythematosus", "focal-segmental-glomerulosclerosis"]),
        (["vocab", "diseases"], ["systemic-lupus-erythematosus", "haemodialysis-vascular-access"]),
        (["evidence", "--disease", "lupus-nephritis"], ["single-arm", "renal-response"]),
    ],
    ids=["summary", "vocab", "evidence"],
)
def test_terms_are_never_split(columns: int, args: list[str], words: list[str]) -> None:
    screen, _ = on_terminal([*args, "--no-pager"], columns)
    joined = " ".join(cells(screen))
    for word in words:
        assert word in joined


def test_a_forced_width_applies_anywhere() -> None:
    result = CliRunner().invoke(cli, ["list", "--format", "table", "--width", "90"])
    assert result.exit_code == 0
    widths = {len(line) for line in result.stdout.splitlines() if line.strip()}
    assert max(widths) <= 90
    screen, _ = on_terminal(["list", "--width", "100", "--no-pager"], 200)
    assert max(len(line) for line in screen.splitlines()) <= 100


# ----------------------------------------------------------------------------- the pager

PAGER = {"PAGER": "sed s/^/PAGED:/"}


def test_tall_output_goes_through_the_pager_and_the_notice_does_not() -> None:
    screen, _ = on_terminal(["list", "--disease", "lupus"], 100, rows=20, env=PAGER, both=True)
    lines = [line for line in screen.splitlines() if line.strip()]
    *paged, notice = lines
    assert len(paged) > 20
    assert all(line.startswith("PAGED:") for line in paged)
    assert notice == "stemrenal summarises published research; it is not medical advice."


def test_no_pager_and_short_output_are_not_paged() -> None:
    screen, _ = on_terminal(["list", "--disease", "lupus", "--no-pager"], 100, rows=20, env=PAGER)
    assert "PAGED:" not in screen
    short, _ = on_terminal(["vocab", "designs"], 200, rows=60, env=PAGER)
    assert "PAGED:" not in short


def test_a_pipe_is_never_paged() -> None:
    result = CliRunner().invoke(cli, ["list", "--disease", "lupus"], env=PAGER)
    assert "PAGED:" not in result.stdout


# ----------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    "name",
    [
        "28478399",
        "10.1136/annrheumdis-2017-211073",
        "https://doi.org/10.1136/annrheumdis-2017-211073",
        "doi:10.1136/ANNRHEUMDIS-2017-211073",
        "NCT01539902",
        "nct01539902",
        "DENG-2017",
        "Deng-2017-lupus-nephritis",
    ],
)
def test_show_finds_a_study_by_what_a_reader_has(name: str) -> None:
    result = CliRunner().invoke(cli, ["show", name, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "deng-2017-lupus-nephritis"


def test_an_ambiguous_prefix_lists_the_candidates() -> None:
    result = CliRunner().invoke(cli, ["show", "wang"])
    assert result.exit_code == 2
    assert "matches" in result.stderr
    for study_id in ("wang-2014-sle-multicenter", "wang-2018-sle-5yr"):
        assert study_id in result.stderr


def test_cite_keeps_the_order_asked_for_and_says_what_filters_drop() -> None:
    result = CliRunner().invoke(
        cli, ["cite", "shao-2021", "28478399", "--format", "csl-json", "--design", "rct"]
    )
    assert [i["id"] for i in json.loads(result.stdout)] == [
        "shao-2021-chronic-renal-failure", "deng-2017-lupus-nephritis",
    ]  # fmt: skip
    dropped = CliRunner().invoke(cli, ["cite", "ranjbar", "--design", "rct"])
    assert dropped.exit_code == 0
    assert "ranjbar-2022-lupus-nephritis is left out by the filters" in dropped.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N-acetylcysteine", "shao-2021-chronic-renal-failure"),  # comparator
        ("10.1136/annrheumdis", "deng-2017-lupus-nephritis"),  # DOI
        ("28478399", "deng-2017-lupus-nephritis"),  # PMID
        ("NCT01539902", "deng-2017-lupus-nephritis"),  # registration
        ("Linyi", "shao-2021-chronic-renal-failure"),  # institution
    ],
)
def test_search_covers_every_text_field(text: str, expected: str) -> None:
    result = CliRunner().invoke(cli, ["list", "--search", text, "--columns", "id"])
    assert expected in result.stdout.split()


# ----------------------------------------------------------------------------- order, finding


def records(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sort_design_puts_stronger_evidence_first() -> None:
    rank = {"rct": 0, "non-randomized-controlled": 1, "single-arm": 2, "case-series": 3}
    kinds = [r["design"]["kind"] for r in records("list", "--sort", "design")]
    assert kinds == sorted(kinds, key=rank.__getitem__)
    reverse = [r["design"]["kind"] for r in records("list", "--sort", "-design")]
    assert reverse == sorted(reverse, key=rank.__getitem__, reverse=True)


def test_list_shows_what_the_primary_outcome_found() -> None:
    out = (
        CliRunner()
        .invoke(
            cli, ["list", "--design", "rct", "--columns", "id,primary_finding", "--format", "tsv"]
        )
        .stdout
    )
    rows = dict(line.split("\t") for line in out.splitlines()[1:])
    assert rows["deng-2017-lupus-nephritis"] == "renal-response: no-difference (between groups)"
    assert "no primary outcome reported" in rows.values()


# ----------------------------------------------------------------------------- one shape


def test_outcomes_records_nest_the_study_as_list_does() -> None:
    listed = {r["id"]: r for r in records("list", "--disease", "lupus")}
    for row in records("outcomes", "--disease", "lupus"):
        study = row["study"]
        full = listed[study["id"]]
        for key in ("citation", "design", "follow_up_months", "enrolled", "limitations"):
            assert study[key] == full[key]
        assert isinstance(row["arm_values"], list)
    for row in records("safety", "--disease", "lupus"):
        assert row["study"]["id"] in listed


def test_columns_are_refused_for_json_not_ignored() -> None:
    result = CliRunner().invoke(cli, ["list", "--columns", "id", "--format", "jsonl"])
    assert result.exit_code == 2
    assert "jq" in result.stderr


def test_columns_all() -> None:
    from stemrenal.output.tables import STUDY_COLUMNS

    out = CliRunner().invoke(cli, ["list", "--columns", "all", "--format", "tsv"]).stdout
    assert out.splitlines()[0].split("\t") == list(STUDY_COLUMNS)


@pytest.mark.parametrize("target", ["out.xlsx", "out.html", "refs.bib"])
def test_an_output_suffix_no_format_matches_is_refused(target: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["list", "-o", str(tmp_path / target)])
    assert result.exit_code == 2
    assert ".csv" in result.stderr
    assert not list(tmp_path.iterdir())


def test_bare_numbers_are_months_and_impossible_ranges_are_refused() -> None:
    twelve = {r["id"] for r in records("list", "--min-followup", "12")}
    assert twelve == {r["id"] for r in records("list", "--min-followup", "12 months")}
    assert twelve
    for args in (
        ["--since", "2020", "--until", "2015"],
        ["--min-followup", "2y", "--max-followup", "6"],
    ):
        result = CliRunner().invoke(cli, ["list", *args])
        assert result.exit_code == 2
        assert "nothing can match" in result.stderr


def test_summary_shows_missing_enrolment_and_overlaps_in_every_format() -> None:
    summary = records("summary")
    tsv = CliRunner().invoke(cli, ["summary", "--format", "tsv"]).stdout
    assert f"total\tenrolment-not-reported\t{summary['enrolment_not_reported']}\t" in tsv
    assert f"total\toverlap-groups\t{summary['overlap_groups']}\t" in tsv


def test_completion_offers_columns_and_sort_keys() -> None:
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "stemrenal", "_STEMRENAL_COMPLETE")
    columns = [c.value for c in complete.get_completions(["list", "--columns"], "id,prim")]
    assert columns == ["id,primary_finding", "id,primary_outcomes"]
    sorts = [c.value for c in complete.get_completions(["list", "--sort"], "de")]
    assert sorts == ["design"]
    files = complete.get_completions(["list", "-o"], "")
    assert all(c.type == "file" for c in files)


# ----------------------------------------------------------------------------- SQLite


def test_the_sqlite_export_joins_and_counts_like_summary(tmp_path: Path) -> None:
    target = tmp_path / "registry.db"
    result = CliRunner().invoke(cli, ["list", "-o", str(target)])
    assert result.exit_code == 0, result.output
    connection = sqlite3.connect(target)
    summary = records("summary")
    (count,) = connection.execute("select count(*) from studies").fetchone()
    assert count == summary["studies"]
    (outcomes,) = connection.execute("select count(*) from outcomes").fetchone()
    assert outcomes == len(records("outcomes"))
    assert connection.execute("pragma foreign_key_check").fetchall() == []
    lupus = connection.execute(
        "select count(distinct s.id) from studies s join conditions c on c.study_id = s.id "
        "where c.disease = 'lupus-nephritis'"
    ).fetchone()[0]
    assert lupus == records("summary", "--disease", "lupus-nephritis")["studies"]
    record = json.loads(
        connection.execute(
            "select record from studies where id = 'deng-2017-lupus-nephritis'"
        ).fetchone()[0]
    )
    assert record["citation"]["pmid"] == "28478399"


def test_a_database_is_never_written_onto_a_terminal() -> None:
    import io

    from stemrenal.errors import UsageProblem
    from stemrenal.output import Format, OutputOptions, Result
    from stemrenal.output.writers import WRITERS

    with pytest.raises(UsageProblem, match="binary"):
        WRITERS[Format.SQLITE](
            Result(database=lambda: b""), Format.SQLITE, OutputOptions(), io.StringIO(), True
        )
