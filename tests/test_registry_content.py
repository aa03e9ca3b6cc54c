"""The bundled registry's content: every study sourced, limited and internally consistent.

These tests read the real `data/studies.toml`, so a curator who adds a study without a
source URL, a limitation or matching arms sees it fail here, not in a reader's hands.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli
from stemrenal.models import Study
from stemrenal.query import participants
from stemrenal.registry import bundled_path, check, load

STUDIES = load(())
IDS = [s.id for s in STUDIES]
BY_ID = {s.id: s for s in STUDIES}

# Studies whose only source is an identifier, not a URL, and why that is honest.

# The diseases issue 5 names; `summary` must show studies and participants for each.
DISEASES = (
    "chronic-kidney-disease",
    "diabetic-kidney-disease",
    "acute-kidney-injury",
    "polycystic-kidney-disease",
    "renovascular-disease",
    "focal-segmental-glomerulosclerosis",
    "lupus-nephritis",
    "systemic-lupus-erythematosus",
    "kidney-transplantation",
)

# Randomized trials that found no benefit: they must stay visible in `list --design rct`.
NEGATIVE_RCTS = (
    "swaminathan-2018-act-aki",
    "deng-2017-lupus-nephritis",
    "perico-2023-nephstrom",
    "sun-2018-kidney-transplant",
)


def _urls(study: Study) -> list[str]:
    return [s for s in study.sources if s.startswith(("https://", "http://"))]


def test_bundled_registry_is_clean() -> None:
    studies, problems = check([bundled_path()])
    assert problems == []
    assert len(studies) >= 20


@pytest.mark.parametrize("study", STUDIES, ids=IDS)
def test_study_is_identified_sourced_and_limited(study: Study) -> None:
    assert study.citation.doi or study.citation.pmid
    assert study.limitations, "every study needs at least one limitation"
    assert all(lim.text.strip() for lim in study.limitations)
    assert _urls(study), "every fact needs a source URL"


@pytest.mark.parametrize("study", STUDIES, ids=IDS)
def test_arms_add_up_where_given(study: Study) -> None:
    counts = [arm.n for arm in study.arms]
    if study.enrolled is not None and counts and all(n is not None for n in counts):
        assert sum(n for n in counts if n is not None) == study.enrolled


@pytest.mark.parametrize("study", [s for s in STUDIES if s.overlaps], ids=lambda s: s.id)
def test_overlaps_are_mutual_and_stated_as_limitations(study: Study) -> None:
    for other in study.overlaps:
        assert other in BY_ID, f"{study.id} overlaps unknown study {other}"
        assert study.id in BY_ID[other].overlaps, f"{other} does not list {study.id} back"
    assert any("overlap" in lim.text.lower() for lim in study.limitations)


def test_every_disease_has_studies_and_participants_in_summary(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["summary", "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    by_disease = {row["term"]: row for row in record["by_disease"]}
    for disease in DISEASES:
        assert by_disease[disease]["studies"] >= 1, disease
        assert by_disease[disease]["participants"] >= 1, disease
    assert record["studies"] == len(STUDIES)
    assert record["participants"] == participants(STUDIES)


def test_summary_does_not_double_count_overlapping_cohorts(runner: CliRunner) -> None:
    overlapping = [s for s in STUDIES if s.overlaps]
    assert overlapping, "the bundled registry records overlapping cohorts"
    record = json.loads(runner.invoke(cli, ["summary", "--format", "json"]).stdout)
    naive = sum(s.enrolled or 0 for s in STUDIES)
    assert record["participants_reported_sum"] == naive
    assert record["participants"] < naive


def test_randomized_trials_listed_with_negative_ones(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["list", "--design", "rct", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {r["id"] for r in json.loads(result.stdout)}
    assert listed == {s.id for s in STUDIES if s.design.kind == "rct"}
    assert set(NEGATIVE_RCTS) <= listed
    for study_id in NEGATIVE_RCTS:
        directions = {o.direction for o in BY_ID[study_id].outcomes}
        assert "no-difference" in directions, study_id


def test_randomized_total_counts_participants_of_randomized_studies(runner: CliRunner) -> None:
    record = json.loads(runner.invoke(cli, ["summary", "--format", "json"]).stdout)
    rcts = [s for s in STUDIES if s.design.randomized]
    assert record["randomized"] == len(rcts)
    assert record["randomized_participants"] == participants(rcts)
