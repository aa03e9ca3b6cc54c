"""Claims an article makes about studies, and what the registry records: the `check` command.

A claims file holds one `[article]` and `[[claim]]` tables. Each claim quotes the article,
names the study (or studies) it is about and what it asserts: a registry field and value.
Structured claims are compared here, by rule, never by hand; a claim that needs judgement
("reverses kidney failure") carries the curator's verdict and reason, marked as such.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from stemrenal.models import CLAIM_NUMBER_FIELDS
from stemrenal.query import participants

if TYPE_CHECKING:
    from stemrenal.models import Claim, ClaimsFile, Study

#: What a structured claim can assert, and how it is compared (see `compare`).
NUMBER_FIELDS = CLAIM_NUMBER_FIELDS
TEXT_FIELDS = ("journal", "institutions", "countries", "comparator")
TERM_FIELDS = ("design", "cell_source", "cell_type", "tissue")
FIELDS = (*NUMBER_FIELDS, *TEXT_FIELDS, *TERM_FIELDS, "dose", "endpoints", "outcome", "judgement")

VERDICTS = ("agrees", "contradicts", "not-in-sources")


class Checked(NamedTuple):
    """A claim beside what the registry records, and the verdict."""

    number: int
    claim: Claim
    recorded: str | None  # None: the registry has no value for it
    sources: tuple[str, ...]
    verdict: str
    by: str  # "program" or "curator"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    """The numbers in a text, as values ("50.0%" and "50%" are the same number)."""
    return [float(n) for n in _NUMBER.findall(text.replace(",", ""))]


def _same_text(claimed: str, recorded: Sequence[str]) -> bool:
    wanted = claimed.casefold().strip()
    return any(
        wanted in r.casefold() or r.casefold() in wanted or _abbreviates(wanted, r.casefold())
        for r in recorded
        if r
    )


_SMALL_WORDS = {"of", "the", "and", "for", "in", "&"}


def _abbreviates(short: str, full: str) -> bool:
    """ "pak j pharm sci" abbreviates "pakistan journal of pharmaceutical sciences": each
    word is the start of the next significant word (journal abbreviations, ISO 4 style)."""
    words = [w for w in re.split(r"[\s.]+", short) if w]
    full_words = [w for w in re.split(r"[\s.]+", full) if w and w not in _SMALL_WORDS]
    return len(words) == len(full_words) > 1 and all(
        f.startswith(w) for w, f in zip(words, full_words, strict=True)
    )


def _term_equal(field: str, claimed: str, recorded: str | None) -> bool:
    from stemrenal import vocabulary

    kind = field.replace("_", "-")
    meant = claimed if claimed in vocabulary.ids(kind) else vocabulary.lookup(kind, claimed)
    return recorded is not None and meant == recorded


def _recorded(study: Study, field: str) -> Any:
    if field == "journal":
        return [study.citation.journal]
    if field == "comparator":
        return [study.design.comparator or "", *study.design.comparator_classes]
    if field == "design":
        return study.design.kind
    if field in TERM_FIELDS or field == "dose":
        return getattr(study.intervention, field)
    return getattr(study, field)


def compare(number: int, claim: Claim, by_id: dict[str, Study]) -> Checked:
    """One claim against the registry: agrees, contradicts, or not in the sources."""
    if claim.studies:
        return _total(number, claim, [by_id[i] for i in claim.studies])
    assert claim.study is not None  # the model requires one or the other
    study = by_id[claim.study]
    sources = (study.sources[0],)
    if claim.field == "judgement":
        return Checked(number, claim, claim.reason, sources, str(claim.verdict), "curator")
    recorded, verdict = _FIELD_RULES.get(claim.field, _recorded_value)(claim, study)
    return Checked(number, claim, recorded, sources, verdict, "program")


def _total(number: int, claim: Claim, chosen: list[Study]) -> Checked:
    """A count across studies ("3 trials, 268 patients"): their participants, overlaps once."""
    sources = tuple(s.sources[0] for s in chosen)
    if any(s.enrolled is None for s in chosen):
        return Checked(number, claim, None, sources, "not-in-sources", "program")
    total = participants(chosen)
    each = " + ".join(f"{s.enrolled} ({s.id})" for s in chosen)
    verdict = "agrees" if float(claim.value) == total else "contradicts"
    return Checked(number, claim, f"{total} enrolled: {each}", sources, verdict, "program")


Rule = Callable[["Claim", "Study"], tuple[str | None, str]]


def _outcome(claim: Claim, study: Study) -> tuple[str | None, str]:
    """Every number the claim gives must be among the numbers the study's results report."""
    reported = [o for o in study.outcomes if o.endpoint == claim.endpoint]
    if not reported:
        return None, "not-in-sources"
    texts = [f"{o.measure}, {o.timepoint}: {o.result}" for o in reported]
    found = {n for t in texts for n in numbers(t)}
    wanted = numbers(str(claim.value))
    agrees = bool(wanted) and all(n in found for n in wanted)
    return " | ".join(texts), "agrees" if agrees else "not-in-sources"


def _endpoints(claim: Claim, study: Study) -> tuple[str | None, str]:
    reported = list(dict.fromkeys(o.endpoint for o in study.outcomes))
    return ", ".join(reported), "agrees" if str(claim.value) in reported else "not-in-sources"


def _recorded_value(claim: Claim, study: Study) -> tuple[str | None, str]:
    """A field the study records: numbers equal, terms the same, text found, dose figures."""
    recorded = _recorded(study, claim.field)
    if recorded is None or recorded == []:
        return None, "not-in-sources"
    if claim.field in NUMBER_FIELDS:
        shown = f"{recorded:g}" if isinstance(recorded, float) else str(recorded)
        return shown, _verdict(float(claim.value) == float(recorded))
    if claim.field in TERM_FIELDS:
        return str(recorded), _verdict(_term_equal(claim.field, str(claim.value), recorded))
    if claim.field == "dose":
        wanted = numbers(str(claim.value))
        return str(recorded), _verdict(bool(wanted) and wanted == numbers(str(recorded)))
    shown = "; ".join(str(r) for r in recorded if r)
    return shown, _verdict(_same_text(str(claim.value), recorded))


def _verdict(agrees: bool) -> str:
    return "agrees" if agrees else "contradicts"


_FIELD_RULES: dict[str, Rule] = {"outcome": _outcome, "endpoints": _endpoints}


def check(claims: ClaimsFile, studies: Sequence[Study]) -> list[Checked]:
    """Every claim of the file, in order, against the registry's studies."""
    by_id = {s.id: s for s in studies}
    return [compare(n, claim, by_id) for n, claim in enumerate(claims.claim, 1)]
