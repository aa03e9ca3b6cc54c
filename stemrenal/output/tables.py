"""The column catalogues: how studies, outcomes, summaries and terms become tables of strings.

Every tabular format (table, csv, tsv, markdown) reads from here; JSON formats use the
`*_records` functions. A cell of None means "not reported": each writer decides how to show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from stemrenal import appraisal
from stemrenal.cite import short_citation
from stemrenal.errors import UsageProblem
from stemrenal.output import Format, Result

if TYPE_CHECKING:
    from stemrenal.models import Limitation, Outcome, SafetyEvent, Study, Trial
    from stemrenal.query import Summary
    from stemrenal.vocabulary import Term

#: A cell is text, several items (each writer joins them its own way), or None (not reported).
Cell = str | tuple[str, ...] | None


class Table(NamedTuple):
    """A format-neutral table: headers and rows of strings (None = not reported)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str | None = None
    fit: bool = False  # a grid: columns as wide as their text, never stretched or folded
    #: Instead of `rows`, rows made as they are read, once (CSV and TSV of large selections).
    stream: Iterable[tuple[Cell, ...]] | None = None


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
    """Design, size, follow-up, comparator and risk of bias in a few words: what a result must
    never be shown without."""
    n = f"n={study.enrolled}" if study.enrolled is not None else "n not reported"
    follow = study.follow_up or "follow-up not reported"
    blinding = f", {study.design.blinding}" if study.design.blinding else ""
    return f"{study.design.kind}{blinding}; {n}; {follow}; {control(study)}"


def control(study: Study) -> str:
    """ "vs placebo; RoB 2: some concerns", or "no control group"."""
    classes = [c for c in study.design.comparator_classes if c != "none"]
    if not classes:
        return "no control group"
    versus = "vs " + " and ".join(c.replace("-", " ") for c in classes)
    return f"{versus}; {risk_of_bias(study)}"


def risk_of_bias(study: Study) -> str:
    """ "RoB 2: some concerns", "risk of bias not assessed", or "no control group"."""
    judged = study.risk_of_bias
    if judged is not None:
        return f"{appraisal.TOOL_LABELS[judged.tool]}: {appraisal.label(judged.overall)}"
    if study.design.kind in appraisal.TOOL_FOR_DESIGN:
        return "risk of bias not assessed"
    return "no control group"


def severity(study: Study) -> Cell:
    """The population's severity as enrolled, in one phrase; None when nothing is recorded."""
    sev = study.severity
    parts: list[str] = []
    stages = study.facets.ckd_stages
    if stages:
        parts.append("CKD stage " + ", ".join(str(n) for n in stages))
    if sev.egfr_min is not None or sev.egfr_max is not None:
        low = "" if sev.egfr_min is None else f"{sev.egfr_min:g}"
        high = "" if sev.egfr_max is None else f"{sev.egfr_max:g}"
        parts.append(
            f"eGFR {low}-{high}" if low and high else f"eGFR {'>= ' + low if low else '< ' + high}"
        )
    if sev.dialysis is not None:
        parts.append("on dialysis" if sev.dialysis else "not on dialysis")
    if sev.refractory is not None:
        parts.append("refractory" if sev.refractory else "not refractory")
    if sev.transplant_settings:
        parts.append("transplant: " + ", ".join(sev.transplant_settings))
    return "; ".join(parts) or None


def cells(study: Study) -> Cell:
    """Cell source, type and tissue in one phrase."""
    i = study.intervention
    parts = [p for p in (i.cell_source, i.cell_type, i.tissue and f"({i.tissue})") if p]
    return " ".join(parts) if parts else None


def _arms(study: Study) -> Cell:
    return _joined([f"{a.name} ({a.n if a.n is not None else '?'})" for a in study.arms], "; ")


