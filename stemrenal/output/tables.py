"""The column catalogues: how studies, outcomes, summaries and terms become tables of strings.

Every tabular format (table, csv, tsv, markdown) reads from here; JSON formats use the
`*_records` functions. A cell of None means "not reported": each writer decides how to show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from stemrenal.cite import short_citation
from stemrenal.errors import UsageProblem

if TYPE_CHECKING:
    from stemrenal.models import Limitation, Outcome, Study
    from stemrenal.query import Summary
    from stemrenal.vocabulary import Term

#: A cell is text, several items (each writer joins them its own way), or None (not reported).
Cell = str | tuple[str, ...] | None


class Table(NamedTuple):
    """A format-neutral table: headers and rows of strings (None = not reported)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str | None = None


def as_text(value: object) -> Cell:
    """A value as a cell: None stays None (not reported), booleans read yes/no."""
    if value is None or isinstance(value, str):  # most cells: first, not after four tests
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return tuple(str(v) for v in value)
    return str(value)


def _joined(values: Sequence[str], sep: str = ", ") -> Cell:
    return sep.join(values) if values else None


def limitation(lim: Limitation) -> str:
    """A limitation tagged with who states it (the authors or the curator)."""
    return f"{lim.text} ({lim.source})"


def limitations(study: Study) -> tuple[str, ...]:
    """Every limitation of a study, each tagged with who states it."""
    return tuple(limitation(lim) for lim in study.limitations)


def evidence(study: Study) -> str:
    """Design, size and follow-up in a few words: what a result must never be shown without."""
    n = f"n={study.enrolled}" if study.enrolled is not None else "n not reported"
    follow = study.follow_up or "follow-up not reported"
    blinding = f", {study.design.blinding}" if study.design.blinding else ""
    return f"{study.design.kind}{blinding}; {n}; {follow}"


def cells(study: Study) -> Cell:
    """Cell source, type and tissue in one phrase."""
    i = study.intervention
    parts = [p for p in (i.cell_source, i.cell_type, i.tissue and f"({i.tissue})") if p]
    return " ".join(parts) if parts else None


def _arms(study: Study) -> Cell:
    return _joined([f"{a.name} ({a.n if a.n is not None else '?'})" for a in study.arms], "; ")


StudyGetter = Callable[["Study"], object]

STUDY_COLUMNS: dict[str, StudyGetter] = {
    "id": lambda s: s.id,
    "study": lambda s: f"{short_citation(s)}\n{s.id}",
    "citation": short_citation,
    "year": lambda s: s.year,
    "title": lambda s: s.title,
    "authors": lambda s: ", ".join(s.citation.authors),
    "journal": lambda s: s.citation.journal,
    "conditions": lambda s: ", ".join(s.conditions),
    "population": lambda s: s.population,
    "evidence": evidence,
    "design": lambda s: s.design.kind,
    "randomized": lambda s: s.design.randomized,
    "phase": lambda s: s.design.phase,
    "blinding": lambda s: s.design.blinding,
    "comparator": lambda s: s.design.comparator,
    "centres": lambda s: s.design.centres,
    "n": lambda s: s.enrolled,
    "arms": _arms,
    "cells": cells,
    "cell_type": lambda s: s.intervention.cell_type,
    "cell_source": lambda s: s.intervention.cell_source,
    "tissue": lambda s: s.intervention.tissue,
    "dose": lambda s: s.intervention.dose,
    "route": lambda s: s.intervention.route,
    "doses": lambda s: s.intervention.doses,
    "follow_up": lambda s: s.follow_up,
    "follow_up_months": lambda s: s.follow_up_months,
    "endpoints": lambda s: _joined(list(dict.fromkeys(o.endpoint for o in s.outcomes))),
    "safety": lambda s: s.safety,
    "limitations": limitations,
    "doi": lambda s: s.citation.doi,
    "pmid": lambda s: s.citation.pmid,
    "registrations": lambda s: _joined(s.registrations),
    "overlaps": lambda s: _joined(s.overlaps),
    "countries": lambda s: _joined(s.countries),
    "sources": lambda s: _joined(s.sources, " "),
}

OutcomeGetter = Callable[["Study", "Outcome"], object]


def finding(o: Outcome, *, in_cell: bool = True) -> str:
    """Endpoint, measure, timepoint, result, p-value and direction in one line.

    In a table cell the p-value and direction are bracketed; in `show`, separated by `;`.
    """
    if in_cell:
        p = f" (p {o.p_value})" if o.p_value else ""
        direction = f" [{o.direction}]" if o.direction else ""
    else:
        p = f"; p {o.p_value}" if o.p_value else ""
        direction = f"; direction: {o.direction}" if o.direction else ""
    return f"{o.endpoint}: {o.measure}, {o.timepoint}: {o.result}{p}{direction}"


OUTCOME_COLUMNS: dict[str, OutcomeGetter] = {
    "study": lambda s, o: s.id,
    "study_citation": lambda s, o: f"{short_citation(s)}\n{s.id}",
    "endpoint": lambda s, o: o.endpoint,
    "measure": lambda s, o: o.measure,
    "timepoint": lambda s, o: o.timepoint,
    "result": lambda s, o: o.result,
    "finding": lambda s, o: finding(o),
    "p_value": lambda s, o: o.p_value,
    "direction": lambda s, o: o.direction,
    "evidence": lambda s, o: evidence(s),
    "follow_up": lambda s, o: s.follow_up,
    "design": lambda s, o: s.design.kind,
    "n": lambda s, o: s.enrolled,
    "citation": lambda s, o: short_citation(s),
    "doi": lambda s, o: s.citation.doi,
    "pmid": lambda s, o: s.citation.pmid,
    "limitations": lambda s, o: limitations(s),
}

