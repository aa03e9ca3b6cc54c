"""The content rules of `validate --strict` (always on for the bundled registry): what a
study must carry beyond a valid shape, and a warning for cohorts that look shared but are
not linked by `overlaps`.

These lived in the test suite, which checks only the bundled file; here they check any
registry a curator builds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stemrenal.appraisal import TOOL_FOR_DESIGN
from stemrenal.errors import Problem

if TYPE_CHECKING:
    from stemrenal.models import Study

BARE_IP = re.compile(r"^https?://\d{1,3}(\.\d{1,3}){3}(:\d+)?(/|$)")

#: Years apart within which two reports of one centre and disease may share patients.
YEARS_APART = 6


def canonical_records(study: Study) -> set[str]:
    """The canonical records of a study: its PubMed page, DOI, or registry record."""
    c = study.citation
    found = set()
    if c.pmid:
        found.add(f"https://pubmed.ncbi.nlm.nih.gov/{c.pmid}/")
    if c.doi:
        found.add(f"https://doi.org/{c.doi}")
    found |= {f"https://clinicaltrials.gov/study/{r}" for r in study.registrations}
    return found


def study_rules(study: Study) -> list[tuple[str, str]]:
    """(field, message) for every content rule the study breaks."""
    broken = []
    if not canonical_records(study) & set(study.sources):
        first = sorted(canonical_records(study))[:1]
        broken.append(
            (
                "sources",
                "give the canonical record in sources, e.g. "
                + (first[0] if first else "https://pubmed.ncbi.nlm.nih.gov/PMID/"),
            )
        )
    for url in study.sources:
        if BARE_IP.match(url):
            broken.append(("sources", f"{url} is a bare IP address: cite the canonical record"))
    if study.last_checked is None:
        broken.append(("last_checked", "say when the study was last checked: YYYY-MM-DD"))
    if not any(lim.source == "curator" for lim in study.limitations):
        broken.append(("limitations", 'add at least one limitation with source = "curator"'))
    if study.design.kind in TOOL_FOR_DESIGN and study.risk_of_bias is None:
        tool = TOOL_FOR_DESIGN[study.design.kind]
        broken.append(
            ("risk_of_bias", f"a {study.design.kind} study needs [study.risk_of_bias] ({tool})")
        )
    if study.overlaps and not any("overlap" in lim.text.lower() for lim in study.limitations):
        broken.append(("limitations", "say in a limitation which cohorts overlap and how"))
    no_primary = not any(o.primary for o in study.outcomes)
    explained = any("primary" in note.lower() for note in study.curation_notes)
    if study.design.kind in TOOL_FOR_DESIGN and no_primary and not explained:
        broken.append(
            (
                "outcomes",
                "mark the primary outcome (primary = true), or say in curation_notes why none is",
            )
        )
    return broken


#: Words every institution's name has, which say nothing about which centre it is.
_GENERIC = frozenset(
    [
        "the",
        "of",
        "and",
        "for",
        "at",
        "in",
        "de",
        "la",
        "department",
        "dept",
        "division",
        "unit",
        "hospital",
        "hospitals",
        "university",
        "universities",
        "medical",
        "medicine",
        "school",
        "college",
        "clinical",
        "clinic",
        "centre",
        "center",
        "institute",
        "affiliated",
        "people's",
        "peoples",
        "first",
        "second",
        "third",
        "general",
        "national",
        "research",
        "science",
        "sciences",
        "health",
        "faculty",
        "laboratory",
        "key",
        "rheumatology",
        "immunology",
        "nephrology",
        "surgery",
        "internal",
        "transplantation",
        "transplant",
        "kidney",
        "renal",
        "diseases",
        "disease",
        "stem",
        "cell",
        "cells",
    ]
)


def _centres(study: Study) -> list[frozenset[str]]:
    """Each institution as the distinctive words of its name ("drum", "tower", "nanjing")."""
    centres = []
    for name in study.institutions:
        words = {w for w in re.findall(r"[a-z][a-z'-]{2,}", name.casefold()) if w not in _GENERIC}
        if words:
            centres.append(frozenset(words))
    return centres


def _shared_centre(a: Study, b: Study) -> str | None:
    """A centre both studies name: two distinctive words in common (one if that is all)."""
    for x in _centres(a):
        for y in _centres(b):
            common = x & y
            if len(common) >= 2 or (common and (len(x) == 1 or len(y) == 1)):
                return " ".join(sorted(common))
    return None


def overlap_warnings(studies: Sequence[Study]) -> list[tuple[Study, str]]:
    """Pairs that share a registration, or an institution, a condition and nearby years, yet
    are not in one `overlaps` group and not marked `distinct_from` each other."""
    from stemrenal.query import overlap_groups

    group = {s.id: n for n, members in enumerate(overlap_groups(list(studies))) for s in members}
    warnings = []
    for index, a in enumerate(studies):
        for b in studies[index + 1 :]:
            if group[a.id] == group[b.id] or b.id in a.distinct_from or a.id in b.distinct_from:
                continue
            shared_registration = set(a.registrations) & set(b.registrations)
            shared_centre = _shared_centre(a, b)
            close = abs(a.year - b.year) <= YEARS_APART and set(a.conditions) & set(b.conditions)
            if shared_registration:
                why = f"the same registration ({', '.join(sorted(shared_registration))})"
            elif shared_centre and close:
                why = f"the same centre ({shared_centre}), disease and years"
            else:
                continue
            warnings.append(
                (
                    a,
                    (
                        f"may share participants with {b.id}: {why}; link them in overlaps, or "
                        f'record distinct_from = ["{b.id}"] with the reason in curation_notes'
                    ),
                )
            )
    return warnings


def check(studies: Sequence[Study], where: dict[str, tuple[str, int | None]]) -> list[Problem]:
    """Every strict problem, located at the study's file and line (`where`: id -> place)."""
    problems = []
    for study in studies:
        file, line = where.get(study.id, ("?", None))
        problems += [Problem(file, line, study.id, f, m) for f, m in study_rules(study)]
    for study, message in overlap_warnings(studies):
        file, line = where.get(study.id, ("?", None))
        problems.append(Problem(file, line, study.id, "overlaps", f"warning: {message}"))
    return problems
