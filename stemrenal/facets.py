"""What filters, summaries and the cache's index read of a study: its facets.

Pydantic-free on purpose: `models` computes facets, `query` filters on them and the cache's
stand-ins are built from them, and none of those may force the others to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from stemrenal.models import Study, Trial


class Facets(NamedTuple):
    """A study reduced to what the filters and the summary look at.

    `Study.facets` computes it; the cache stores it for every study, so a warm run can filter
    a large registry without reading (or validating) the studies it will not print.
    """

    conditions: Sequence[str]
    cell_source: str | None
    cell_type: str | None
    tissue: str | None
    endpoints: Sequence[str]
    design: str | None  # None only for a registered trial whose design was not seen
    randomized: bool
    follow_up_months: float | None
    enrolled: int | None
    year: int
    cell_free: bool
    comparators: Sequence[str]
    transplant_settings: Sequence[str]
    ckd_stages: Sequence[int]  # the stages the inclusion criteria cover (see `stages_covered`)
    dialysis: bool | None
    refractory: bool | None
    outcomes: Sequence[tuple[str, bool, str]]  # (endpoint, primary, comparison) of each outcome
    risk_of_bias: str | None  # the overall judgement, None when not assessed
    cell_class: str | None  # the class of the cell type (vocabulary.toml)
    given_cells: int | None  # participants in arms given cells, when every such arm says n


#: KDIGO GFR categories: stage -> [low, high) in mL/min/1.73 m2 (G3a and G3b as one stage 3).
KDIGO_STAGES = {1: (90.0, 1e9), 2: (60.0, 90.0), 3: (30.0, 60.0), 4: (15.0, 30.0), 5: (0.0, 15.0)}


def stages_covered(stated: Sequence[int], low: float | None, high: float | None) -> list[int]:
    """The CKD stages an inclusion covers: those it states, and those whose KDIGO eGFR range
    overlaps its eGFR range (bounds touching do not count: "eGFR 15-60" is stages 3 and 4)."""
    covered = set(stated)
    if low is not None or high is not None:
        lo = 0.0 if low is None else low
        hi = 1e9 if high is None else high
        covered |= {n for n, (a, b) in KDIGO_STAGES.items() if lo < b and hi > a}
    return sorted(covered)


def facets_of(study: Study) -> Facets:
    """The facets of a validated study (see `Study.facets`)."""
    i = study.intervention
    severity = study.severity
    judged = study.risk_of_bias
    return Facets(  # positional: this runs once for every study of a registry being cached
        study.conditions,
        i.cell_source,
        i.cell_type,
        i.tissue,
        [outcome.endpoint for outcome in study.outcomes],
        study.design.kind,
        study.design.randomized,
        study.follow_up_months,
        study.enrolled,
        study.year,
        study.cell_free,
        study.design.comparator_classes,
        severity.transplant_settings,
        stages_covered(severity.ckd_stages, severity.egfr_min, severity.egfr_max),
        severity.dialysis,
        severity.refractory,
        [(o.endpoint, o.primary, o.comparison) for o in study.outcomes],
        judged.overall if judged is not None else None,
        _cell_class(i.cell_type),
        _given_cells([(arm.role, arm.n) for arm in study.arms]),
    )


def _given_cells(arms: Sequence[tuple[str | None, int | None]]) -> int | None:
    """How many were given cells: the n of the arms whose role is cells, if all report one."""
    sizes = [n for role, n in arms if role == "cells"]
    if not sizes or None in sizes:
        return None
    return sum(n for n in sizes if n is not None)


def trial_facets(trial: Trial) -> Facets:
    """A registered trial's facets: what it shares with studies; planned enrolment as `enrolled`,
    the start year as `year`; no outcomes, severity or risk of bias."""
    i = trial.intervention
    year = int(trial.start[:4]) if trial.start else 0
    return Facets(
        trial.conditions, i.cell_source, i.cell_type, i.tissue, [], trial.design,
        bool(trial.randomized), None, trial.planned_enrolment, year, trial.cell_free,
        trial.comparator_classes, [], [], None, None, [], None, _cell_class(i.cell_type), None,
    )  # fmt: skip


def _cell_class(cell_type: str | None) -> str | None:
    from stemrenal import vocabulary

    return None if cell_type is None else vocabulary.term("cell-type", cell_type).cell_class


class TermFilter(NamedTuple):
    """A filter that selects studies by vocabulary term: declared once, here.

    The command line gets `--<kind>` from it (any alias accepted), `query.matches` compares the
    facet with the terms asked for, and the cache indexes the facet so a warm query can narrow
    by it.
    """

    facet: str  # the `Facets` field holding the study's terms (a term, a list, or None)
    field: str  # the `query.Filters` field holding the terms asked for
    kind: str  # the vocabulary kind; the option is --<kind>
    help: str  # the option's help, before "(repeat for OR; any alias)"


TERM_FILTERS = (
    TermFilter(
        "conditions", "diseases", "disease", "Condition studied, e.g. lupus, CKD, 狼疮性肾炎"
    ),
    TermFilter("cell_source", "cell_sources", "cell-source", "autologous or allogeneic"),
    TermFilter("cell_type", "cell_types", "cell-type", "Cell type, e.g. msc, cd34, bm-mnc"),
    TermFilter("tissue", "tissues", "tissue", "Tissue of origin, e.g. bone-marrow, adipose"),
    TermFilter(
        "cell_class", "cell_classes", "cell-class", "Class of cell therapy, e.g. stem, immune"
    ),
    TermFilter("endpoints", "endpoints", "endpoint", "Reported endpoint, e.g. egfr, proteinuria"),
    TermFilter("design", "designs", "design", "Study design, e.g. rct, single-arm"),
    TermFilter(
        "comparators", "comparators", "comparator", "What cells were compared with, e.g. placebo"
    ),
    TermFilter(
        "transplant_settings",
        "transplant_settings",
        "transplant-setting",
        "Kidney transplantation: induction, rejection or tolerance",
    ),
)


def facet_terms(value: Sequence[str] | str | None) -> Sequence[str]:
    """The terms one facet holds, as `query.matches` compares them: a list, one term, or none."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value