def primary_finding(study: Study) -> str:
    """What the primary outcome showed, so a null trial reads as null in `list`:
    "renal-response: no-difference (between groups)", or "no primary outcome reported"."""
    found = [
        f"{o.endpoint}: {o.direction or 'direction not reported'} "
        f"({o.comparison.replace('-', ' ')})"
        for o in study.outcomes
        if o.primary
    ]
    return "; ".join(dict.fromkeys(found)) or "no primary outcome reported"


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
    "primary_finding": primary_finding,
    "design": lambda s: s.design.kind,
    "randomized": lambda s: s.design.randomized,
    "phase": lambda s: s.design.phase,
    "blinding": lambda s: s.design.blinding,
    "comparator": lambda s: s.design.comparator,
    "comparators": lambda s: ", ".join(s.design.comparator_classes),
    "risk_of_bias": lambda s: s.risk_of_bias.overall if s.risk_of_bias else None,
    "risk_of_bias_tool": lambda s: s.risk_of_bias.tool if s.risk_of_bias else None,
    "severity": severity,
    "ckd_stages": lambda s: _joined([str(n) for n in s.facets.ckd_stages]),
    "egfr_min": lambda s: s.severity.egfr_min,
    "egfr_max": lambda s: s.severity.egfr_max,
    "dialysis": lambda s: s.severity.dialysis,
    "refractory": lambda s: s.severity.refractory,
    "transplant_settings": lambda s: _joined(s.severity.transplant_settings),
    "primary_outcomes": lambda s: _joined(
        list(dict.fromkeys(o.endpoint for o in s.outcomes if o.primary))
    ),
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
    primary = "PRIMARY " if o.primary else ""
    compared = o.comparison.replace("-", " ")
    if in_cell:
        p = f" (p {o.p_value})" if o.p_value else ""
        direction = f" [{o.direction}, {compared}]" if o.direction else f" [{compared}]"
    else:
        p = f"; p {o.p_value}" if o.p_value else ""
        direction = f"; direction: {o.direction}" if o.direction else ""
        direction += f"; {compared}"
    return f"{primary}{o.endpoint}: {o.measure}, {o.timepoint}: {o.result}{p}{direction}"


def estimate(o: Outcome) -> Cell:
    """ "HR 0.36 (95% CI 0.14 to 0.91)"; None when the source gives no estimate."""
    e = o.estimate
    if e is None:
        return None
    text = (
        f"{e.measure.upper() if len(e.measure) <= 2 else e.measure.replace('-', ' ')} {e.value:g}"
    )
    if e.ci_low is not None and e.ci_high is not None:
        text += f" ({e.ci_level:g}% CI {e.ci_low:g} to {e.ci_high:g})"
    return text


def arm_values(o: Outcome) -> Cell:
    """Each arm's value: "hUC-MSC 9/12", "placebo mean 3.1 (SD 2.7)"."""
    values = []
    for v in o.arm_values:
        if v.events is not None:
            of = f"/{v.total}" if v.total is not None else " events"
            values.append(f"{v.arm} {v.events}{of}")
        else:
            sd = f" (SD {v.sd:g})" if v.sd is not None else ""
            values.append(f"{v.arm} mean {v.mean:g}{sd}")
    return tuple(values) or None


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
    "comparison": lambda s, o: o.comparison,
    "primary": lambda s, o: o.primary,
    "estimate": lambda s, o: estimate(o),
    "arm_values": lambda s, o: arm_values(o),
    "comparators": lambda s, o: ", ".join(s.design.comparator_classes),
    "risk_of_bias": lambda s, o: s.risk_of_bias.overall if s.risk_of_bias else None,
    "evidence": lambda s, o: evidence(s),
    "follow_up": lambda s, o: s.follow_up,
    "design": lambda s, o: s.design.kind,
    "n": lambda s, o: s.enrolled,
    "citation": lambda s, o: short_citation(s),
    "doi": lambda s, o: s.citation.doi,
    "pmid": lambda s, o: s.citation.pmid,
    "limitations": lambda s, o: limitations(s),
}

SafetyRow = tuple["Study", "SafetyEvent | None"]


def _event_count(e: SafetyEvent | None) -> str | None:
    if e is None or e.count is None:
        return None
    return f"{e.count}/{e.denominator}" if e.denominator is not None else str(e.count)


def _event_text(s: Study, e: SafetyEvent | None) -> str:
    """The event in one cell: kind, count, arm, description, seriousness and relatedness; a
    study whose events are not itemised shows its safety text (or says there is none)."""
    if e is None:
        return f"not itemised: {s.safety or 'no adverse-event data reported'}"
    count = _event_count(e)
    arm = f" ({e.arm})" if e.arm else ""
    serious = ", serious" if e.serious else ""
    related = f", {e.relatedness} (authors)" if e.relatedness else ""
    return f"{e.event}{' ' + count if count else ''}{arm}: {e.description}{serious}{related}"


SafetyGetter = Callable[["Study", "SafetyEvent | None"], object]

