"""What is missing, stated: the coverage statement, canonical sources, last-checked dates,
registered trials with no publication, excluded leads, and the scope by cell class."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal import registry, vocabulary
from stemrenal.cli import cli

from helpers import MINIMAL

BUNDLED = registry.open_registry()
BARE_IP = re.compile(r"^https?://\d{1,3}(\.\d{1,3}){3}([:/]|$)")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def canonical(study: object) -> set[str]:
    """The canonical records of a study: its PubMed page, DOI, PMC page, or registry record."""
    c = study.citation  # type: ignore[attr-defined]
    found = set()
    if c.pmid:
        found.add(f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/")
    if c.doi:
        found.add(f"https://doi.org/{c.doi}")
    for reg in study.registrations:  # type: ignore[attr-defined]
        found.add(f"https://clinicaltrials.gov/study/{reg}")
    return found


@pytest.mark.parametrize("study", BUNDLED.studies, ids=lambda s: s.id)
def test_every_study_cites_its_canonical_record_and_when_it_was_checked(study: object) -> None:
    sources = set(study.sources)  # type: ignore[attr-defined]
    assert canonical(study) & sources, study.id  # type: ignore[attr-defined]
    assert study.last_checked is not None  # type: ignore[attr-defined]


def test_no_source_is_a_bare_ip_address() -> None:
    for study in BUNDLED.studies:
        inner = [*study.sources]
        assert not [u for u in inner if BARE_IP.match(u)], study.id
    for trial in BUNDLED.trials:
        assert not [u for u in trial.sources if BARE_IP.match(u)], trial.id


def test_every_overlap_is_symmetric() -> None:
    by_id = {s.id: s for s in BUNDLED.studies}
    for study in BUNDLED.studies:
        for other in study.overlaps:
            assert study.id in by_id[other].overlaps, f"{study.id} -> {other}"


def test_curation_notes_use_words_a_reader_understands() -> None:
    internal = re.compile(r"evidence (sheet|brief)|seed article|retrieved pages", re.IGNORECASE)
    for study in BUNDLED.studies:
        assert not [n for n in study.curation_notes if internal.search(n)], study.id


# ----------------------------------------------------------------------------- about


def test_about_states_the_coverage_and_its_counts_agree_with_summary_and_trials() -> None:
    about = json.loads(run("about", "--format", "json"))
    assert about["coverage"]["last_search"]
    assert about["coverage"]["inclusion"]
    assert about["coverage"]["exclusion"]
    summary = json.loads(run("summary", "--format", "json"))
    counts = about["counts"]
    assert counts["studies"] == summary["studies"]
    assert counts["participants"] == summary["participants"]
    by_design = {row["term"]: row["studies"] for row in summary["by_design"]}
    assert counts["by_design"] == by_design
    trials = json.loads(run("trials", "--format", "json"))
    assert counts["registered_trials"] == len(trials)
    assert counts["registered_trials_without_publication"] == sum(
        1 for t in trials if t["publication"] == "none-found"
    )
    assert counts["excluded"] == len(BUNDLED.excluded)


def test_about_reads_as_text() -> None:
    out = run("about")
    assert out.startswith("stemrenal registry ")
    for heading in ("SCOPE", "WHAT THIS REGISTRY HOLDS", "SEARCHED", "INCLUDED", "EXCLUDED"):
        assert f"\n{heading}\n" in out


def test_about_without_a_statement_says_so(write_registry: Callable[..., Path]) -> None:
    out = run("--registry", str(write_registry(MINIMAL)), "about")
    assert "no coverage statement" in out
    assert "1 study" in out


# ----------------------------------------------------------------------------- scope


def test_stem_cells_only_is_one_flag() -> None:
    stem = set(run("list", "--cell-class", "stem", "--columns", "id").split()[1:])
    for study in BUNDLED.studies:
        cell_type = study.intervention.cell_type
        kept = (
            cell_type is not None and vocabulary.term("cell-type", cell_type).cell_class == "stem"
        )
        assert (study.id in stem) == kept, study.id
    for excluded in ("car-t", "treg", "regulatory-cells", "renal-cells"):
        assert vocabulary.term("cell-type", excluded).cell_class != "stem"


def test_summary_shows_the_cell_classes() -> None:
    summary = json.loads(run("summary", "--format", "json"))
    classes = {row["term"] for row in summary["by_cell_class"]}
    assert "stem" in classes
    assert classes <= vocabulary.ids("cell-class") | {"not-reported"}


# ----------------------------------------------------------------------------- trials and exclusions

TRIAL = """
[[trial]]
id = "NCT00000001"
title = "A trial"
conditions = ["chronic-kidney-disease"]
design = "rct"
randomized = true
comparator_classes = ["placebo"]
status = "completed"
completion = "2019-06"
publication = "none-found"
last_checked = "2026-12-01"
sources = ["https://clinicaltrials.gov/study/NCT00000001"]

[trial.intervention]
cell_type = "msc"
"""


def test_a_trial_file_beside_the_studies(write_registry: Callable[..., Path]) -> None:
    studies = write_registry(MINIMAL, "reg/studies.toml")
    write_registry(TRIAL, "reg/trials.toml")
    out = run("--registry", str(studies.parent), "trials", "--columns", "id,status,finding")
    assert "NCT00000001\tcompleted\tno results publication found as of 2026-12-01" in out
    assert run("--registry", str(studies.parent), "trials", "--disease", "lupus").count("\n") == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('status = "completed"', 'status = "finished"'), "trial NCT00000001: status: Input should be"),
        (('publication = "none-found"', 'publication = "published"'), "publication = published needs published_as"),
        (('completion = "2019-06"', 'completion = "June 2019"'), "trial NCT00000001: completion: String should match pattern"),
        (('last_checked = "2026-12-01"', 'last_checked = "2026-13-01"'), "is not a date"),
    ],
)  # fmt: skip
def test_a_bad_trial_is_one_located_problem(
    write_registry: Callable[..., Path], change: tuple[str, str], expected: str
) -> None:
    path = write_registry(MINIMAL + TRIAL.replace(*change))
    _, problems = registry.check([path])
    assert len(problems) == 1, problems
    text = str(problems[0])
    assert expected in text
    assert re.match(rf"{re.escape(str(path))}:\d+: ", text)


def test_a_published_trial_and_its_study_name_each_other(
    write_registry: Callable[..., Path],
) -> None:
    published = TRIAL.replace(
        'publication = "none-found"', 'publication = "published"\npublished_as = ["doe-2020-ckd"]'
    )
    path = write_registry(MINIMAL + published)
    _, problems = registry.check([path])
    assert [p.message for p in problems] == [
        "study 'doe-2020-ckd' does not list NCT00000001 in its registrations"
    ]
    linked = MINIMAL.replace("registrations = []", 'registrations = ["NCT00000001"]')
    assert registry.check([write_registry(linked + published, "b.toml")])[1] == []
