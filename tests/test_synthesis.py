"""Evidence at a glance: `evidence` (summary of findings), certainty records, `map` (grid and
figure) and `rob` (robvis layout and traffic light), through the CLI and the library."""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stemrenal import registry, synthesis
from stemrenal.cli import cli
from stemrenal.output.figures import DPI, map_size, traffic_light_size
from stemrenal.query import Filters

from helpers import HERE, MINIMAL, SEED

ROBVIS = HERE / "fixtures" / "robvis"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def records(*args: str) -> Any:
    return json.loads(run(*args, "--format", "json").stdout)


def by_endpoint(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["endpoint"]: row for row in rows}


# ----------------------------------------------------------------------------- evidence


def test_lupus_keeps_the_controlled_result_apart_from_before_after_results() -> None:
    rows = by_endpoint(records("evidence", "--disease", "lupus"))
    response = rows["renal-response"]
    assert response["support"] == "controlled"
    assert [r["study"] for r in response["controlled"]["results"]] == ["deng-2017-lupus-nephritis"]
    assert response["controlled"]["no-difference"] == 1
    assert response["controlled"]["improved"] == 0
    assert response["controlled"]["results"][0]["primary"] is True
    # the uncontrolled studies are counted, but apart, and Deng is not among them
    before_after = {r["study"] for r in response["before_after"]["results"]}
    assert before_after
    assert "deng-2017-lupus-nephritis" not in before_after
    assert response["before_after"]["improved"] >= 1
    # proteinuria: Deng gave no between-group test, so its verdict is "not reported", and
    # the uncontrolled improvements stay in their own column
    proteinuria = rows["proteinuria"]
    assert proteinuria["controlled"]["results"] == [
        {
            "study": "deng-2017-lupus-nephritis",
            "verdict": "not-reported",
            "primary": False,
            "design": "rct",
            "risk_of_bias": "some-concerns",
        }
    ]
    assert proteinuria["before_after"]["improved"] == proteinuria["before_after"]["studies"] > 0
    for endpoint in ("renal-response", "proteinuria"):
        (record,) = rows[endpoint]["certainty"]
        assert record["disease"] == "lupus-nephritis"
        assert record["certainty"] == "very-low"
        assert [d["domain"] for d in record["domains"]] == [
            "risk-of-bias", "inconsistency", "indirectness", "imprecision", "publication-bias",
        ]  # fmt: skip
        assert all(d["reason"] for d in record["domains"])


def test_the_table_shows_the_certainty_and_its_reasons() -> None:
    out = run("evidence", "--disease", "lupus", "--format", "table").stdout
    assert "none: uncontrolled only" in out  # an endpoint with only before/after results
    assert "very low [" in out
    assert "Rated down for risk of bias serious" in out
    assert "imprecision very serious: 18 participants" in out
    assert "Curator's judgement from the abstract" in out


def test_an_endpoint_without_a_certainty_record_says_not_assessed() -> None:
    rows = records("evidence", "--disease", "lupus")
    uncontrolled = [r for r in rows if r["support"] == "uncontrolled-only"]
    assert uncontrolled
    assert all(r["certainty"] == [] and r["controlled"]["studies"] == 0 for r in uncontrolled)
    tsv = run("evidence", "--disease", "lupus", "--format", "tsv").stdout
    lines = list(csv.DictReader(io.StringIO(tsv), delimiter="\t"))
    flagged = {r["endpoint"]: r for r in lines}
    for row in uncontrolled:
        assert flagged[row["endpoint"]]["support"] == "uncontrolled-only"
        assert flagged[row["endpoint"]]["certainty"] == "not assessed"


FILTER_SETS = [
    [],
    ["--disease", "lupus"],
    ["--disease", "kidney-transplantation", "--design", "rct"],
    ["--cell-type", "msc", "--min-n", "20"],
    ["--comparison", "between-groups"],
    ["--primary"],
]


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: " ".join(f) or "all")
def test_evidence_counts_reconcile_with_outcomes_and_summary(filters: list[str]) -> None:
    rows = records("evidence", *filters)
    assert rows
    for row in rows:
        endpoint = ["--endpoint", row["endpoint"]]
        outcomes = records("outcomes", *filters, *endpoint)
        assert row["studies"] == len({o["study"]["id"] for o in outcomes})
        assert set(row["study_ids"]) == {o["study"]["id"] for o in outcomes}
        summary = records("summary", *filters, *endpoint)
        assert row["participants"] == summary["participants"]
        assert sum(row["designs"].values()) == summary["studies"]
        # each study is counted once: between groups, or before/after, or neither
        compared = {r["study"] for r in row["controlled"]["results"]}
        before = {r["study"] for r in row["before_after"]["results"]}
        assert not compared & before
        assert compared | before <= set(row["study_ids"])
        between = {o["study"]["id"] for o in outcomes if o["comparison"] == "between-groups"}
        assert compared == between