SAFETY_COLUMNS: dict[str, SafetyGetter] = {
    "study": lambda s, e: s.id,
    "study_citation": lambda s, e: f"{short_citation(s)}\n{s.id}",
    "event": lambda s, e: e.event if e else "not-itemised",
    "summary": _event_text,
    "description": lambda s, e: e.description if e else s.safety,
    "arm": lambda s, e: e.arm if e else None,
    "count": lambda s, e: e.count if e else None,
    "denominator": lambda s, e: e.denominator if e else None,
    "serious": lambda s, e: e.serious if e else None,
    "relatedness": lambda s, e: e.relatedness if e else None,
    "evidence": lambda s, e: evidence(s),
    "design": lambda s, e: s.design.kind,
    "n": lambda s, e: s.enrolled,
    "follow_up": lambda s, e: s.follow_up,
    "citation": lambda s, e: short_citation(s),
    "doi": lambda s, e: s.citation.doi,
    "pmid": lambda s, e: s.citation.pmid,
    "limitations": lambda s, e: limitations(s),
}
SAFETY_DEFAULTS = (
    "study", "event", "description", "arm", "count", "denominator", "serious", "relatedness",
    "design", "n", "follow_up", "citation", "doi", "pmid", "limitations",
)  # fmt: skip
SAFETY_TABLE_DEFAULTS = ("study_citation", "summary", "evidence", "limitations")


def safety_records(rows: Sequence[SafetyRow]) -> list[dict[str, Any]]:
    """One object per event (its registry keys; null for a study whose events are not
    itemised, with its safety text), and under `study` the study as in `outcomes`."""
    return [
        {
            "event": e.model_dump(mode="json") if e else None,
            "safety": s.safety,
            "study": study_context(s),
        }
        for s, e in rows
    ]


#: Defaults: plain formats carry citation and limitations columns; the terminal table is
#: narrower but still shows both.
STUDY_DEFAULTS = (
    "id", "citation", "year", "conditions", "design", "comparators", "risk_of_bias", "n",
    "follow_up", "cell_source", "cell_type", "tissue", "endpoints", "primary_finding", "doi",
    "pmid",
    "limitations",
)  # fmt: skip
STUDY_TABLE_DEFAULTS = ("study", "evidence", "primary_finding", "cells", "limitations")
OUTCOME_DEFAULTS = (
    "study", "endpoint", "measure", "timepoint", "result", "p_value", "direction",
    "comparison", "primary", "follow_up", "design", "n", "citation", "doi", "pmid",
    "limitations",
)  # fmt: skip
OUTCOME_TABLE_DEFAULTS = ("study_citation", "finding", "evidence", "limitations")
SUMMARY_COLUMNS = ("dimension", "term", "studies", "participants")
VOCAB_COLUMNS = ("kind", "term", "label", "aliases")


def columns_of(command: str) -> list[str]:
    """The --columns names a command accepts (for completion)."""
    if command in ("evidence", "map", "check"):
        from stemrenal.output import claims, synthesis

        named: dict[str, Mapping[str, object]] = {
            "evidence": synthesis.EVIDENCE_COLUMNS,
            "map": synthesis.MAP_COLUMNS,
            "check": claims.CHECK_COLUMNS,
        }
        return [str(name) for name in named[command]]
    catalogues: dict[str, Mapping[str, object]] = {
        "list": STUDY_COLUMNS,
        "outcomes": OUTCOME_COLUMNS,
        "safety": SAFETY_COLUMNS,
        "trials": TRIAL_COLUMNS,
        "summary": dict.fromkeys(SUMMARY_COLUMNS),
        "vocab": dict.fromkeys(VOCAB_COLUMNS),
    }
    return list(catalogues.get(command, {}))


def terminal_width() -> int:
    """The width a terminal table is drawn at: --width, else $COLUMNS, else the terminal's."""
    import shutil

    return _WIDTH[0] or shutil.get_terminal_size().columns


#: --width, set once by the command line (`set_width`) before any table is built.
_WIDTH: list[int | None] = [None]


def set_width(width: int | None) -> None:
    _WIDTH[0] = width


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
    if requested == ("all",):
        return tuple(catalogue)
    unknown = [name for name in requested if name not in catalogue]
    if unknown:
        raise UsageProblem(
            f"unknown column {unknown[0]!r}; valid columns: {', '.join(catalogue)}",
            option="--columns",
        )
    return tuple(requested)


