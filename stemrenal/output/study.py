"""One study in full, for `show`: a document of sections that the writers render as plain
text, Markdown or Rich."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from stemrenal import appraisal
from stemrenal.cite import doi_url, pmid_url, reference
from stemrenal.output import NOT_REPORTED
from stemrenal.output.tables import (
    arm_values,
    as_text,
    estimate,
    evidence,
    finding,
    limitation,
    severity,
)

if TYPE_CHECKING:
    from stemrenal.models import Arm, Outcome, SafetyEvent, Study


class Section(NamedTuple):
    heading: str
    lines: list[str]
    links: tuple[tuple[str, str], ...] = ()
    bulleted: bool = False  # a list even with one line (Markdown)


class Document(NamedTuple):
    """A titled, named sequence of sections: what `show` prints in every readable format."""

    title: str
    name: str
    sections: list[Section]


def _value(value: object) -> str:
    text = as_text(value)
    if text is None:
        return NOT_REPORTED
    return text if isinstance(text, str) else ", ".join(text)


def study_document(study: Study) -> Document:
    """The study as `show` prints it."""
    return Document(study.title, study.id, sections(study))


def sections(study: Study) -> list[Section]:
    """Everything the registry holds about a study, limitations included, in reading order."""
    c, d, i = study.citation, study.design, study.intervention
    links: tuple[tuple[str, str], ...] = ((f"doi:{c.doi}", doi_url(c.doi)),) if c.doi else ()
    links += ((f"PMID {c.pmid}", pmid_url(c.pmid)),) if c.pmid else ()
    out = [
        Section("Citation", [reference(study)], links),
        Section("Evidence", [evidence(study)]),
        Section(
            "Design",
            [
                f"kind: {d.kind}; randomized: {_value(d.randomized)}; phase: {_value(d.phase)}",
                f"blinding: {_value(d.blinding)}; comparator: {_value(d.comparator)}",
                f"comparator class: {', '.join(d.comparator_classes)}",
                f"prospective: {_value(d.prospective)}; centres: {_value(d.centres)}",
                f"registrations: {', '.join(study.registrations) or 'none found'}",
            ],
        ),
        Section("Conditions", [", ".join(study.conditions)]),
        Section("Population", [study.population]),
        Section("Severity as enrolled", _severity(study)),
        Section("Arms", [_arm(a) for a in study.arms]),
        Section(
            "Intervention",
            [
                (
                    f"cell type: {_value(i.cell_type)}; source: {_value(i.cell_source)}; "
                    f"tissue: {_value(i.tissue)}"
                ),
                f"dose: {_value(i.dose)}; route: {_value(i.route)}; doses: {_value(i.doses)}",
            ],
        ),
        Section("Outcomes", [_outcome(o) for o in study.outcomes] or ["none recorded"]),
        Section("Risk of bias", _risk_of_bias(study)),
        Section("Safety", [_value(study.safety), *(_event(e) for e in study.safety_events)]),
        Section("Limitations", [limitation(lim) for lim in study.limitations], bulleted=True),
    ]
    if study.overlaps:
        out.append(Section("Overlaps with", list(study.overlaps)))
    if study.curation_notes:
        out.append(Section("Curation notes", list(study.curation_notes)))
    out.append(Section("Sources", list(study.sources)))
    return [s for s in out if s.lines]


def _arm(a: Arm) -> str:
    role = f" [{a.role}]" if a.role else ""
    return f"{a.name}{role}: n={_value(a.n)}; {_value(a.description)}"


def _severity(study: Study) -> list[str]:
    summary = severity(study)
    lines = [summary if isinstance(summary, str) else NOT_REPORTED]
    if study.severity.note:
        lines.append(f"inclusion: {study.severity.note}")
    return lines


def _outcome(o: Outcome) -> str:
    line = finding(o, in_cell=False)
    shown = estimate(o)
    if shown is not None:
        line += f"; estimate: {shown}"
    values = arm_values(o)
    if values:
        line += f"; by arm: {', '.join(values)}"
    return line


def _risk_of_bias(study: Study) -> list[str]:
    judged = study.risk_of_bias
    if judged is None:
        kind = study.design.kind
        if kind in appraisal.TOOL_FOR_DESIGN:
            return ["not assessed"]
        return [f"no control group ({kind}): not scored; results are before/after comparisons"]
    who = "the curator" if judged.assessor == "curator" else f"a published review ({judged.review})"
    lines = [
        (
            f"{appraisal.TOOL_LABELS[judged.tool]} overall: {appraisal.label(judged.overall)}; "
            f"judged by {who} from the {judged.basis.replace('-', ' ')}"
        )
    ]
    lines += [f"{d.domain}: {appraisal.label(d.judgement)}. {d.reason}" for d in judged.domains]
    return lines


def _event(e: SafetyEvent) -> str:
    counted = ""
    if e.count is not None:
        counted = f" {e.count}" + (f"/{e.denominator}" if e.denominator is not None else "")
    arm = f" ({e.arm})" if e.arm else ""
    serious = "; serious" if e.serious else ""
    related = f"; {e.relatedness.replace('-', ' ')} (authors)" if e.relatedness else ""
    return f"{e.event}{counted}{arm}: {e.description}{serious}{related}"