def test_by_disease_splits_rows_and_keeps_to_the_filtered_diseases() -> None:
    rows = records("evidence", "--disease", "lupus-nephritis", "--by", "disease")
    assert rows
    assert {r["disease"] for r in rows} == {"lupus-nephritis"}
    everything = records("evidence", "--by", "disease")
    assert len({r["disease"] for r in everything}) > 3
    keys = [(r["disease"], r["endpoint"]) for r in everything]
    assert len(keys) == len(set(keys))


def test_library_rows_match_the_command() -> None:
    reg = registry.open_registry()
    filters = Filters(diseases=("lupus-nephritis",))
    rows = synthesis.evidence_rows(reg.select(filters), filters, reg.certainties)
    cli_rows = records("evidence", "--disease", "lupus-nephritis")
    assert [r.endpoint for r in rows] == [r["endpoint"] for r in cli_rows]
    assert [len(r.studies) for r in rows] == [r["studies"] for r in cli_rows]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["improved", "improved"], "improved"),
        (["improved", None], "improved"),
        (["improved", "no-difference"], "mixed"),
        ([None], "not-reported"),
    ],
)
def test_a_verdict_is_what_the_directions_recorded_say(
    outcomes: list[str | None], expected: str
) -> None:
    class Outcome:
        def __init__(self, direction: str | None) -> None:
            self.direction = direction

    assert synthesis.verdict([Outcome(d) for d in outcomes]) == expected  # type: ignore[misc]


# ----------------------------------------------------------------------------- certainty

CERTAINTY = """
[[certainty]]
id = "ckd-egfr"
disease = "chronic-kidney-disease"
endpoint = "egfr"
comparison = "cells vs nothing"
studies = ["doe-2020-ckd"]
start = "low"
certainty = "{certainty}"
effect = "One small study."
assessor = "curator"
basis = "abstract"
assessed = "2026-12-01"
{domains}
"""
DOMAINS = """
[[certainty.domains]]
domain = "risk-of-bias"
rating = "serious"
reason = "no control group"

[[certainty.domains]]
domain = "inconsistency"
rating = "not-serious"
reason = "one study"

[[certainty.domains]]
domain = "indirectness"
rating = "serious"
reason = "a surrogate"

[[certainty.domains]]
domain = "imprecision"
rating = "very-serious"
reason = "ten people"

[[certainty.domains]]
domain = "publication-bias"
rating = "undetected"
reason = "none found"
"""