def project(table: Table, names: Sequence[str]) -> Table:
    """The table with only the named columns, in that order."""
    index = [table.headers.index(name) for name in names]
    rows = tuple(tuple(row[i] for i in index) for row in table.rows)
    return Table(tuple(names), rows, table.caption, table.fit)


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
        ("total", "given-cells", str(summary.given_cells_studies), str(summary.given_cells)),
        ("total", "enrolment-not-reported", str(summary.enrolment_not_reported), ""),
        ("total", "overlap-groups", str(summary.overlap_groups), ""),
    ]
    rows += [(r.dimension, r.term, str(r.studies), str(r.participants)) for r in summary.rows]
    return Table(SUMMARY_COLUMNS, tuple(rows), caption=note)


def study_records(studies: Sequence[Study]) -> list[dict[str, Any]]:
    """Full study records, keyed as in the registry, plus follow_up_months."""
    return [study.model_dump(mode="json") for study in studies]


def study_context(study: Study) -> dict[str, Any]:
    """What a row about part of a study carries of the study, keyed and shaped as in `list`'s
    records: one JSON shape across commands."""
    return {
        "id": study.id,
        "citation": study.citation.model_dump(mode="json"),
        "year": study.year,
        "conditions": list(study.conditions),
        "design": study.design.model_dump(mode="json"),
        "enrolled": study.enrolled,
        "follow_up": study.follow_up,
        "follow_up_months": study.follow_up_months,
        "risk_of_bias": study.risk_of_bias.model_dump(mode="json") if study.risk_of_bias else None,
        "limitations": [lim.model_dump(mode="json") for lim in study.limitations],
    }


def outcome_records(pairs: Sequence[tuple[Study, Outcome]]) -> list[dict[str, Any]]:
    """One object per outcome: the outcome's own keys (as in the registry), and under `study`
    the study's id, citation, design, size, follow-up, risk of bias and limitations."""
    return [{**o.model_dump(mode="json"), "study": study_context(s)} for s, o in pairs]


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
        "given_cells": summary.given_cells,
        "given_cells_studies": summary.given_cells_studies,
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


TrialGetter = Callable[["Trial"], object]


def _trial_cells(t: Trial) -> Cell:
    i = t.intervention
    parts = [p for p in (i.cell_source, i.cell_type, i.tissue and f"({i.tissue})") if p]
    return " ".join(parts) if parts else None


def _trial_size(t: Trial) -> str:
    planned = f"{t.planned_enrolment} planned" if t.planned_enrolment else "planned size not seen"
    actual = f", {t.actual_enrolment} enrolled" if t.actual_enrolment is not None else ""
    return planned + actual


def _trial_publication(t: Trial) -> str:
    if t.publication == "published":
        return "published as " + ", ".join(t.published_as)
    posted = "; results posted on the registry" if t.results_posted else ""
    return f"no results publication found as of {t.last_checked}{posted}"


TRIAL_COLUMNS: dict[str, TrialGetter] = {
    "id": lambda t: t.id,
    "trial": lambda t: f"{t.id}\n{t.title}",
    "title": lambda t: t.title,
    "sponsor": lambda t: t.sponsor,
    "conditions": lambda t: ", ".join(t.conditions),
    "population": lambda t: t.population,
    "design": lambda t: t.design,
    "comparators": lambda t: ", ".join(t.comparator_classes),
    "cells": _trial_cells,
    "cell_type": lambda t: t.intervention.cell_type,
    "cell_source": lambda t: t.intervention.cell_source,
    "tissue": lambda t: t.intervention.tissue,
    "planned_enrolment": lambda t: t.planned_enrolment,
    "actual_enrolment": lambda t: t.actual_enrolment,
    "size": _trial_size,
    "status": lambda t: t.status,
    "start": lambda t: t.start,
    "completion": lambda t: t.completion,
    "dates": lambda t: f"{t.start or '?'} to {t.completion or '?'}",
    "results_posted": lambda t: t.results_posted,
    "publication": lambda t: t.publication,
    "published_as": lambda t: _joined(t.published_as),
    "finding": _trial_publication,
    "last_checked": lambda t: t.last_checked,
    "sources": lambda t: _joined(t.sources, " "),
    "notes": lambda t: tuple(t.notes) or None,
}
TRIAL_DEFAULTS = (
    "id", "title", "conditions", "design", "cell_type", "cell_source", "status", "start",
    "completion", "planned_enrolment", "actual_enrolment", "results_posted", "publication",
    "last_checked", "sources",
)  # fmt: skip
TRIAL_TABLE_DEFAULTS = ("trial", "design", "cells", "size", "status", "dates", "finding")


