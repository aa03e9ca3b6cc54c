"""Evidence at a glance: a summary of findings per endpoint, an evidence map, risk-of-bias rows.

Pure functions over selected studies (and certainty records), like `query`: no I/O, no
formatting. What a "controlled result" is lives here, once: an outcome compared between
groups. Before/after results of studies that give no between-group result on the endpoint
are counted apart, so an endpoint supported only by uncontrolled studies says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from stemrenal.appraisal import DESIGN_STRENGTH, DOMAINS, NO_INFORMATION, TOOL_FOR_DESIGN
from stemrenal.query import Filters, design_rank, outcome_passes, participants

if TYPE_CHECKING:
    from stemrenal.models import Certainty, Outcome, Study

#: What a study's results on one endpoint came to, as recorded; "not-reported" when no
#: outcome states a direction, "mixed" when its outcomes disagree.
VERDICTS = ("improved", "no-difference", "worsened", "mixed", "not-reported")


class StudyResult(NamedTuple):
    """One study's results on one endpoint of one kind (between groups, or before/after)."""

    study: Study
    verdict: str
    primary: bool


class Results(NamedTuple):
    """Studies' results of one kind on one endpoint, and what they came to."""

    studies: tuple[StudyResult, ...]

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.studies if r.verdict == verdict)

    @property
    def primary(self) -> int:
        return sum(1 for r in self.studies if r.primary)

    @property
    def participants(self) -> int:
        return participants([r.study for r in self.studies])


class EvidenceRow(NamedTuple):
    """One row of the summary of findings: an endpoint (in a disease, with --by disease)."""

    endpoint: str
    disease: str | None
    studies: tuple[Study, ...]
    participants: int
    designs: tuple[tuple[str, int], ...]  # (design, studies), strongest first
    controlled: Results  # between-group results
    before_after: Results  # within-group results of studies with no between-group result
    risk_of_bias: tuple[tuple[str, str, int], ...]  # (tool, judgement, studies) of controlled
    certainty: tuple[Certainty, ...]

    @property
    def support(self) -> str:
        """ "controlled" when any study compared groups; else "uncontrolled only"."""
        return "controlled" if self.controlled.studies else "uncontrolled-only"


def verdict(outcomes: Sequence[Outcome]) -> str:
    """What several outcomes on one endpoint come to: their shared direction, "mixed" when
    they disagree, "not-reported" when none states one. Nothing is inferred from numbers."""
    stated = {o.direction for o in outcomes if o.direction is not None}
    if not stated:
        return "not-reported"
    if len(stated) == 1:
        return stated.pop()
    return "mixed"


def _results(
    studies: Iterable[Study], endpoint: str, comparison: str, filters: Filters
) -> list[StudyResult]:
    found = []
    for study in studies:
        chosen = [
            o
            for o in study.outcomes
            if o.endpoint == endpoint
            and o.comparison == comparison
            and outcome_passes((o.endpoint, o.primary, o.comparison), filters)
        ]
        if chosen:
            found.append(StudyResult(study, verdict(chosen), any(o.primary for o in chosen)))
    return found


def _designs(studies: Sequence[Study]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for study in studies:
        counts[study.design.kind] = counts.get(study.design.kind, 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: _strength(kv[0])))


def _strength(design: str | None) -> int:
    """`query.design_rank`, with designs it does not know last."""
    rank = design_rank(design)
    return len(DESIGN_STRENGTH) if rank is None else rank


def strongest(studies: Iterable[Study]) -> str | None:
    """The strongest design among the studies."""
    designs = [s.design.kind for s in studies]
    return min(designs, key=_strength) if designs else None


def _judgements(results: Results) -> tuple[tuple[str, str, int], ...]:
    counts: dict[tuple[str, str], int] = {}
    for r in results.studies:
        judged = r.study.risk_of_bias
        key: tuple[str, str]
        if judged is not None:
            key = (judged.tool, judged.overall)
        elif r.study.design.kind in TOOL_FOR_DESIGN:
            key = (TOOL_FOR_DESIGN[r.study.design.kind], "not-assessed")
        else:
            key = ("none", "no-control-group")
        counts[key] = counts.get(key, 0) + 1
    return tuple((tool, judgement, n) for (tool, judgement), n in counts.items())