def validate(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "registry.toml"
    path.write_text(MINIMAL + text, encoding="utf-8")
    return CliRunner().invoke(cli, ["--no-cache", "validate", str(path)])


def test_a_valid_certainty_record_passes(tmp_path: Path) -> None:
    result = validate(tmp_path, CERTAINTY.format(certainty="very-low", domains=DOMAINS))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('certainty = "very-low"', 'certainty = "low"'), "does not follow from start"),
        (('doe-2020-ckd"]', 'nobody-2020-ckd"]'), "names unknown study 'nobody-2020-ckd'"),
        (('endpoint = "egfr"', 'endpoint = "proteinuria"'), "reports no proteinuria outcome"),
        (
            ('disease = "chronic-kidney-disease"', 'disease = "lupus-nephritis"'),
            "is not about lupus-nephritis",
        ),
        (('rating = "undetected"', 'rating = "serious"'), "is not a rating of"),
        (('domain = "inconsistency"', 'domain = "imprecision"'), "give the GRADE domains"),
        (('assessor = "curator"', 'assessor = "review"'), "needs the review's citation"),
    ],
)
def test_a_wrong_certainty_record_is_reported(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = CERTAINTY.format(certainty="very-low", domains=DOMAINS).replace(*change, 1)
    result = validate(tmp_path, text)
    assert result.exit_code == 1
    assert message in result.stdout
    assert "certainty ckd-egfr" in result.stdout


def test_every_bundled_certainty_record_is_for_controlled_evidence() -> None:
    reg = registry.open_registry()
    assert reg.certainties
    studies = {s.id: s for s in reg.studies}
    for record in reg.certainties:
        for study_id in record.studies:
            study = studies[study_id]
            compared = [
                o
                for o in study.outcomes
                if o.endpoint == record.endpoint and o.comparison == "between-groups"
            ]
            assert compared, (record.id, study_id)
            assert record.start == ("high" if study.design.kind == "rct" else "low")


def test_every_controlled_endpoint_has_a_certainty_record() -> None:
    rows = records("evidence", "--by", "disease", "--comparison", "between-groups")
    side = {"diabetes", "critical-limb-ischaemia"}  # co-conditions of one limb study
    missing = [
        (r["disease"], r["endpoint"])
        for r in rows
        if r["disease"] not in side and not r["certainty"]
    ]
    assert missing == []


# ----------------------------------------------------------------------------- the map


def test_map_cells_count_studies_and_mark_null_controlled_evidence() -> None:
    cells = {(c["disease"], c["term"]): c for c in records("map")}
    lupus = cells["lupus-nephritis", "msc"]
    assert lupus["strongest_design"] == "rct"
    assert lupus["controlled"] == "null"
    summary = records("summary", "--disease", "lupus-nephritis", "--cell-type", "msc")
    assert lupus["studies"] == summary["studies"]
    assert lupus["participants"] == summary["participants"]


@pytest.mark.parametrize("columns_by", ["cell-source", "tissue", "cell-class"])
def test_map_columns_by(columns_by: str) -> None:
    cells = records("map", "--columns-by", columns_by)
    assert {c["columns_by"] for c in cells} == {columns_by}
    option = {"cell-source": "--cell-source", "tissue": "--tissue", "cell-class": "--cell-class"}
    for cell in cells:
        if cell["term"] == "not-reported":
            continue
        chosen = records("list", "--disease", cell["disease"], option[columns_by], cell["term"])
        assert {s["id"] for s in chosen} == set(cell["study_ids"])


def test_the_terminal_grid_fits_or_falls_back_to_rows() -> None:
    wide = CliRunner().invoke(cli, ["map", "--format", "table"], env={"COLUMNS": "250"})
    narrow = CliRunner().invoke(cli, ["map", "--format", "table"], env={"COLUMNS": "80"})
    assert wide.exit_code == narrow.exit_code == 0
    header = wide.stdout.splitlines()[0]
    assert header.startswith("disease")
    assert "msc" in header
    assert "the grid needs" in narrow.stdout
    assert "lupus-nephritis" in narrow.stdout
    assert "RCT null" in narrow.stdout


def test_map_svg_holds_every_label(tmp_path: Path) -> None:
    target = tmp_path / "map.svg"
    run("map", "-o", str(target))
    cells = records("map")
    tree = ET.parse(target)  # well-formed XML
    text = " ".join(t for t in tree.getroot().itertext())
    for label in {c["disease"] for c in cells} | {c["term"] for c in cells}:
        assert label in text
    assert "Evidence map" in text
    assert "Not medical advice" in text
    again = tmp_path / "again.svg"
    run("map", "-o", str(again))
    assert again.read_bytes() == target.read_bytes()  # deterministic


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_map_png_has_the_expected_size(tmp_path: Path) -> None:
    target = tmp_path / "map.png"
    run("map", "-o", str(target))
    cells = records("map")
    diseases = {c["disease"] for c in cells}
    terms = {c["term"] for c in cells}
    width, height = map_size(len(diseases), len(terms))
    assert png_size(target) == (round(width * DPI), round(height * DPI))


def test_map_pdf_and_a_filtered_title(tmp_path: Path) -> None:
    target = tmp_path / "lupus.pdf"
    run("map", "--disease", "lupus", "-o", str(target))
    assert target.read_bytes().startswith(b"%PDF")
    svg = tmp_path / "lupus.svg"
    run("map", "--disease", "lupus", "--colour-by", "risk-of-bias", "-o", str(svg))
    assert "diseases: lupus-nephritis" in svg.read_text(encoding="utf-8")


def test_a_figure_is_never_written_onto_a_terminal() -> None:
    from stemrenal.errors import UsageProblem
    from stemrenal.output import Format, OutputOptions, Result
    from stemrenal.output.writers import WRITERS

    with pytest.raises(UsageProblem, match="binary"):
        WRITERS[Format.PNG](
            Result(figure=lambda f: b""), Format.PNG, OutputOptions(), io.StringIO(), True
        )


def test_without_the_plotting_extra_a_figure_is_a_one_line_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "map.png"
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from stemrenal.cli import main; sys.argv = ['stemrenal', 'map', '-o', sys.argv[1]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "pip install 'stemrenal[plot]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- risk of bias


def robvis_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


@pytest.mark.parametrize(
    ("tool", "example"), [("rob2", "data_rob2.csv"), ("robins-i", "data_robins_i.csv")]
)
def test_the_robvis_export_has_robvis_layout(tool: str, example: str, tmp_path: Path) -> None:
    reference = robvis_rows(ROBVIS / example)
    target = tmp_path / f"{tool}.csv"
    run("rob", "--tool", tool, "--format", "robvis", "-o", str(target))
    rows = robvis_rows(target)
    # robvis's columns, in its order, plus the Weight column rob_summary() reads
    assert rows[0] == [*reference[0], "Weight"]
    spelled = {cell for row in reference[1:] for cell in row[1:]}
    allowed = (
        {"Low", "Some concerns", "High", "No information"}
        if tool == "rob2"
        else {"Low", "Moderate", "Serious", "Critical", "No information"}
    )
    assert spelled <= allowed  # the reference itself uses these spellings
    reg = registry.open_registry()
    judged = [s for s in reg.studies if s.risk_of_bias and s.risk_of_bias.tool == tool]
    assert [r[0] for r in rows[1:]] == [s.id for s in judged]
    for row, study in zip(rows[1:], judged, strict=True):
        assert set(row[1:-1]) <= allowed
        assert row[-1] == ("" if study.enrolled is None else str(study.enrolled))
        assert row[-2].lower().replace(" ", "-") == study.risk_of_bias.overall  # type: ignore[union-attr]


def test_rob2_export_of_the_bundled_rcts_has_five_domains() -> None:
    out = run("rob", "--format", "robvis").stdout
    header, *rows = list(csv.reader(out.splitlines()))
    assert header == ["Study", "D1", "D2", "D3", "D4", "D5", "Overall", "Weight"]
    assert rows
    assert all(len(r) == 8 for r in rows)
    rcts = {s["id"] for s in records("list", "--design", "rct") if s["risk_of_bias"]}
    assert {r[0] for r in rows} == rcts


def test_the_traffic_light_figure(tmp_path: Path) -> None:
    target = tmp_path / "rob.png"
    run("rob", "--tool", "robins-i", "-o", str(target))
    count = len(records("rob", "--tool", "robins-i"))
    width, height = traffic_light_size(count, 7)
    assert png_size(target) == (round(width * DPI), round(height * DPI))
    svg = tmp_path / "rob.svg"
    run("rob", "-o", str(svg))
    text = " ".join(ET.parse(svg).getroot().itertext())
    assert "D5: Bias in selection of the reported result" in text
    assert "deng-2017-lupus-nephritis" in text


def test_rob_on_the_seed_registry() -> None:
    rows = records("--registry", str(SEED), "rob", "--tool", "robins-i")
    assert [r["study"] for r in rows] == ["dubsky-2019-dkd-limb-ischaemia"]
    assert list(rows[0]["domains"]) == [
        "confounding", "participant-selection", "classification", "deviations",
        "missing-data", "measurement", "reported-result",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- startup


def imports(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stemrenal", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--format", "csv"],
        ["outcomes", "--format", "tsv"],
        ["summary", "--format", "json"],
        ["evidence", "--format", "tsv"],
        ["map", "--format", "tsv"],
        ["rob", "--format", "robvis"],
    ],
    ids=lambda a: a[0],
)
def test_commands_start_without_the_plotting_library(args: list[str]) -> None:
    assert "matplotlib" not in imports(*args)


def test_a_figure_imports_the_plotting_library(tmp_path: Path) -> None:
    assert "matplotlib" in imports("map", "-o", str(tmp_path / "map.svg"))
