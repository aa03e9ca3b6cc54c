"""One study in full, for `show`: a document of sections that the writers render as plain
text, Markdown or Rich."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from stemrenal.cite import doi_url, pmid_url, reference
from stemrenal.output import NOT_REPORTED
from stemrenal.output.tables import as_text, evidence, finding, limitation

if TYPE_CHECKING:
    from stemrenal.models import Study


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
                f"prospective: {_value(d.prospective)}; centres: {_value(d.centres)}",
                f"registrations: {', '.join(study.registrations) or 'none found'}",
            ],
        ),
        Section("Conditions", [", ".join(study.conditions)]),
        Section("Population", [study.population]),
        Section(
            "Arms", [f"{a.name}: n={_value(a.n)}; {_value(a.description)}" for a in study.arms]
        ),
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
        Section(
            "Outcomes", [finding(o, in_cell=False) for o in study.outcomes] or ["none recorded"]
        ),
        Section("Safety", [_value(study.safety)]),
        Section("Limitations", [limitation(lim) for lim in study.limitations], bulleted=True),
    ]
    if study.overlaps:
        out.append(Section("Overlaps with", list(study.overlaps)))
    if study.curation_notes:
        out.append(Section("Curation notes", list(study.curation_notes)))
    out.append(Section("Sources", list(study.sources)))
    return [s for s in out if s.lines]
