"""Select, order and summarise studies: pure functions over studies, no I/O, no cache.

Filters combine with AND across options; the values of one option combine with OR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from stemrenal.appraisal import DESIGN_STRENGTH, RANK, TOOL_FOR_DESIGN
from stemrenal.errors import UsageProblem
from stemrenal.facets import TERM_FILTERS, Facets, facet_terms

if TYPE_CHECKING:
    from stemrenal.models import Outcome, SafetyEvent, Study, Trial


#: Studies, or registered trials: both answer the filters through their facets.
R = TypeVar("R", "Study", "Trial")


class Filters(NamedTuple):
    """What the user asked for; empty tuples and None mean "any"."""

    diseases: tuple[str, ...] = ()
    cell_sources: tuple[str, ...] = ()
    cell_types: tuple[str, ...] = ()
    tissues: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    designs: tuple[str, ...] = ()
    min_followup: float | None = None
    max_followup: float | None = None
    min_n: int | None = None
    since: int | None = None
    until: int | None = None
    search: tuple[str, ...] = ()
    exclude_cell_free: bool = False
    comparators: tuple[str, ...] = ()
    transplant_settings: tuple[str, ...] = ()
    cell_classes: tuple[str, ...] = ()
    ckd_stages: tuple[int, ...] = ()
    dialysis: bool = False
    refractory: bool = False
    primary: bool = False
    comparisons: tuple[str, ...] = ()
    risk_of_bias: str | None = None


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def search_text(study: Study | Trial) -> str:
    """What --search looks in: every text field of the record (title, authors, journal,
    identifiers, registrations, population, design and comparator, intervention, outcomes,
    safety, limitations and notes), case-blind."""
    record: Any = study  # a study (or its cached stand-in) or a trial: read what it has
    parts: list[str] = [study.id, study.title, study.population or ""]
    parts += [str(v) for v in study.intervention.model_dump().values() if v is not None]
    if hasattr(record, "citation"):
        c = record.citation
        parts += [*c.authors, c.journal, c.doi or "", c.pmid or ""]
        parts += [*record.registrations, *record.institutions, *record.countries]
        d = record.design
        parts += [d.kind, d.comparator or "", d.blinding or "", *d.comparator_classes]
        parts += [record.safety or "", *(lim.text for lim in record.limitations)]
        parts += [f"{o.measure} {o.result}" for o in record.outcomes]
        parts += [e.description for e in record.safety_events]
    else:
        parts += [record.sponsor or "", *record.notes]
    return "\n".join(parts).casefold()


@lru_cache(maxsize=16)
def wanted_terms(filters: Filters) -> dict[str, tuple[str, ...]]:
    """The term filters in use, by facet name: what an index can narrow a registry by."""
    chosen = {t.facet: getattr(filters, t.field) for t in TERM_FILTERS}
    return {facet: terms for facet, terms in chosen.items() if terms}


def matches(study: Study | Trial, filters: Filters) -> bool:
    """True when the study passes every filter.

    Everything but --search reads only the study's facets; --search reads its text last. A
    term filter (`facets.TERM_FILTERS`) passes when the facet holds any of its terms.
    """
    f = filters
    v = study.facets
    for facet, wanted in wanted_terms(f).items():
        if not any(term in wanted for term in facet_terms(getattr(v, facet))):
            return False
    return (
        _within(v.follow_up_months, f.min_followup, f.max_followup)
        and _within(v.enrolled, f.min_n, None)
        and _within(v.year, f.since, f.until)
        and (not f.exclude_cell_free or not v.cell_free)
        and (not f.ckd_stages or any(stage in v.ckd_stages for stage in f.ckd_stages))
        and (not f.dialysis or v.dialysis is True)
        and (not f.refractory or v.refractory is True)
        and _at_most(v.risk_of_bias, f.risk_of_bias)
        and (not _outcome_filters(f) or any(outcome_passes(key, f) for key in v.outcomes))
        and (not f.search or any(s.casefold() in search_text(study) for s in f.search))
    )


def _at_most(judged: str | None, level: str | None) -> bool:
    """--risk-of-bias LEVEL: judged, and no more severe than LEVEL (`appraisal.RANK`)."""
    if level is None:
        return True
    if level not in RANK:
        raise UsageProblem(f"unknown risk-of-bias level {level!r}; use one of {', '.join(RANK)}")
    return judged is not None and RANK[judged] <= RANK[level]


def _outcome_filters(f: Filters) -> bool:
    """--primary or --comparison: the study needs one outcome that passes them all (with
    --endpoint), and `outcome_rows` shows only such outcomes."""
    return f.primary or bool(f.comparisons)


def outcome_passes(key: tuple[str, bool, str], f: Filters) -> bool:
    """One outcome's (endpoint, primary, comparison) against --endpoint, --primary, --comparison."""
    endpoint, primary, comparison = key
    return (
        (not f.endpoints or endpoint in f.endpoints)
        and (not f.primary or primary)
        and (not f.comparisons or comparison in f.comparisons)
    )


