"""Schema rules, one fault at a time, through the library API (registry.check)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stemrenal import registry
from stemrenal.durations import parse_duration

from helpers import MINIMAL


def problems_for(write: Callable[..., Path], text: str) -> list[str]:
    path = write(text)
    _, problems = registry.check([path])
    return [str(p).replace(str(path), "FILE") for p in problems]


def test_minimal_study_is_valid(write_registry: Callable[..., Path]) -> None:
    studies, problems = registry.check([write_registry(MINIMAL)])
    assert problems == []
    assert [s.id for s in studies] == ["doe-2020-ckd"]
    assert studies[0].follow_up_months == 6.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("year = 2020", 'year = "2020"', "FILE:5: study doe-2020-ckd: year: Input should be a valid integer (got '2020')"),
        ("enrolled = 10", "enrolled = 10\ncolour = 1", "FILE:10: study doe-2020-ckd: colour: unknown key (not part of the registry format)"),
        ("enrolled = 10", "enrolled = 0", "FILE:9: study doe-2020-ckd: enrolled: Input should be greater than 0"),
        ("enrolled = 10", "enrolled = -3", "FILE:9: study doe-2020-ckd: enrolled: Input should be greater than 0"),
        ("enrolled = 10", "enrolled = 12", "FILE:23: study doe-2020-ckd: arms: the arms' n add up to 10, but enrolled is 12"),
        ('population = "CKD stage 3-4"\n', "", "FILE:2: study doe-2020-ckd: population: required key is missing"),
        ('"chronic-kidney-disease"', '"CKD"', "FILE:7: study doe-2020-ckd: conditions[0]: 'CKD' is an alias; the registry uses the canonical disease term 'chronic-kidney-disease'"),
        ('"chronic-kidney-disease"', '"chronic-kidney-diseas"', "FILE:7: study doe-2020-ckd: conditions[0]: unknown disease term 'chronic-kidney-diseas'; did you mean 'chronic-kidney-disease', 'diabetic-kidney-disease'? (see `stemrenal vocab`)"),
        ('endpoint = "egfr"', 'endpoint = "eGFR"', "FILE:33: study doe-2020-ckd: outcomes[0].endpoint: 'eGFR' is an alias; the registry uses the canonical endpoint term 'egfr'"),
        ('doi = "10.1000/test.1"', "", "FILE:13: study doe-2020-ckd: citation: give a doi or a pmid (or both)"),
        ('doi = "10.1000/test.1"', 'doi = "doi:10.1000/x"', "FILE:16: study doe-2020-ckd: citation.doi: write the bare DOI, e.g. 10.1136/annrheumdis-2017-211073 (drop any https://doi.org/ or doi: prefix) (got 'doi:10.1000/x')"),
        ('follow_up = "6 months"', 'follow_up = "half a year"', "FILE:10: study doe-2020-ckd: follow_up: cannot read duration 'half a year': use a number and a unit, e.g. 8w, 8 weeks, 90 days, 6mo, 6 months, 18m, 1y, 1.5 years"),
        ("randomized = false", "randomized = true", "FILE:18: study doe-2020-ckd: design: randomized = true contradicts kind = 'single-arm'"),
        ('title = "A small study"', 'title = "A \\u001b[31mred\\u001b[0m study"', "FILE:4: study doe-2020-ckd: title: contains a control character (U+001B control character)"),
        ('source = "curator"', 'source = "me"', "FILE:42: study doe-2020-ckd: limitations[0].source: Input should be 'authors' or 'curator' (got 'me')"),
        ('id = "doe-2020-ckd"', 'id = "Doe 2020"', "FILE:3: study Doe 2020: id: write the id in lower case as author-year-topic, e.g. deng-2017-lupus-nephritis (got 'Doe 2020')"),
    ],
    ids=[
        "wrong-type", "unknown-key", "zero-enrolled", "negative-enrolled", "arms-do-not-add-up",
        "missing-required", "alias-not-canonical", "near-miss-term", "endpoint-alias", "no-doi-or-pmid",
        "bad-doi", "unreadable-follow-up", "randomized-contradicts-kind", "control-character",
        "bad-limitation-source", "bad-id",
    ],
)  # fmt: skip
def test_one_fault_one_located_problem(
    write_registry: Callable[..., Path], old: str, new: str, expected: str
) -> None:
    assert old in MINIMAL
    assert problems_for(write_registry, MINIMAL.replace(old, new, 1)) == [expected]


def test_missing_key_in_sub_table_points_at_the_table(write_registry: Callable[..., Path]) -> None:
    text = MINIMAL.replace('journal = "Journal of Tests"\n', "")
    assert problems_for(write_registry, text) == [
        "FILE:13: study doe-2020-ckd: citation.journal: required key is missing"
    ]


def test_every_problem_is_collected_not_just_the_first(write_registry: Callable[..., Path]) -> None:
    text = MINIMAL.replace("year = 2020", 'year = "x"').replace('"egfr"', '"gfr-ish"')
    second = MINIMAL.replace("doe-2020-ckd", "roe-2021-ckd").replace(
        "enrolled = 10", "enrolled = 11"
    )
    found = problems_for(write_registry, text + second)
    assert len(found) == 3
    assert any("study roe-2021-ckd: arms" in p for p in found)


def test_arms_without_n_are_not_summed(write_registry: Callable[..., Path]) -> None:
    text = MINIMAL.replace("n = 10\n", "").replace("enrolled = 10", "enrolled = 99")
    assert problems_for(write_registry, text) == []


def test_absent_optional_values_mean_not_reported(write_registry: Callable[..., Path]) -> None:
    text = MINIMAL.replace('follow_up = "6 months"\n', "").replace("enrolled = 10\n", "")
    studies, problems = registry.check([write_registry(text)])
    assert problems == []
    assert studies[0].enrolled is None
    assert studies[0].follow_up_months is None


def test_models_are_frozen(write_registry: Callable[..., Path]) -> None:
    from pydantic import ValidationError

    study = registry.load([write_registry(MINIMAL)])[0]
    with pytest.raises(ValidationError):
        study.year = 1999  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("8w", 1.84), ("8 weeks", 1.84), ("6mo", 6.0), ("6 months", 6.0), ("1y", 12.0),
        ("1.5 years", 18.0), ("18m", 18.0), ("90 days", 2.96), ("12 个月", 12.0), ("5 年", 60.0),
        ("60 Weeks", 13.8),
    ],
)  # fmt: skip
def test_parse_duration_accepts_what_people_type(text: str, months: float) -> None:
    assert parse_duration(text) == months


@pytest.mark.parametrize(
    "text", ["", "weeks", "8", "8 fortnights", "-3 months", "1.2.3y", "eight weeks"]
)
def test_parse_duration_rejects_the_rest(text: str) -> None:
    with pytest.raises(ValueError, match=r"use a number"):
        parse_duration(text)


def test_lists_left_out_are_empty_apart_and_shown_as_defaults(
    write_registry: Callable[..., Path],
) -> None:
    """The factory keeps what `= []` gave (Pydantic copied that default for every study):
    each study its own empty list, and `[]` as the default editors show."""
    from stemrenal.models import Study, registry_json_schema

    text = MINIMAL + MINIMAL.replace('"doe-2020-ckd"', '"roe-2021-ckd"')
    (first, second), problems = registry.check([write_registry(text)])
    assert problems == []
    assert first.overlaps == second.overlaps == []
    assert first.overlaps is not second.overlaps
    properties = registry_json_schema()["$defs"]["Study"]["properties"]
    for name in ("countries", "institutions", "arms", "outcomes", "overlaps", "curation_notes"):
        assert Study.model_fields[name].is_required() is False
        assert properties[name]["default"] == [], name


@pytest.mark.parametrize("escape", ["\\b", "\\f", "\\u001b", "\\U0000001b", "\\u200b"])
def test_an_escaped_unsafe_character_is_refused(
    write_registry: Callable[..., Path], escape: str
) -> None:
    """An escape makes the character when the TOML is parsed: the file's text holds none."""
    text = MINIMAL.replace('title = "A small study"', f'title = "A small{escape} study"', 1)
    [problem] = problems_for(write_registry, text)
    assert problem.startswith("FILE:4: study doe-2020-ckd: title: contains a control character")


def test_printable_ascii_is_never_searched_for_unsafe_characters(
    write_registry: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut that took the search out of most of 722,842 strings of a 10,000-study
    file: printable ASCII holds no unsafe character, so only other text is searched."""
    from stemrenal import models

    def per_string(value: str) -> None:
        raise RuntimeError("searched")  # pydantic would turn an AssertionError into a problem

    monkeypatch.setattr(models, "first_control", per_string)
    one_line = MINIMAL.replace("\n\n", "\n")
    studies, problems = registry.check([write_registry(one_line)])
    assert (len(studies), problems) == (1, [])
    with pytest.raises(RuntimeError, match="searched"):  # other text is searched
        registry.check([write_registry(one_line.replace("A small", "A \u00e9 small"))])


def test_a_todo_anywhere_in_a_file_keeps_the_placeholder_check(
    write_registry: Callable[..., Path],
) -> None:
    text = "# TODO: more studies\n" + MINIMAL.replace('"Journal of Tests"', '"todo: journal"')
    assert [p.split(": ", 3)[2:] for p in problems_for(write_registry, text)] == [
        [
            "citation.journal",
            "not filled in yet: replace 'todo: journal' (or delete the key if no source says it)",
        ]
    ]
