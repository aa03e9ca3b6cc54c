"""The public CLI through CliRunner: filters, formats, output options, errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stemrenal.cli import cli

from helpers import MINIMAL, SEED

DUBSKY = "dubsky-2019-dkd-limb-ischaemia"
RANJBAR = "ranjbar-2022-lupus-nephritis"
SHAO = "shao-2021-chronic-renal-failure"


def run(runner: CliRunner, *args: str, registry: Path | None = SEED) -> Result:
    prefix = ["--registry", str(registry)] if registry else []
    return runner.invoke(cli, [*prefix, *args], catch_exceptions=False)


def ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("id\t")
    return [line.split("\t")[0] for line in lines[1:]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], [DUBSKY, RANJBAR, SHAO]),
        (["--disease", "lupus"], [RANJBAR]),
        (["--disease", "LN"], [RANJBAR]),
        (["--disease", "狼疮性肾炎"], [RANJBAR]),
        (["--disease", "ckd", "--disease", "DKD"], [DUBSKY, SHAO]),
        (["--disease", "慢性肾衰竭"], [SHAO]),
        (["--cell-source", "自体"], [DUBSKY, SHAO]),
        (["--cell-source", "allogeneic"], [RANJBAR]),
        (["--cell-type", "MSC"], [RANJBAR, SHAO]),
        (["--cell-type", "间充质干细胞"], [RANJBAR, SHAO]),
        (["--tissue", "fat"], [RANJBAR]),
        (["--tissue", "骨髓"], [SHAO]),
        (["--endpoint", "creatinine"], [SHAO]),
        (["--endpoint", "蛋白尿"], [RANJBAR]),
        (["--endpoint", "UACR"], []),
        (["--design", "randomised"], [SHAO]),
        (["--design", "rct", "--design", "single-arm"], [RANJBAR, SHAO]),
        (["--design", "随机对照试验"], [SHAO]),
        (["--min-followup", "12m"], [DUBSKY, RANJBAR]),
        (["--min-followup", "1y", "--max-followup", "1.5 years"], [DUBSKY, RANJBAR]),
        (["--max-followup", "8w"], [SHAO]),
        (["--max-followup", "2 months"], [SHAO]),
        (["--min-followup", "13mo"], [DUBSKY]),
        (["--min-n", "100"], [DUBSKY, SHAO]),
        (["--since", "2021"], [RANJBAR, SHAO]),
        (["--until", "2019"], [DUBSKY]),
        (["--since", "2021", "--until", "2021"], [SHAO]),
        (["--search", "N-ACETYLCYSTEINE"], [SHAO]),
        (["--search", "dubský"], [DUBSKY]),
        (["--search", "adipose", "--search", "marrow"], [RANJBAR, SHAO]),
        (["--search", "regression to the mean"], [RANJBAR]),
        (["--disease", "ckd", "--design", "single-arm"], []),
        (["--disease", "lupus", "--cell-source", "allogeneic", "--min-n", "5"], [RANJBAR]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("-") else None,
)
def test_list_filters(runner: CliRunner, args: list[str], expected: list[str]) -> None:
    assert ids(run(runner, "list", *args)) == expected


def test_exclude_cell_free(runner: CliRunner, write_registry: Callable[..., Path]) -> None:
    ev = MINIMAL.replace("doe-2020-ckd", "ev-2021-ckd").replace('"msc"', '"msc-ev"')
    path = write_registry(MINIMAL + ev)
    assert ids(run(runner, "list", registry=path)) == ["doe-2020-ckd", "ev-2021-ckd"]
    assert ids(run(runner, "list", "--exclude-cell-free", registry=path)) == ["doe-2020-ckd"]
    assert ids(run(runner, "list", "--cell-type", "exosomes", registry=path)) == ["ev-2021-ckd"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--disease", "lupis"], "Did you mean: lupus-nephritis?"),
        (["--endpoint", "protein"], "Did you mean: proteinuria?"),
        (["--design", "rnadomized"], "Did you mean: rct?"),
        (["--min-followup", "a while"], "8w, 8 weeks, 90 days, 6mo, 6 months, 18m, 1y, 1.5 years"),
        (["--min-n", "-1"], "Invalid value for '--min-n'"),
        (["--columns", "id,colour"], "unknown column 'colour'; valid columns: id, study, citation"),
        (["--sort", "colour"], "unknown sort key 'colour'; valid keys: id, year, n"),
        (["--format", "xml"], "'xml' is not one of"),
    ],
)
def test_usage_errors_exit_2_with_a_hint(runner: CliRunner, args: list[str], needle: str) -> None:
    result = run(runner, "list", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_unknown_term_names_the_option(runner: CliRunner) -> None:
    result = run(runner, "list", "--disease", "lupis")
    assert "Invalid value for '--disease': unknown disease term 'lupis'." in result.stderr


def test_empty_result_exits_0_with_header_only(runner: CliRunner) -> None:
    result = run(runner, "list", "--disease", "kidney-transplantation")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [result.stdout.splitlines()[0]]
    assert result.stderr == ""  # notes go to a terminal only


def test_tsv_is_the_default_off_a_terminal_with_citation_and_limitations(runner: CliRunner) -> None:
    result = run(runner, "list")
    header = result.stdout.splitlines()[0].split("\t")
    assert {"citation", "doi", "pmid", "limitations"} <= set(header)
    rows = [line.split("\t") for line in result.stdout.splitlines()[1:]]
    assert all(len(row) == len(header) for row in rows)
    assert "\x1b" not in result.stdout


def test_csv_is_rfc4180_and_round_trips(runner: CliRunner) -> None:
    result = run(runner, "list", "--format", "csv")
    assert b"\r\n" in result.stdout_bytes
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [r["id"] for r in rows] == [DUBSKY, RANJBAR, SHAO]
    assert rows[0]["citation"] == "Dubský M et al., Diabetic Medicine 2019"
    assert rows[0]["doi"] == "10.1111/dme.13985"
    assert rows[1]["pmid"] == ""  # not reported: empty cell
    assert rows[0]["limitations"].count(" | ") == 3


def test_bom_and_no_header(runner: CliRunner) -> None:
    result = run(runner, "list", "--format", "csv", "--bom", "--no-header")
    assert result.stdout.startswith("\ufeff" + DUBSKY)


def test_json_is_an_array_of_full_records(runner: CliRunner) -> None:
    records = json.loads(run(runner, "list", "--format", "json").stdout)
    assert [r["id"] for r in records] == [DUBSKY, RANJBAR, SHAO]
    first = records[0]
    assert first["follow_up"] == "18 months"
    assert first["follow_up_months"] == 18.0
    assert first["citation"]["authors"][0] == "Dubský M"
    assert first["intervention"]["cell_type"] is None
    assert len(first["limitations"]) == 4


def test_jsonl_is_one_record_per_line(runner: CliRunner) -> None:
    lines = run(runner, "list", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [DUBSKY, RANJBAR, SHAO]


def test_markdown_escapes_pipes(runner: CliRunner, write_registry: Callable[..., Path]) -> None:
    path = write_registry(MINIMAL.replace("A small study", "A | piped study"))
    out = run(runner, "list", "--format", "markdown", "--columns", "id,title", registry=path).stdout
    assert out.splitlines() == [
        "| id | title |",
        "| --- | --- |",
        "| doe-2020-ckd | A \\| piped study |",
    ]


def test_table_off_a_terminal_has_no_colour_or_box_drawing(runner: CliRunner) -> None:
    out = run(runner, "list", "--format", "table").stdout
    assert RANJBAR in out
    assert "\x1b" not in out
    assert not set(out) & set("─│╭╮╰╯┼┬┴")


def test_columns_sort_and_limit(runner: CliRunner) -> None:
    out = run(runner, "list", "--columns", "year,id", "--sort", "-year", "--limit", "2").stdout
    assert out.splitlines() == ["year\tid", f"2022\t{RANJBAR}", f"2021\t{SHAO}"]
    out = run(runner, "list", "--columns", "n", "--sort", "n", "--no-header").stdout
    assert out.splitlines() == ["9", "103", "200"]


def test_columns_help_lists_the_columns(runner: CliRunner) -> None:
    result = run(runner, "list", "--columns", "help")
    assert result.exit_code == 2
    assert "valid columns: id, study, citation" in result.stderr


def test_output_writes_a_file_and_infers_format(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    result = run(runner, "list", "--output", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("id,citation,")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_output_failure_keeps_the_previous_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stemrenal.output import writers

    target = tmp_path / "out.tsv"
    target.write_text("previous\n")

    def half_then_fail(table: object, options: object, stream: io.StringIO, tab: bool) -> None:
        stream.write("id\tcitation\npartial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers, "write_delimited", half_then_fail)
    result = CliRunner().invoke(cli, ["--registry", str(SEED), "list", "-o", str(target)])
    assert result.exit_code != 0
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]


def test_usage_error_never_touches_the_output_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    result = run(runner, "list", "--columns", "nope", "-o", str(target))
    assert result.exit_code == 2
    assert target.read_text() == "previous\n"


def test_output_into_a_missing_directory_is_a_data_error(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "list", "-o", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write")


def test_outcomes_one_row_per_outcome_and_endpoint_narrows(runner: CliRunner) -> None:
    out = run(runner, "outcomes", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert len(rows) == 9
    assert {"study", "endpoint", "measure", "timepoint", "result", "p_value", "direction",
            "follow_up", "design", "n", "citation", "limitations"} <= set(rows[0])  # fmt: skip
    out = run(runner, "outcomes", "--endpoint", "proteinuria", "--format", "json").stdout
    records = json.loads(out)
    assert [(r["study"]["id"], r["endpoint"], r["p_value"]) for r in records] == [
        (RANJBAR, "proteinuria", "0.008")
    ]
    limitation = records[0]["study"]["limitations"][0]
    assert limitation["source"] == "authors"
    assert limitation["text"]


def test_summary_reconciles_with_list(runner: CliRunner) -> None:
    summary = json.loads(run(runner, "summary", "--format", "json").stdout)
    listed = json.loads(run(runner, "list", "--format", "json").stdout)
    assert summary["studies"] == len(listed) == 3
    assert summary["participants"] == sum(r["enrolled"] for r in listed) == 312
    assert summary["randomized"] == 1
    diseases = {row["term"]: row["studies"] for row in summary["by_disease"]}
    assert diseases["lupus-nephritis"] == 1
    lupus = json.loads(run(runner, "summary", "--disease", "lupus", "--format", "json").stdout)
    assert (lupus["studies"], lupus["participants"]) == (1, 9)


def test_summary_counts_overlapping_participants_once(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    a = MINIMAL.replace("enrolled = 10", 'enrolled = 10\noverlaps = ["doe-2022-ckd"]')
    b = (
        MINIMAL.replace("doe-2020-ckd", "doe-2022-ckd")
        .replace("enrolled = 10", 'enrolled = 25\noverlaps = ["doe-2020-ckd"]')
        .replace("n = 10", "n = 25")
    )
    path = write_registry(a + b)
    summary = json.loads(run(runner, "summary", "--format", "json", registry=path).stdout)
    assert (summary["studies"], summary["participants"]) == (2, 25)
    assert summary["participants_reported_sum"] == 35
    assert "counted once per group of overlapping studies" in summary["participants_counting"]
    tsv = run(runner, "summary", registry=path).stdout.splitlines()
    assert tsv[:2] == ["dimension\tterm\tstudies\tparticipants", "total\tstudies\t2\t25"]


def test_show_plain_has_every_section(runner: CliRunner) -> None:
    out = run(runner, "show", RANJBAR).stdout
    for heading in ("CITATION", "DESIGN", "POPULATION", "ARMS", "INTERVENTION", "OUTCOMES",
                    "SAFETY", "LIMITATIONS", "SOURCES"):  # fmt: skip
        assert f"\n{heading}\n" in out
    assert "IRCT2016090729747N1" in out
    assert "https://doi.org/10.1016/j.retram.2021.103324" in out
    assert "proteinuria: 24-h urine protein" in out
    assert "\x1b" not in out


def test_show_json_and_markdown(runner: CliRunner) -> None:
    record = json.loads(run(runner, "show", SHAO, "--format", "json").stdout)
    assert record["id"] == SHAO
    assert record["citation"]["doi"] is None
    md = run(runner, "show", SHAO, "--format", "markdown").stdout
    assert md.startswith("# Efficacy and safety of mesenchymal stem cell")
    assert "## Limitations" in md
    assert "[PMID 34602393](https://pubmed.ncbi.nlm.nih.gov/34602393/)" in md


def test_show_unknown_id_suggests(runner: CliRunner) -> None:
    result = run(runner, "show", "ranjbar-2023")
    assert result.exit_code == 2
    assert f"Did you mean: {RANJBAR}?" in result.stderr


def test_vocab_lists_terms_with_chinese_aliases(runner: CliRunner) -> None:
    out = run(runner, "vocab", "diseases").stdout
    row = next(line for line in out.splitlines() if line.startswith("disease\tlupus-nephritis"))
    assert "狼疮性肾炎" in row
    assert "endpoint" not in out


def test_registry_from_env_with_path_separator(
    runner: CliRunner, write_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    other = write_registry(MINIMAL)
    monkeypatch.setenv("STEMRENAL_REGISTRY", f"{SEED}{os.pathsep}{other}")
    assert len(ids(run(runner, "list", registry=None))) == 4
    assert ids(run(runner, "--registry", str(other), "list", registry=None)) == ["doe-2020-ckd"]


def test_repeated_registry_option(runner: CliRunner, write_registry: Callable[..., Path]) -> None:
    other = write_registry(MINIMAL)
    result = runner.invoke(cli, ["--registry", str(SEED), "--registry", str(other), "list"])
    assert len(ids(result)) == 4


def test_invalid_registry_is_exit_1_with_every_problem(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    path = write_registry(
        MINIMAL.replace("year = 2020", 'year = "x"').replace("= 10\n", "= 0\n", 1)
    )
    result = run(runner, "list", registry=path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:5: study doe-2020-ckd: year:")
    assert (
        lines[-1]
        == f"Error: the registry has 2 problems; run `stemrenal --registry {path} validate` for "
        "the full list"
    )
    assert result.stdout == ""


def test_missing_registry_path_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "list", registry=tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_registry_text_is_never_markup(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    path = write_registry(
        MINIMAL.replace("A small study", "[bold red]Loud[/] [link=http://x]y[/link]")
    )
    for args in (["list", "--format", "table", "--columns", "title"], ["show", "doe-2020-ckd"]):
        out = run(runner, *args, registry=path).stdout
        assert "[bold red]Loud[/] [link=http://x]y[/link]" in out


def test_validate_bundled_registry_is_clean(runner: CliRunner) -> None:
    result = run(runner, "validate", registry=None)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def test_validate_reports_every_problem_then_a_count(
    runner: CliRunner, write_registry: Callable[..., Path]
) -> None:
    bad = write_registry(MINIMAL.replace("year = 2020", 'year = "x"'), "bad.toml")
    dup = write_registry(MINIMAL, "dup.toml")
    result = run(runner, "validate", str(bad), str(dup), str(SEED), registry=None)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:5: study doe-2020-ckd: year: Input should be a valid integer (got 'x')",
        "1 problem found",
    ]


def test_schema_validates_the_bundled_registry(runner: CliRunner) -> None:
    import jsonschema
    import tomli

    from stemrenal.registry import bundled_path

    schema = json.loads(run(runner, "schema", registry=None).stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    data = tomli.loads((bundled_path() / "studies.toml").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"study": [{"id": "x", "colour": 1}]}, schema)


def test_every_command_has_help(runner: CliRunner) -> None:
    for name, command in cli.commands.items():
        assert command.help, name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.stdout


def test_term_completion_offers_canonical_terms() -> None:
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "stemrenal", "_STEMRENAL_COMPLETE")
    found = [c.value for c in complete.get_completions(["list", "--disease"], "lu")]
    assert found == ["lupus-nephritis"]
    found = [c.value for c in complete.get_completions(["list", "--disease"], "狼")]
    assert found == ["lupus-nephritis"]


def test_study_id_completion_uses_the_registry() -> None:
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "stemrenal", "_STEMRENAL_COMPLETE")
    found = [c.value for c in complete.get_completions(["--registry", str(SEED), "show"], "ra")]
    assert found == [RANJBAR]


def test_version(runner: CliRunner) -> None:
    from stemrenal import __version__

    assert run(runner, "--version").stdout.strip() == f"stemrenal, version {__version__}"


def test_ctrl_c_exits_130_with_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from stemrenal import registry

    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(registry, "open_registry", interrupted)
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"


@pytest.mark.parametrize("command", [["list"], ["outcomes"], ["summary"], ["cite"]])
def test_output_onto_the_registry_is_refused(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    registry = tmp_path / "studies.toml"
    registry.write_bytes(SEED.read_bytes())
    result = runner.invoke(cli, ["--registry", str(registry), *command, "-o", str(registry)])
    assert result.exit_code == 2
    assert "part of the registry being read" in result.output
    assert registry.read_bytes() == SEED.read_bytes()


def test_output_into_a_registry_directory(runner: CliRunner, tmp_path: Path) -> None:
    """A new .toml there would be read as registry next time; other files are fine."""
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "seed.toml").write_bytes(SEED.read_bytes())
    refused = runner.invoke(cli, ["--registry", str(folder), "list", "-o", str(folder / "x.toml")])
    assert refused.exit_code == 2
    assert not (folder / "x.toml").exists()
    allowed = runner.invoke(cli, ["--registry", str(folder), "list", "-o", str(folder / "x.csv")])
    assert allowed.exit_code == 0, allowed.output
    assert (folder / "x.csv").read_text(encoding="utf-8").startswith("id,")


def test_show_output_onto_the_registry_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    registry = tmp_path / "studies.toml"
    registry.write_bytes(SEED.read_bytes())
    args = ["--registry", str(registry), "show", DUBSKY, "-o", str(registry)]
    assert runner.invoke(cli, args).exit_code == 2
    assert registry.read_bytes() == SEED.read_bytes()


def test_the_command_table_of_help_is_the_commands_own() -> None:
    """`--help` lists the commands from `group.SUMMARIES` without loading them: each entry
    must be its command's first paragraph of help, and every command must have one."""
    from stemrenal.cli import group

    assert set(group.SUMMARIES) == set(cli.commands)
    for name, command in cli.commands.items():
        first = (command.help or "").split("\n\n")[0]
        assert group.SUMMARIES[name] == " ".join(first.split()), name
        assert not command.hidden, name
        assert not command.short_help, name


def test_help_loads_no_command() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stemrenal", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert "list" in done.stdout
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "stemrenal.cli.group" in loaded
    assert "stemrenal.cli.commands" not in loaded
    assert not {"stemrenal.registry", "stemrenal.output", "stemrenal.errors"} & loaded


def test_the_exit_codes_the_group_keeps_are_the_errors_own() -> None:
    from stemrenal.cli import group
    from stemrenal.errors import ExitCode

    assert (group._PIPE, group._INTERRUPTED) == (ExitCode.PIPE, ExitCode.INTERRUPTED)
