"""The pure core: what each filter means, how studies are ordered and counted, and the
`Registry` seam the commands use (select, get), without the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stemrenal import query, registry
from stemrenal.errors import UsageProblem
from stemrenal.models import Study
from stemrenal.query import Filters

from helpers import MINIMAL, SEED


@pytest.fixture(scope="module")
def seed() -> tuple[Study, ...]:
    return tuple(registry.load([SEED]))


def ids(studies: tuple[Study, ...]) -> list[str]:
    return [s.id for s in studies]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), ["dubsky-2019-dkd-limb-ischaemia", "ranjbar-2022-lupus-nephritis", "shao-2021-chronic-renal-failure"]),
        (Filters(diseases=("lupus-nephritis",)), ["ranjbar-2022-lupus-nephritis"]),
        (Filters(diseases=("lupus-nephritis", "chronic-kidney-disease")), ["ranjbar-2022-lupus-nephritis", "shao-2021-chronic-renal-failure"]),
        (Filters(diseases=("lupus-nephritis",), designs=("rct",)), []),
        (Filters(designs=("rct",)), ["shao-2021-chronic-renal-failure"]),
        (Filters(min_n=100), ["dubsky-2019-dkd-limb-ischaemia", "shao-2021-chronic-renal-failure"]),
        (Filters(min_followup=12.0), ["dubsky-2019-dkd-limb-ischaemia", "ranjbar-2022-lupus-nephritis"]),
        (Filters(max_followup=2.0), ["shao-2021-chronic-renal-failure"]),
        (Filters(since=2021), ["ranjbar-2022-lupus-nephritis", "shao-2021-chronic-renal-failure"]),
        (Filters(until=2019), ["dubsky-2019-dkd-limb-ischaemia"]),
        (Filters(search=("ADIPOSE",)), ["ranjbar-2022-lupus-nephritis"]),
        (Filters(cell_sources=("allogeneic",)), ["ranjbar-2022-lupus-nephritis"]),
        (Filters(cell_types=("msc",), cell_sources=("autologous",)), ["shao-2021-chronic-renal-failure"]),
    ],
)  # fmt: skip
def test_select(seed: tuple[Study, ...], filters: Filters, expected: list[str]) -> None:
    assert ids(query.select(seed, filters)) == expected


def test_a_study_without_enrolment_never_meets_min_n() -> None:
    study = Study.model_validate(_minimal_without("enrolled"))
    assert not query.matches(study, Filters(min_n=0))
    assert query.matches(study, Filters())


def _minimal_without(key: str) -> dict[str, object]:
    import tomli

    data = tomli.loads(MINIMAL)["study"][0]
    data.pop(key)
    data["arms"] = [{"name": "cells"}]
    return dict(data)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("n", ["ranjbar-2022-lupus-nephritis", "dubsky-2019-dkd-limb-ischaemia", "shao-2021-chronic-renal-failure"]),
        ("-n", ["shao-2021-chronic-renal-failure", "dubsky-2019-dkd-limb-ischaemia", "ranjbar-2022-lupus-nephritis"]),
        ("year", ["dubsky-2019-dkd-limb-ischaemia", "shao-2021-chronic-renal-failure", "ranjbar-2022-lupus-nephritis"]),
        ("follow_up", ["shao-2021-chronic-renal-failure", "ranjbar-2022-lupus-nephritis", "dubsky-2019-dkd-limb-ischaemia"]),
        (None, ["dubsky-2019-dkd-limb-ischaemia", "ranjbar-2022-lupus-nephritis", "shao-2021-chronic-renal-failure"]),
    ],
)  # fmt: skip
def test_order(seed: tuple[Study, ...], sort: str | None, expected: list[str]) -> None:
    assert ids(query.order(seed, sort)) == expected


def test_an_unknown_sort_key_lists_the_valid_ones(seed: tuple[Study, ...]) -> None:
    with pytest.raises(UsageProblem, match="valid keys: id, year, n"):
        query.order(seed, "size")


def test_summary_counts_reconcile(seed: tuple[Study, ...]) -> None:
    result = query.summarise(seed)
    assert result.studies == 3
    assert result.participants == sum(s.enrolled or 0 for s in seed)  # no overlaps in the seed
    assert result.randomized == 1
    by_design = {r.term: r.studies for r in result.rows if r.dimension == "design"}
    assert sum(by_design.values()) == result.studies


def test_overlapping_studies_count_their_largest_once(write_registry: Callable[..., Path]) -> None:
    second = MINIMAL.replace('"doe-2020-ckd"', '"doe-2021-ckd"').replace(
        "enrolled = 10", "enrolled = 25"
    )
    second = second.replace("registrations = []", 'registrations = []\noverlaps = ["doe-2020-ckd"]')
    second = second.replace("n = 10", "n = 25")
    studies = registry.load([write_registry(MINIMAL + second)])
    assert query.participants(studies) == 25
    assert len(query.overlap_groups(studies)) == 1


def test_outcome_rows_follow_the_endpoint_filter(seed: tuple[Study, ...]) -> None:
    rows = query.outcome_rows(seed, Filters(endpoints=("proteinuria",)))
    assert rows
    assert all(o.endpoint == "proteinuria" for _, o in rows)
    assert len(query.outcome_rows(seed)) == sum(len(s.outcomes) for s in seed)


# ----------------------------------------------------------------------------- the Registry seam


def test_registry_select_orders_and_limits() -> None:
    opened = registry.open_registry([SEED])
    chosen = opened.select(Filters(), sort="-n", limit=2)
    assert ids(chosen) == ["shao-2021-chronic-renal-failure", "dubsky-2019-dkd-limb-ischaemia"]


def test_registry_select_is_the_same_warm_and_cold() -> None:
    cold = registry.open_registry([SEED]).select(Filters(diseases=("lupus-nephritis",)))
    warm = registry.open_registry([SEED], lazy=True).select(Filters(diseases=("lupus-nephritis",)))
    assert ids(cold) == ids(warm) == ["ranjbar-2022-lupus-nephritis"]


def test_registry_get_suggests_the_closest_id() -> None:
    opened = registry.open_registry([SEED])
    assert opened.get("ranjbar-2022-lupus-nephritis").year == 2022
    with pytest.raises(UsageProblem, match="Did you mean: ranjbar-2022-lupus-nephritis"):
        opened.get("ranjbar-2023")


def test_registry_refuses_to_be_written(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match="part of the registry"):
        registry.open_registry([SEED], target=str(SEED))


class _Fake:
    """A study as `participants` reads it: an id, its overlaps and its facets' sizes."""

    def __init__(self, number: int, overlaps: list[int], enrolled: int | None) -> None:
        self.id = f"s{number}"
        self.overlaps = [f"s{o}" for o in overlaps]
        self.facets = type("F", (), {"enrolled": enrolled, "given_cells": enrolled})()