def select(studies: Iterable[R], filters: Filters) -> tuple[R, ...]:
    """The studies (or registered trials) that pass the filters, in the order given."""
    return tuple(study for study in studies if matches(study, filters))


def _first_author(study: Any) -> str | None:
    citation = getattr(study, "citation", None)  # a registered trial has no authors
    return None if citation is None else str(citation.authors[0]).casefold()


#: Sort keys for --sort; each maps a study to a comparable value (None sorts last). Facets
#: where they hold the value, so a cached study is not read in full just to be sorted.
SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "id": lambda s: s.id,
    "year": lambda s: s.facets.year,
    "n": lambda s: s.facets.enrolled,
    "follow-up": lambda s: s.facets.follow_up_months,
    "design": lambda s: design_rank(s.facets.design),
    "title": lambda s: s.title.casefold(),
    "author": _first_author,
}


def design_rank(design: str | None) -> int | None:
    """Stronger evidence first: RCT 0, non-randomized controlled 1, single-arm 2, case series 3
    (`appraisal.DESIGN_STRENGTH`); None for a design not known."""
    return DESIGN_STRENGTH.index(design) if design in DESIGN_STRENGTH else None


_SORT_ALIASES = {"enrolled": "n", "follow_up": "follow-up", "follow_up_months": "follow-up"}


def parse_sort(key: str) -> tuple[str, bool]:
    """(canonical key, descending) from what the user typed, e.g. "-year"."""
    descending = key.startswith("-")
    name = key.lstrip("-+").strip().casefold()
    name = _SORT_ALIASES.get(name, name)
    if name not in SORT_KEYS:
        valid = ", ".join(SORT_KEYS)
        raise UsageProblem(f"unknown sort key {key!r}; valid keys: {valid} (prefix - to reverse)")
    return name, descending


def order(studies: Sequence[R], sort: str | None) -> tuple[R, ...]:
    """Studies sorted by a --sort key; missing values always last, ties keep registry order."""
    if sort is None:
        return tuple(studies)
    parsed: tuple[str, bool] = parse_sort(sort)
    key: Callable[[Any], Any] = SORT_KEYS[parsed[0]]
    present: list[R] = [s for s in studies if key(s) is not None]
    missing: list[R] = [s for s in studies if key(s) is None]
    return tuple(sorted(present, key=key, reverse=parsed[1]) + missing)


def outcome_rows(
    studies: Iterable[Study], filters: Filters | None = None
) -> list[tuple[Study, Outcome]]:
    """One (study, outcome) pair per reported outcome, narrowed by --endpoint, --primary and
    --comparison when given."""
    filters = filters or Filters()
    return [
        (study, outcome)
        for study in studies
        for outcome in study.outcomes
        if outcome_passes((outcome.endpoint, outcome.primary, outcome.comparison), filters)
    ]


def safety_rows(
    studies: Iterable[Study], events: tuple[str, ...] = ()
) -> list[tuple[Study, SafetyEvent | None]]:
    """One (study, event) pair per structured safety event, narrowed to `events` when given; a
    study without structured events gives one (study, None) pair, so its safety text (or the
    lack of one) is never silently dropped."""
    rows: list[tuple[Study, SafetyEvent | None]] = []
    for study in studies:
        chosen = [e for e in study.safety_events if not events or e.event in events]
        if chosen:
            rows += [(study, e) for e in chosen]
        elif not study.safety_events and not events:
            rows.append((study, None))
    return rows


def overlap_groups(studies: Sequence[Study]) -> list[list[Study]]:
    """Studies joined by `overlaps` (in either direction), each group in registry order."""
    by_id = {study.id: study for study in studies}
    parent = {study.id: study.id for study in studies}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for study in studies:
        for other in study.overlaps:
            if other in by_id:
                parent[root(other)] = root(study.id)
    groups: dict[str, list[Study]] = {}
    for study in studies:
        groups.setdefault(root(study.id), []).append(by_id[study.id])
    return list(groups.values())


def participants(
    studies: Sequence[Study], facet: str = "enrolled", shared: SharedGroups | None = None
) -> int:
    """Participants without double counting: overlapping studies count as their largest one.

    Studies that share participants (`overlaps`) form a group; the group contributes the
    largest `enrolled` among its members, on the assumption that the smaller reports are
    subsets of it. Studies that do not report `enrolled` add nothing. With `facet =
    "given_cells"`, the same count of the participants in arms given cells.

    `shared` (from `shared_groups` of a larger selection) says which studies are in a group
    there: only those are grouped again here, and a group all of whose members are present
    is not grouped at all, so counting many subsets of one selection (a summary's every
    term) costs time in proportion to their sizes.
    """
    if shared is None:
        shared = shared_groups(studies)
    sizes = [getattr(study.facets, facet) for study in studies]
    numbers = [shared.get(study.id) for study in studies]
    return _counted(studies, sizes, numbers, range(len(studies)), shared)