def evidence_rows(
    studies: Sequence[Study],
    filters: Filters,
    certainties: Sequence[Certainty] = (),
    *,
    by_disease: bool = False,
) -> list[EvidenceRow]:
    """One row per endpoint the selected studies report (per disease and endpoint with
    `by_disease`), in the vocabulary's order of first appearance. --endpoint, --primary and
    --comparison narrow the outcomes counted, as in `outcome_rows`."""
    keys: dict[tuple[str | None, str], list[Study]] = {}
    for study in studies:
        diseases: Sequence[str | None] = (
            [d for d in study.conditions if not filters.diseases or d in filters.diseases]
            if by_disease
            else [None]
        )
        for outcome in study.outcomes:
            if not outcome_passes((outcome.endpoint, outcome.primary, outcome.comparison), filters):
                continue
            for disease in diseases:
                members = keys.setdefault((disease, outcome.endpoint), [])
                if study not in members:
                    members.append(study)
    rows = []
    for (disease, endpoint), members in keys.items():
        controlled = _results(members, endpoint, "between-groups", filters)
        compared = {r.study.id for r in controlled}
        uncontrolled = [s for s in members if s.id not in compared]
        before_after = _results(uncontrolled, endpoint, "within-group", filters)
        controlled_results = Results(tuple(controlled))
        wanted = {disease} if disease else {d for s in members for d in s.conditions}
        if filters.diseases:
            wanted &= set(filters.diseases)
        rows.append(
            EvidenceRow(
                endpoint=endpoint,
                disease=disease,
                studies=tuple(members),
                participants=participants(members),
                designs=_designs(members),
                controlled=controlled_results,
                before_after=Results(tuple(before_after)),
                risk_of_bias=_judgements(controlled_results),
                certainty=tuple(
                    c for c in certainties if c.endpoint == endpoint and c.disease in wanted
                ),
            )
        )
    return rows


#: What the map's columns can be: a facet of each study.
MAP_COLUMNS: dict[str, Callable[[Study], str | None]] = {
    "cell-type": lambda s: s.facets.cell_type,
    "cell-source": lambda s: s.facets.cell_source,
    "tissue": lambda s: s.facets.tissue,
    "cell-class": lambda s: s.facets.cell_class,
}


class MapCell(NamedTuple):
    """One cell of the evidence map: a disease and a column term, and the studies in it."""

    disease: str
    term: str
    studies: tuple[Study, ...]
    participants: int
    strongest: str | None
    controlled: str | None  # "benefit", "null", or None when no controlled result has a direction

    @property
    def null(self) -> bool:
        """Controlled evidence exists and none of it found a benefit."""
        return self.controlled == "null"


def controlled_finding(studies: Iterable[Study]) -> str | None:
    """What the controlled (between-group) results of these studies found.

    Per study, its primary between-group outcomes if it names any, else all of them; the
    cell is "benefit" when any study's come to improved (or mixed), "null" when every study
    with a stated direction found no difference or worse, None when none states a direction.
    """
    seen: list[str] = []
    for study in studies:
        compared = [o for o in study.outcomes if o.comparison == "between-groups"]
        primary = [o for o in compared if o.primary]
        directions = {o.direction for o in (primary or compared) if o.direction is not None}
        if directions:
            seen.append("benefit" if directions & {"improved", "mixed"} else "null")
    if not seen:
        return None
    return "benefit" if "benefit" in seen else "null"


def map_cells(
    studies: Sequence[Study], columns_by: str = "cell-type", filters: Filters | None = None
) -> list[MapCell]:
    """Every (disease, column term) pair that holds a study; a study with several conditions
    is in each of its rows (only the filtered diseases when --disease is given)."""
    wanted = set(filters.diseases) if filters and filters.diseases else None
    column = MAP_COLUMNS[columns_by]
    grid: dict[tuple[str, str], list[Study]] = {}
    for study in studies:
        term = column(study) or "not-reported"
        for disease in study.conditions:
            if wanted is None or disease in wanted:
                grid.setdefault((disease, term), []).append(study)
    return [
        MapCell(
            disease,
            term,
            tuple(members),
            participants(members),
            strongest(members),
            controlled_finding(members),
        )
        for (disease, term), members in grid.items()
    ]


class BiasRow(NamedTuple):
    """One study's risk-of-bias judgements, domain by domain, in its tool's order."""

    study: Study
    tool: str
    judgements: tuple[str, ...]
    overall: str


def bias_rows(studies: Iterable[Study], tool: str) -> list[BiasRow]:
    """The studies judged with `tool` (rob2 or robins-i), each with every domain."""
    rows = []
    for study in studies:
        judged = study.risk_of_bias
        if judged is None or judged.tool != tool:
            continue
        by_domain = {d.domain: d.judgement for d in judged.domains}
        judgements = tuple(by_domain.get(name, NO_INFORMATION) for name in DOMAINS[tool])
        rows.append(BiasRow(study, tool, judgements, judged.overall))
    return rows
