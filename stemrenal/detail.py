"""One study in full, for `show`: the same sections rendered as Markdown, plain text or Rich."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from stemrenal.cite import doi_url, pmid_url, reference
from stemrenal.columns import evidence
from stemrenal.render import NOT_REPORTED, clean

if TYPE_CHECKING:
    from stemrenal.models import Outcome, Study


@dataclass(frozen=True)
class Section:
    heading: str
    lines: list[str]
    links: list[tuple[str, str]] = field(default_factory=list)


def _value(value: object) -> str:
    if value is None:
        return NOT_REPORTED
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def sections(study: Study) -> list[Section]:
    """Everything the registry holds about a study, limitations included, in reading order."""
    c, d, i = study.citation, study.design, study.intervention
    links = [(f"doi:{c.doi}", doi_url(c.doi))] if c.doi else []
    links += [(f"PMID {c.pmid}", pmid_url(c.pmid))] if c.pmid else []
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
        Section("Outcomes", [_outcome(o) for o in study.outcomes] or ["none recorded"]),
        Section("Safety", [_value(study.safety)]),
        Section("Limitations", [f"{lim.text} ({lim.source})" for lim in study.limitations]),
    ]
    if study.overlaps:
        out.append(Section("Overlaps with", list(study.overlaps)))
    if study.curation_notes:
        out.append(Section("Curation notes", list(study.curation_notes)))
    out.append(Section("Sources", list(study.sources)))
    return [s for s in out if s.lines]


def _outcome(o: Outcome) -> str:
    p = f"; p {o.p_value}" if o.p_value else ""
    direction = f"; direction: {o.direction}" if o.direction else ""
    return f"{o.endpoint}: {o.measure}, {o.timepoint}: {o.result}{p}{direction}"


def write_markdown(study: Study, stream: TextIO) -> None:
    parts = [f"# {_md(study.title)}", "", f"`{study.id}`"]
    for section in sections(study):
        parts += ["", f"## {section.heading}", ""]
        bullet = "- " if len(section.lines) > 1 or section.heading == "Limitations" else ""
        parts += [bullet + _md(line) for line in section.lines]
        parts += [f"- [{_md(label)}]({url})" for label, url in section.links]
    stream.write("\n".join(parts) + "\n")


def _md(text: str) -> str:
    return clean(text).replace("<", "&lt;")


def write_plain(study: Study, stream: TextIO) -> None:
    lines = [clean(study.title), study.id]
    for section in sections(study):
        lines += ["", section.heading.upper()]
        lines += [f"  {clean(line)}" for line in section.lines]
        lines += [f"  {label}: {url}" for label, url in section.links]
    stream.write("\n".join(lines) + "\n")


def write_rich(study: Study, stream: TextIO) -> None:
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    console = Console(file=stream, markup=False, emoji=False, highlight=False)
    console.print(Text(clean(study.title), style="bold"))
    console.print(Text(study.id, style="dim"))
    for section in sections(study):
        console.print()
        console.print(Text(section.heading, style="bold underline"))
        bullet = "• " if len(section.lines) > 1 else ""
        for line in section.lines:
            console.print(Text(bullet + clean(line)))
        for label, url in section.links:
            console.print(Text(label, style=Style(link=url, underline=True)))