def _counted(
    studies: Sequence[Study],
    sizes: Sequence[int | None],
    numbers: Sequence[int | None],
    members: Iterable[int],
    shared: SharedGroups,
) -> int:
    """`participants` of the studies at positions `members`, given each study's size and
    group number (so a summary reads them once for all its terms)."""
    total = 0
    together: dict[int, list[int]] = {}
    for i in members:
        number = numbers[i]
        if number is None:
            total += sizes[i] or 0
        else:
            together.setdefault(number, []).append(i)
    for number, held in together.items():
        if len(held) == 1 or len(held) == shared.sizes.get(number):  # all of one group
            groups = [held]
        else:
            at = {studies[i].id: i for i in held}
            groups = [[at[s.id] for s in g] for g in overlap_groups([studies[i] for i in held])]
        for group in groups:
            total += max((n for n in (sizes[i] for i in group) if n is not None), default=0)
    return total


class SharedGroups(dict[str, int]):
    """Each study in a group of overlapping studies (two or more), by the group's number;
    `sizes` gives each group's size, so a subset holding all of a group (most terms of a
    summary) needs no regrouping: its members are still joined."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[int, int] = {}


def shared_groups(studies: Sequence[Study]) -> SharedGroups:
    """The groups of overlapping studies (two or more) among `studies`."""
    found = SharedGroups()
    for number, group in enumerate(overlap_groups(studies)):
        if len(group) > 1:
            found.sizes[number] = len(group)
            found.update(dict.fromkeys((study.id for study in group), number))
    return found


COUNTING_NOTE = (
    "participants are counted once per group of overlapping studies (the largest enrolled "
    "in the group); studies without a reported enrolment add none; a study with several "
    "conditions is counted under each"
)


class Breakdown(NamedTuple):
    """One row of a summary: how many studies and participants share a value."""

    dimension: str
    term: str
    studies: int
    participants: int


_DIMENSIONS: dict[str, Callable[[Facets], Iterable[str | None]]] = {
    "disease": lambda v: v.conditions,
    "cell-source": lambda v: [v.cell_source],
    "cell-type": lambda v: [v.cell_type],
    "cell-class": lambda v: [v.cell_class],
    "tissue": lambda v: [v.tissue],
    "design": lambda v: [v.design],
    "comparator": lambda v: v.comparators,
    "risk-of-bias": lambda v: [_judged(v)],
}


def _judged(v: Facets) -> str:
    """The overall risk of bias, or why there is none."""
    if v.risk_of_bias is not None:
        return v.risk_of_bias
    return "not-assessed" if v.design in TOOL_FOR_DESIGN else "no-control-group"


class Summary(NamedTuple):
    """Totals and breakdowns of a selection; totals reconcile with `list`."""

    studies: int
    participants: int
    participants_reported_sum: int
    randomized: int
    randomized_participants: int
    enrolment_not_reported: int
    overlap_groups: int
    rows: tuple[Breakdown, ...]
    given_cells: int = 0  # participants in arms given cells (overlaps counted once)
    given_cells_studies: int = 0  # the studies whose cell arms all report their n


def summarise(studies: Sequence[Study]) -> Summary:
    """Counts by disease, cell source, cell type, tissue and design, plus totals.

    The overlap groups are found once for the whole selection (`shared_groups`), not again
    for every term: linear in the number of studies.
    """
    shared = shared_groups(studies)
    facets = [study.facets for study in studies]
    enrolled = [f.enrolled for f in facets]
    given = [f.given_cells for f in facets]
    numbers = [shared.get(study.id) for study in studies]
    rows: list[Breakdown] = []
    for dimension, values in _DIMENSIONS.items():
        buckets: dict[str, list[int]] = {}
        for i, f in enumerate(facets):
            for value in dict.fromkeys(values(f)):
                buckets.setdefault(value or "not-reported", []).append(i)
        rows.extend(
            Breakdown(
                dimension, term, len(held), _counted(studies, enrolled, numbers, held, shared)
            )
            for term, held in sorted(buckets.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        )
    randomized = [i for i, f in enumerate(facets) if f.randomized]
    everyone = range(len(studies))
    return Summary(
        studies=len(studies),
        participants=_counted(studies, enrolled, numbers, everyone, shared),
        participants_reported_sum=sum(n or 0 for n in enrolled),
        randomized=len(randomized),
        randomized_participants=_counted(studies, enrolled, numbers, randomized, shared),
        enrolment_not_reported=enrolled.count(None),
        overlap_groups=len(set(shared.values())),
        rows=tuple(rows),
        given_cells=_counted(studies, given, numbers, everyone, shared),
        given_cells_studies=sum(1 for n in given if n is not None),
    )
