"""The pure core: what each filter means, how studies are ordered and counted, and the
`Registry` seam the commands use (select, get), without the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