def trial_records(trials: Sequence[Trial]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json") for t in trials]


class Catalogue(NamedTuple):
    """What a row command can print: its columns, the defaults for a person and for a pipe,
    and how its rows become records. A row is one record, or (with `pairs`) a tuple whose
    parts each getter takes, such as (study, outcome)."""

    columns: Mapping[str, Callable[..., object]]
    terminal: tuple[str, ...]
    plain: tuple[str, ...]
    records: Callable[[Any], Any]
    pairs: bool = False
    compact: tuple[str, ...] = ()  # the terminal defaults below 100 columns, when given

    def table(self, rows: Sequence[Any], names: Sequence[str]) -> Table:
        """The rows as a table of the named columns."""
        getters = [self.columns[name] for name in names]
        parts = rows if self.pairs else [(row,) for row in rows]
        return Table(tuple(names), tuple(tuple(as_text(g(*p)) for g in getters) for p in parts))

    def check(self, requested: Sequence[str] | None) -> None:
        """A wrong --columns fails before anything is read or written."""
        choose_columns(requested, list(self.columns), ())

    def result(
        self,
        rows: Sequence[Any],
        requested: Sequence[str] | None,
        batches: Callable[[Sequence[Any]], Iterable[Sequence[Any]]] | None = None,
    ) -> Result:
        """The rows as a lazy result: a table for table formats, records for JSON.

        With `batches` (the registry's `batches`: studies read a batch at a time and let go
        after), CSV and TSV stream their rows, so an export of every study never holds them.
        """

        def table(fmt: Format) -> Table:
            default = self.terminal if fmt is Format.TABLE else self.plain
            if fmt is Format.TABLE and self.compact and terminal_width() < 100:
                default = self.compact
            names = choose_columns(requested, list(self.columns), default)
            if batches is not None and fmt in (Format.CSV, Format.TSV):
                streamed = (row for part in batches(rows) for row in self.table(part, names).rows)
                return Table(tuple(names), (), stream=streamed)
            return self.table(rows, names)

        return Result(records=lambda: self.records(rows), table=table)


STUDIES = Catalogue(
    STUDY_COLUMNS,
    STUDY_TABLE_DEFAULTS,
    STUDY_DEFAULTS,
    study_records,
    compact=("study", "evidence", "primary_finding", "limitations"),
)
OUTCOMES = Catalogue(
    OUTCOME_COLUMNS, OUTCOME_TABLE_DEFAULTS, OUTCOME_DEFAULTS, outcome_records, pairs=True
)


def outcomes_by_study(pairs: Sequence[tuple[Study, Outcome]]) -> Table:
    """The terminal's outcomes: each study once (citation, id, evidence), its outcomes beside
    it with the result in the widest column, then its limitations once, not on every row."""
    rows: list[tuple[Cell, ...]] = []
    for index, (study, outcome) in enumerate(pairs):
        first = index == 0 or pairs[index - 1][0].id != study.id
        last = index + 1 == len(pairs) or pairs[index + 1][0].id != study.id
        head = f"{short_citation(study)}\n{study.id}\n{evidence(study)}" if first else ""
        rows.append((head, finding(outcome)))
        if last:
            rows.append(("limitations", limitations(study) or ("none recorded",)))
    return Table(("study", "outcome"), tuple(rows))


def outcomes_result(
    pairs: Sequence[tuple[Study, Outcome]], requested: Sequence[str] | None
) -> Result:
    """`outcomes`: grouped by study on a terminal, one row per outcome everywhere else."""
    plain = OUTCOMES.result(pairs, requested)
    assert plain.table is not None

    def table(fmt: Format) -> Table:
        if fmt is Format.TABLE and not requested:
            return outcomes_by_study(pairs)
        return plain.table(fmt)  # type: ignore[misc]

    return Result(records=plain.records, table=table)


SAFETY = Catalogue(
    SAFETY_COLUMNS, SAFETY_TABLE_DEFAULTS, SAFETY_DEFAULTS, safety_records, pairs=True
)
TRIALS = Catalogue(TRIAL_COLUMNS, TRIAL_TABLE_DEFAULTS, TRIAL_DEFAULTS, trial_records)