#: Defaults: plain formats carry citation and limitations columns; the terminal table is
#: narrower but still shows both.
STUDY_DEFAULTS = (
    "id", "citation", "year", "conditions", "design", "n", "follow_up", "cell_source",
    "cell_type", "tissue", "endpoints", "doi", "pmid", "limitations",
)  # fmt: skip
STUDY_TABLE_DEFAULTS = ("study", "evidence", "cells", "limitations")
OUTCOME_DEFAULTS = (
    "study", "endpoint", "measure", "timepoint", "result", "p_value", "direction",
    "follow_up", "design", "n", "citation", "doi", "pmid", "limitations",
)  # fmt: skip
OUTCOME_TABLE_DEFAULTS = ("study_citation", "finding", "evidence", "limitations")
SUMMARY_COLUMNS = ("dimension", "term", "studies", "participants")
VOCAB_COLUMNS = ("kind", "term", "label", "aliases")


def choose_columns(
    requested: Sequence[str] | None, catalogue: Sequence[str], default: Sequence[str]
) -> tuple[str, ...]:
    """The columns to show, in order; UsageProblem lists the valid names for a wrong one.

    `--columns help` lists them too.
    """
    if requested == ("help",):
        raise UsageProblem(f"valid columns: {', '.join(catalogue)}", option="--columns")
    if not requested:
        return tuple(default)
    unknown = [name for name in requested if name not in catalogue]
    if unknown:
        raise UsageProblem(
            f"unknown column {unknown[0]!r}; valid columns: {', '.join(catalogue)}",
            option="--columns",
        )
    return tuple(requested)


def study_table(studies: Sequence[Study], names: Sequence[str]) -> Table:
    """Studies as rows of the named columns."""
    getters = [STUDY_COLUMNS[name] for name in names]
    rows = tuple(tuple(as_text(get(s)) for get in getters) for s in studies)
    return Table(tuple(names), rows)


def outcome_table(pairs: Sequence[tuple[Study, Outcome]], names: Sequence[str]) -> Table:
    """Outcomes as rows of the named columns."""
    getters = [OUTCOME_COLUMNS[name] for name in names]
    rows = tuple(tuple(as_text(get(s, o)) for get in getters) for s, o in pairs)
    return Table(tuple(names), rows)


def project(table: Table, names: Sequence[str]) -> Table:
    """The table with only the named columns, in that order."""
    index = [table.headers.index(name) for name in names]
    rows = tuple(tuple(row[i] for i in index) for row in table.rows)
    return Table(tuple(names), rows, table.caption)


def summary_table(summary: Summary, note: str) -> Table:
    """Totals first, then one row per breakdown value."""
    rows: list[tuple[Cell, ...]] = [
        ("total", "studies", str(summary.studies), str(summary.participants)),
        (
            "total",
            "randomized",
            str(summary.randomized),
            str(summary.randomized_participants),
        ),
    ]
    rows += [(r.dimension, r.term, str(r.studies), str(r.participants)) for r in summary.rows]
    return Table(SUMMARY_COLUMNS, tuple(rows), caption=note)


def study_records(studies: Sequence[Study]) -> list[dict[str, Any]]:
    """Full study records, keyed as in the registry, plus follow_up_months."""
    return [study.model_dump(mode="json") for study in studies]


def outcome_records(pairs: Sequence[tuple[Study, Outcome]]) -> list[dict[str, Any]]:
    """One object per outcome with every outcome column (null = not reported)."""
    names = [n for n in OUTCOME_COLUMNS if n not in {"study_citation", "finding", "evidence"}]
    return [{name: OUTCOME_COLUMNS[name](s, o) for name in names} for s, o in pairs]


def summary_record(summary: Summary, note: str) -> dict[str, Any]:
    """Totals at the top level, beside the breakdowns."""
    record: dict[str, Any] = {
        "studies": summary.studies,
        "participants": summary.participants,
        "randomized": summary.randomized,
        "randomized_participants": summary.randomized_participants,
        "participants_reported_sum": summary.participants_reported_sum,
        "enrolment_not_reported": summary.enrolment_not_reported,
        "overlap_groups": summary.overlap_groups,
        "participants_counting": note,
    }
    for row in summary.rows:
        key = "by_" + row.dimension.replace("-", "_")
        record.setdefault(key, []).append(
            {"term": row.term, "studies": row.studies, "participants": row.participants}
        )
    return record


def vocab_table(terms: Sequence[Term]) -> Table:
    """One row per term: kind, canonical id, label (cell-free products marked), aliases."""
    rows = tuple(
        (t.kind, t.id, t.label + (" [cell-free]" if t.cell_free else ""), ", ".join(t.aliases))
        for t in terms
    )
    return Table(VOCAB_COLUMNS, rows)


def vocab_records(terms: Sequence[Term]) -> list[dict[str, Any]]:
    """One object per term, aliases as a list."""
    return [
        {
            "kind": t.kind,
            "term": t.id,
            "label": t.label,
            "aliases": list(t.aliases),
            "cell_free": t.cell_free,
        }
        for t in terms
    ]