def _grouped_afresh(members: list[Any]) -> int:
    """The count as it was defined before the summary grouped once: the overlap groups of
    the members themselves."""
    total = 0
    for group in query.overlap_groups(members):
        total += max((s.facets.enrolled for s in group if s.facets.enrolled is not None), default=0)
    return total


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 11), max_size=3), st.none() | st.integers(0, 90)),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_grouping_once_counts_every_subset_as_grouping_it_afresh(
    specs: list[tuple[list[int], int | None]], keep: list[bool]
) -> None:
    """Chains matter: A-B-C grouped in the whole selection are two groups in {A, C}."""
    studies: list[Any] = [_Fake(i, o, n) for i, (o, n) in enumerate(specs)]
    shared = query.shared_groups(studies)
    subset = [s for s, kept in zip(studies, keep, strict=False) if kept]
    assert query.participants(subset, shared=shared) == _grouped_afresh(subset)
    assert query.participants(studies) == _grouped_afresh(studies)


class _Faceted(_Fake):
    """A study as `summarise` reads it: its terms too (a few, so that terms share studies)."""

    def __init__(self, number: int, overlaps: list[int], enrolled: int | None, terms: Any) -> None:
        super().__init__(number, overlaps, enrolled)
        conditions, design, source, randomized = terms
        facets = dict.fromkeys(
            ("cell_source", "cell_type", "cell_class", "tissue", "risk_of_bias"), source
        )
        facets.update(
            conditions=conditions, comparators=conditions[:1], design=design,
            randomized=randomized, enrolled=enrolled, given_cells=enrolled,
        )  # fmt: skip
        self.facets = type("F", (), facets)()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 9), max_size=3),
            st.none() | st.integers(0, 90),
            st.tuples(
                st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
                st.sampled_from(["rct", "case-series"]),
                st.none() | st.sampled_from(["x", "y"]),
                st.booleans(),
            ),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_every_row_of_a_summary_counts_as_its_studies_grouped_afresh(specs: list[Any]) -> None:
    """The summary counts all its terms from one grouping: each row, and each total, is what
    grouping that row's studies afresh gives."""
    studies: list[Any] = [_Faceted(i, o, n, t) for i, (o, n, t) in enumerate(specs)]
    result = query.summarise(studies)
    for row in result.rows:
        values = query._DIMENSIONS[row.dimension]
        members = [
            s for s in studies if row.term in [v or "not-reported" for v in values(s.facets)]
        ]
        assert (row.studies, row.participants) == (len(members), _grouped_afresh(members))
    randomized = [s for s in studies if s.facets.randomized]
    assert result.participants == _grouped_afresh(studies)
    assert result.randomized_participants == _grouped_afresh(randomized)
    assert result.given_cells == _grouped_afresh(studies)  # given_cells = enrolled here
