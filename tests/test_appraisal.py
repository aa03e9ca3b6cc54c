"""How much a result is worth: severity, comparators, primary outcomes, between- vs
within-group results, risk of bias and structured safety events, in the registry and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal import appraisal, registry
from stemrenal.cli import cli
from stemrenal.facets import stages_covered
from stemrenal.models import CONTROLLED, Study, registry_json_schema

from helpers import MINIMAL

BUNDLED = registry.load()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def ids(tsv: str) -> list[str]:
    return [line.split("\t")[0] for line in tsv.splitlines()[1:]]


# ----------------------------------------------------------------------------- the bundled data


@pytest.mark.parametrize("study", [s for s in BUNDLED if s.design.kind in CONTROLLED], ids=str)
def test_every_controlled_study_has_a_reasoned_risk_of_bias(study: Study) -> None:
    judged = study.risk_of_bias
    assert judged is not None, study.id
    assert judged.tool == appraisal.TOOL_FOR_DESIGN[study.design.kind]
    assert judged.basis in {"abstract", "full-text", "review"}
    assert [d.domain for d in judged.domains] == list(appraisal.DOMAINS[judged.tool])
    assert all(len(d.reason.split()) >= 5 for d in judged.domains), study.id
    assert judged.source in study.sources


def test_uncontrolled_studies_are_not_scored() -> None:
    uncontrolled = [s for s in BUNDLED if s.design.kind not in CONTROLLED]
    assert uncontrolled
    assert all(s.risk_of_bias is None for s in uncontrolled)


def test_every_outcome_says_what_it_compares_and_every_primary_is_cited() -> None:
    outcomes = [(s, o) for s in BUNDLED for o in s.outcomes]
    assert all(o.comparison in {"between-groups", "within-group"} for _, o in outcomes)
    primaries = [(s, o) for s, o in outcomes if o.primary]
    assert len(primaries) >= 10
    assert all(o.primary_source in s.sources for s, o in primaries)


def test_uncontrolled_results_are_never_called_between_groups() -> None:
    for study in BUNDLED:
        if "none" in study.design.comparator_classes:
            assert {o.comparison for o in study.outcomes} <= {"within-group"}, study.id


def test_every_arm_has_a_role_and_every_study_a_comparator_class() -> None:
    assert all(arm.role in {"cells", "control"} for s in BUNDLED for arm in s.arms)
    assert all(s.design.comparator_classes for s in BUNDLED)
    for study in BUNDLED:
        if study.design.kind in CONTROLLED:
            roles = {arm.role for arm in study.arms}
            assert "cells" in roles, study.id


def test_transplant_studies_say_what_the_cells_were_for() -> None:
    for study in BUNDLED:
        if study.conditions == ["kidney-transplantation"]:
            assert study.severity.transplant_settings, study.id


# ----------------------------------------------------------------------------- the filters


def test_placebo_or_sham_controlled_trials() -> None:
    found = ids(run("list", "--comparator", "placebo", "--columns", "id"))
    assert {
        "swaminathan-2018-act-aki",
        "deng-2017-lupus-nephritis",
        "packham-2016-dkd",
        "perico-2023-nephstrom",
        "nassar-2016-ev-ckd",
        "swaminathan-2021-sbi101-aki",
    } <= set(found)
    assert ids(run("list", "--comparator", "sham", "--columns", "id")) == found  # an alias


def test_between_group_proteinuria_comes_from_controlled_studies_only() -> None:
    out = run(
        "outcomes", "--endpoint", "proteinuria", "--comparison", "between-groups",
        "--columns", "study,design,comparison",
    )  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert rows
    assert {r[1] for r in rows} <= set(CONTROLLED)
    assert {r[2] for r in rows} == {"between-groups"}
    everything = run("outcomes", "--endpoint", "proteinuria", "--columns", "study,comparison")
    assert "within-group" in everything  # the uncontrolled ones are there without the filter


def test_primary_shows_primary_outcomes_only() -> None:
    out = run("outcomes", "--primary", "--format", "json")
    records = json.loads(out)
    assert records
    assert all(r["primary"] is True for r in records)
    expected = sum(1 for s in BUNDLED for o in s.outcomes if o.primary)
    assert len(records) == expected


def test_list_with_primary_needs_one_outcome_that_is_both(
    write_registry: Callable[..., Path],
) -> None:
    """--endpoint and --primary apply to the same outcome, not to any two outcomes."""
    found = set(ids(run("list", "--primary", "--endpoint", "renal-response", "--columns", "id")))
    expected = {
        s.id
        for s in BUNDLED
        if any(o.primary and o.endpoint == "renal-response" for o in s.outcomes)
    }
    assert found == expected
    assert "deng-2017-lupus-nephritis" in found


def test_lupus_safety_shows_the_deaths_and_infections() -> None:
    out = run("safety", "--disease", "lupus", "--columns", "study,event,arm,count,denominator")
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert ["deng-2017-lupus-nephritis", "death", "hUC-MSC", "1", "12"] in rows
    wang = [r for r in rows if r[0] == "wang-2014-sle-multicenter"]
    assert ["wang-2014-sle-multicenter", "death", "UC-MSC", "3", "40"] in wang
    assert any(r[1] == "infection" for r in wang)


def test_safety_never_drops_a_study_with_only_free_text() -> None:
    out = run("safety", "--disease", "lupus", "--columns", "study,event,description")
    assert "barbado-2018-lupus-nephritis\tnot-itemised" in out


def test_safety_by_event_kind() -> None:
    out = run("safety", "--event", "death", "--columns", "event")
    assert set(out.splitlines()[1:]) == {"death"}


def test_safety_as_users_type_it_reaches_adverse_events() -> None:
    assert run("outcomes", "--endpoint", "safety", "--columns", "endpoint").splitlines()[1:]


@pytest.mark.parametrize(
    ("stated", "low", "high", "covered"),
    [
        ([], 15.0, 60.0, [3, 4]),
        ([], None, 60.0, [3, 4, 5]),
        ([], 30.0, 50.0, [3]),
        ([4, 5], None, None, [4, 5]),
        ([5], 20.0, 40.0, [3, 4, 5]),
        ([], None, None, []),
    ],
)
def test_stages_covered(
    stated: list[int], low: float | None, high: float | None, covered: list[int]
) -> None:
    assert stages_covered(stated, low, high) == covered


def _with_severity(sid: str, severity: str) -> str:
    study = MINIMAL.replace('"doe-2020-ckd"', f'"{sid}"')
    return study.replace("[study.citation]", f"[study.severity]\n{severity}\n\n[study.citation]")


def test_severity_filters_answer_from_structured_fields(
    write_registry: Callable[..., Path],
) -> None:
    path = write_registry(
        _with_severity("a-2020-ckd", "ckd_stages = [5]\ndialysis = true")
        + _with_severity("b-2020-ckd", "egfr_max = 14.0")
        + _with_severity("c-2020-ckd", "egfr_min = 30.0\negfr_max = 59.0\ndialysis = false")
        + _with_severity("d-2020-ckd", "refractory = true")
    )
    base = ("--registry", str(path), "list", "--columns", "id")
    assert ids(run(*base, "--ckd-stage", "5")) == ["a-2020-ckd", "b-2020-ckd"]
    assert ids(run(*base, "--ckd-stage", "3")) == ["c-2020-ckd"]
    assert ids(run(*base, "--dialysis")) == ["a-2020-ckd"]
    assert ids(run(*base, "--refractory")) == ["d-2020-ckd"]
    assert ids(run(*base, "--ckd-stage", "4", "--ckd-stage", "5")) == ["a-2020-ckd", "b-2020-ckd"]


def test_bundled_severity_is_queryable() -> None:
    assert ids(run("list", "--dialysis", "--columns", "id")) == [
        s.id for s in BUNDLED if s.severity.dialysis
    ]
    stage4 = ids(run("list", "--ckd-stage", "4", "--columns", "id"))
    assert "packham-2016-dkd" in stage4
    assert "perico-2023-nephstrom" not in stage4  # eGFR 30-50 is stage 3 only


@pytest.mark.parametrize("typed", ["ESRD", "ESKD", "end-stage", "dialysis", "尿毒症", "透析"])
def test_severity_words_typed_as_a_disease_name_the_filter(typed: str) -> None:
    result = CliRunner().invoke(cli, ["list", "--disease", typed])
    assert result.exit_code == 2
    assert "--dialysis" in result.stderr
    assert "Traceback" not in result.stderr


def test_risk_of_bias_at_most() -> None:
    low = ids(run("list", "--risk-of-bias", "some-concerns", "--columns", "id"))
    assert low
    for study in BUNDLED:
        judged = study.risk_of_bias
        kept = judged is not None and appraisal.RANK[judged.overall] <= 1
        assert (study.id in low) == kept, study.id
    assert set(low) < set(ids(run("list", "--risk-of-bias", "critical", "--columns", "id")))


def test_transplant_setting_filter() -> None:
    found = ids(run("list", "--transplant-setting", "rejection", "--columns", "id"))
    assert "wei-2021-cabmr" in found
    assert all("rejection" in s.severity.transplant_settings for s in BUNDLED if s.id in set(found))


# ----------------------------------------------------------------------------- where a reader decides


def test_list_row_shows_comparator_and_risk_of_bias() -> None:
    out = run("list", "--disease", "lupus", "--design", "rct", "--columns", "id,evidence")
    assert "vs placebo; RoB 2: some concerns" in out
    out = run("list", "--design", "single-arm", "--limit", "1", "--columns", "evidence")
    assert "no control group" in out


def test_outcome_rows_show_primary_and_comparison() -> None:
    out = run("outcomes", "--disease", "lupus", "--design", "rct", "--columns", "finding")
    assert out.splitlines()[1].startswith("PRIMARY renal-response")
    assert "between groups]" in out


def test_show_has_a_risk_of_bias_section_with_reasons() -> None:
    out = run("show", "deng-2017-lupus-nephritis")
    section = out.split("RISK OF BIAS\n")[1].split("\n\n")[0]
    assert "RoB 2 overall: some concerns; judged by the curator from the abstract" in section
    assert len(section.splitlines()) == 6  # overall + five domains
    assert "death 1/12 (hUC-MSC): Died of severe pneumonia; serious" in out
    single = run("show", "ranjbar-2022-lupus-nephritis")
    assert "no control group (single-arm): not scored" in single


def test_summary_breaks_down_by_comparator_and_risk_of_bias() -> None:
    record = json.loads(run("summary", "--format", "json"))
    comparators = {row["term"]: row["studies"] for row in record["by_comparator"]}
    assert comparators["placebo"] == sum(
        1 for s in BUNDLED if "placebo" in s.design.comparator_classes
    )
    judged = {row["term"]: row["studies"] for row in record["by_risk_of_bias"]}
    assert judged["no-control-group"] == sum(1 for s in BUNDLED if s.design.kind not in CONTROLLED)
    assert sum(judged.values()) == record["studies"]


def test_csv_and_json_carry_the_fields() -> None:
    header = run("list", "--format", "csv").splitlines()[0].split(",")
    assert {"comparators", "risk_of_bias"} <= set(header)
    header = run("outcomes", "--format", "csv").splitlines()[0].split(",")
    assert {"comparison", "primary"} <= set(header)
    record = json.loads(run("show", "deng-2017-lupus-nephritis", "--format", "json"))
    assert record["risk_of_bias"]["tool"] == "rob2"
    assert record["safety_events"][0]["event"] == "death"
    assert record["outcomes"][0]["arm_values"][0] == {
        "arm": "hUC-MSC", "events": 9, "total": 12, "mean": None, "sd": None,
        "source": "https://ard.bmj.com/content/76/8/1436",
    }  # fmt: skip


def test_the_schema_describes_the_new_fields_for_editors() -> None:
    schema = json.dumps(registry_json_schema())
    for phrase in (
        "dialysis-dependent at enrolment",
        "names this the primary outcome",
        "before and after in the same people",
        "rob2 for randomized trials",
        "The authors' judgement of relation",
    ):
        assert phrase in schema
    defs = registry_json_schema()["$defs"]
    assert "placebo" in json.dumps(defs["Design"])  # the comparator terms as an enum


# ----------------------------------------------------------------------------- bad input

RCT = MINIMAL.replace('kind = "single-arm"\nrandomized = false\ncomparator_classes = ["none"]',
                      'kind = "rct"\nrandomized = true\ncomparator_classes = ["placebo"]')  # fmt: skip
ROB = """
[study.risk_of_bias]
tool = "rob2"
overall = "high"
basis = "abstract"
assessor = "curator"
{domains}
"""


def _domains(judgement: str = "low", first: str = "randomization") -> str:
    names = [first, "deviations", "missing-data", "measurement", "reported-result"]
    return "".join(
        f'\n[[study.risk_of_bias.domains]]\ndomain = "{n}"\njudgement = "{judgement}"\n'
        'reason = "As stated."\n'
        for n in names
    )


def problems(write: Callable[..., Path], text: str) -> list[str]:
    path = write(text)
    _, found = registry.check([path])
    return [str(p).replace(str(path), "FILE") for p in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RCT + ROB.format(domains=_domains("medium")), "risk_of_bias.domains[0]: 'medium' is not a rob2 judgement"),
        (RCT + ROB.format(domains=_domains(first="confounding")), "risk_of_bias.domains[0]: 'confounding' is not a rob2 domain"),
        (RCT + ROB.format(domains=_domains("high")).replace('overall = "high"', 'overall = "low"'), "overall 'low' is less severe than the worst domain"),
        (MINIMAL + ROB.format(domains=_domains()), "risk_of_bias: a single-arm study has no control group to judge"),
        (_with_severity("doe-2020-ckd", "ckd_stages = [7]"), "severity.ckd_stages[0]: Input should be less than or equal to 5"),
        (_with_severity("doe-2020-ckd", "egfr_min = 60.0\negfr_max = 15.0"), "severity.egfr_min: egfr_min 60 is above egfr_max 15"),
        (MINIMAL.replace('comparison = "within-group"', 'comparison = "within-group"\nprimary = true'), "outcomes[0].primary_source: primary = true needs primary_source"),
        (MINIMAL.replace('comparison = "within-group"\n', ""), "outcomes[0].comparison: required key is missing"),
        (MINIMAL.replace('comparator_classes = ["none"]', 'comparator_classes = ["placebo"]'), "design: a single-arm study has no concurrent control"),
        (RCT.replace('comparator_classes = ["placebo"]', 'comparator_classes = ["none"]'), "design: a rct study has a control group"),
        (MINIMAL.replace('comparator_classes = ["none"]', 'comparator_classes = ["Placebo-controlled"]'), "'Placebo-controlled' is an alias; the registry uses the canonical comparator term 'placebo'"),
        (MINIMAL + '\n[[study.safety_events]]\nevent = "death"\ndescription = "x"\narm = "nobody"\n', "safety_events[0].arm: 'nobody' is not the name of one of this study's arms"),
        (MINIMAL.replace('comparison = "within-group"', 'comparison = "within-group"\nprimary = true\nprimary_source = "https://elsewhere.example"'), "sources: outcomes[0].primary_source names 'https://elsewhere.example', which is not in sources"),
    ],
    ids=[
        "judgement-word", "domain-of-other-tool", "overall-milder-than-domains", "rob-on-single-arm",
        "ckd-stage-7", "egfr-upside-down", "primary-without-source", "no-comparison",
        "single-arm-with-placebo", "rct-with-none", "comparator-alias", "event-unknown-arm",
        "source-not-listed",
    ],
)  # fmt: skip
def test_bad_appraisal_is_one_located_problem(
    write_registry: Callable[..., Path], text: str, expected: str
) -> None:
    found = problems(write_registry, text)
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith("FILE:")
    assert found[0].split(":")[1].isdigit()  # a line number


def test_bad_appraisal_through_the_cli_exits_1_and_writes_nothing(
    write_registry: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_registry(_with_severity("doe-2020-ckd", "ckd_stages = [7]"))
    target = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, "-m", "stemrenal", "--registry", str(path), "list", "-o", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "severity.ckd_stages[0]" in result.stderr
    assert not target.exists()


def test_summary_counts_the_patients_given_cells(write_registry: Callable[..., Path]) -> None:
    """Arm roles make "patients given cells" countable; overlapping studies count once."""
    rct = RCT.replace('[[study.arms]]\nname = "cells"\nn = 10\n', "")
    rct = rct.replace("[study.intervention]", (
        '[[study.arms]]\nname = "cells"\nn = 6\nrole = "cells"\n\n'
        '[[study.arms]]\nname = "placebo"\nn = 4\nrole = "control"\n\n[study.intervention]'
    ))  # fmt: skip
    unknown = MINIMAL.replace('"doe-2020-ckd"', '"roe-2021-ckd"')  # an arm without a role
    path = write_registry(rct + unknown)
    record = json.loads(run("--registry", str(path), "summary", "--format", "json"))
    assert (record["given_cells"], record["given_cells_studies"]) == (6, 1)
    assert "total\tgiven-cells\t1\t6" in run("--registry", str(path), "summary")
