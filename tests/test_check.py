"""`stemrenal check`: an article's claims against the registry, compared by rule, with the
registry's source beside each; malformed claims files reported like registry files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stemrenal import registry
from stemrenal.cli import cli

from helpers import run_program

ROOT = Path(__file__).resolve().parent.parent
SEED_CLAIMS = ROOT / "claims" / "seed-article-zh.toml"


def checked(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        cli, ["check", str(SEED_CLAIMS), *args, "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def canonical(study_id: str) -> str:
    return next(s for s in registry.open_registry().studies if s.id == study_id).sources[0]


def one(rows: list[dict[str, Any]], study: str | None, field: str) -> dict[str, Any]:
    (row,) = [
        r for r in rows if r["study"] == study and r["field"] == field and r["by"] == "program"
    ]
    return row


def test_the_seed_article_misstates_its_sources() -> None:
    rows = checked()
    dubsky = one(rows, "dubsky-2019-dkd-limb-ischaemia", "enrolled")
    assert (dubsky["claimed"], dubsky["recorded"], dubsky["verdict"]) == (59, "103", "contradicts")
    assert dubsky["sources"] == [canonical("dubsky-2019-dkd-limb-ischaemia")]
    shao = one(rows, "shao-2021-chronic-renal-failure", "institutions")
    assert shao["claimed"] == "Shandong Provincial People's Hospital"
    assert "Third Linyi People's Hospital" in shao["recorded"]
    assert shao["verdict"] == "contradicts"
    assert shao["sources"] == [canonical("shao-2021-chronic-renal-failure")]
    (total,) = [r for r in rows if r["studies"]]
    assert total["claimed"] == 268
    assert total["recorded"].startswith("312 enrolled")
    assert total["verdict"] == "contradicts"
    survival = one(rows, "dubsky-2019-dkd-limb-ischaemia", "outcome")
    assert survival["claimed"] == "50.0% vs 18.8%"
    assert survival["verdict"] == "not-in-sources"
    assert "HR 0.36" in survival["recorded"]
    egfr = one(rows, "shao-2021-chronic-renal-failure", "endpoints")
    assert egfr["verdict"] == "not-in-sources"


def test_what_the_article_gets_right_agrees() -> None:
    rows = checked()
    agreed = {(r["study"], r["field"]) for r in rows if r["verdict"] == "agrees"}
    assert {
        ("ranjbar-2022-lupus-nephritis", "enrolled"),
        ("ranjbar-2022-lupus-nephritis", "dose"),
        ("shao-2021-chronic-renal-failure", "enrolled"),
        ("shao-2021-chronic-renal-failure", "journal"),  # "Pak J Pharm Sci", abbreviated
        ("dubsky-2019-dkd-limb-ischaemia", "year"),
    } <= agreed


def test_judgements_are_the_curators_and_say_why() -> None:
    rows = checked()
    judged = [r for r in rows if r["field"] == "judgement"]
    assert judged
    assert all(r["by"] == "curator" and r["recorded"] for r in judged)


def test_every_claim_has_its_quote_and_translation() -> None:
    for row in checked():
        assert row["quote"]
        assert row["translation"]


def test_fail_on_contradicts_for_scripts() -> None:
    runner = CliRunner()
    failing = runner.invoke(cli, ["check", str(SEED_CLAIMS), "--fail-on", "contradicts"])
    assert failing.exit_code == 1
    assert failing.stdout  # the rows are still printed
    fine = runner.invoke(
        cli,
        ["check", str(SEED_CLAIMS), "--disease", "lupus", "--fail-on", "contradicts",
         "--format", "json"],
    )  # fmt: skip
    rows = json.loads(fine.stdout)
    assert {r["study"] for r in rows} == {"ranjbar-2022-lupus-nephritis"}
    assert fine.exit_code == (1 if any(r["verdict"] == "contradicts" for r in rows) else 0)


def test_the_terminal_table_names_the_article() -> None:
    out = CliRunner().invoke(cli, ["check", str(SEED_CLAIMS), "--format", "table"]).stdout
    assert "干细胞治疗重度肾病短期疗效" in out
    assert "contradicts (program)" in out


GOOD = """[article]
title = "An article"
publisher = "A company"
language = "en"
checked = "2026-12-01"

[[claim]]
quote = "59 patients"
study = "dubsky-2019-dkd-limb-ischaemia"
field = "enrolled"
value = 59
"""


@pytest.mark.parametrize(
    ("change", "line", "where", "message"),
    [
        (('study = "dubsky', 'study = "nobody-2020-x'), 9, "claim 1: study", "names unknown study"),
        (("value = 59", "value = 59\ncolour = 1"), 12, "claim 1: colour", "unknown key"),
        (("value = 59", 'value = "many"'), 11, "claim 1: value", "takes a number"),
        (("value = 59", "value = [59]"), 11, "claim 1: value", "must be a number or text"),
        (('field = "enrolled"', 'field = "size"'), 10, "claim 1: field", "Input should be"),
        (('language = "en"', 'language = "zh"'), 7, "claim 1: translation", "give each claim"),
    ],
)
def test_a_malformed_claims_file_is_one_line_per_problem(
    tmp_path: Path, change: tuple[str, str], line: int, where: str, message: str
) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(GOOD.replace(*change, 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{line}: ")
    assert f": {where}: " in first
    assert message in first
    assert "the claims file has 1 problem" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_good_claims_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["verdict"] == "contradicts"


def test_invalid_toml_in_a_claims_file(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text("[article\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:1: invalid TOML")


def test_unknown_keys_and_tables_are_each_located_in_linear_time(tmp_path: Path) -> None:
    """15,000 unknown keys above [article] and 15,000 unknown tables after the claims.

    Each key's problem looked for the [article] header from the top, each table's looked for
    its own header from the top, and each problem was compared with every one found before:
    quadratic, 8 s for 4,000 tables and minutes for these. Located in one pass, they take a
    few seconds (most of it the did-you-mean hints); the timeout only stops the old cost.
    """
    count = 15_000
    keys = "".join(f"k{i} = 1\n" for i in range(count))
    tables = "".join(f"[t{i}]\nx = 1\n" for i in range(count))
    path = tmp_path / "claims.toml"
    path.write_text(keys + GOOD + tables, encoding="utf-8")
    result = run_program("check", str(path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    top = "unknown top-level key; a claims file has [article] and [[claim]] tables"
    article, last = count + 1, count + GOOD.count("\n") + 2 * count - 1
    assert f"{path}:1: k0: {top}" in lines
    assert f"{path}:{article}: k0: unknown key (not part of the registry format)" in lines
    assert f"{path}:{last}: t{count - 1}: {top}" in lines
    assert f"the claims file has {4 * count} problems" in lines[-1]
