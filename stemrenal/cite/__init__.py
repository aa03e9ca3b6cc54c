"""Citations: the one short form used by tables and `show`, and the pieces every style shares.

The registry stores authors in the NLM form "Surname AB" and pages as printed. `parse_name`
and `page_range` turn those into the parts that BibTeX, RIS and CSL-JSON need; the export
writers themselves live in `citestyles`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from stemrenal.models import Study


def short_citation(study: Study) -> str:
    """First author, year, journal: how a study is named in every table."""
    authors = study.citation.authors
    first = authors[0] + (" et al." if len(authors) > 1 else "")
    return f"{first}, {study.citation.journal} {study.year}"


def doi_url(doi: str) -> str:
    """Resolvable link for a DOI."""
    return f"https://doi.org/{doi}"


def pmid_url(pmid: str) -> str:
    """PubMed link for a PMID."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def flat(text: str) -> str:
    """One line, single spaces: registry strings may span lines, citation fields must not."""
    return " ".join(text.split())


# ----------------------------------------------------------------------------- author names

#: Initials as NLM writes them: capitals, optionally hyphenated ("EB", "J-H", "É").
_INITIALS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_SUFFIXES = frozenset({"Jr", "Sr", "2nd", "3rd", "4th", "II", "III", "IV"})


def _is_initials(token: str) -> bool:
    return bool(_INITIALS.fullmatch(token)) and token.isupper() and len(token) <= 7


class Name(NamedTuple):
    """An author split as reference managers want it.

    `initials` is empty when the registry gives a name with no initials (a group, a
    transliteration we cannot split): writers then pass the name on whole, never guessing.
    """

    family: str
    initials: str = ""
    suffix: str = ""

    @property
    def literal(self) -> bool:
        return not self.initials

    def given(self, separator: str = " ") -> str:
        """Initials with full stops: "EB" -> "E. B." (or "E.B."), "J-H" -> "J.-H."."""
        parts = [separator.join(f"{letter}." for letter in p) for p in self.initials.split("-")]
        return "-".join(parts)


def parse_name(text: str) -> Name:
    """Split "Surname AB" (NLM); everything before the initials is the surname.

    "van der Berg K" keeps "van der Berg" as one surname; "Smith JA Jr" keeps its suffix.
    """
    tokens = text.split()
    suffix = ""
    if len(tokens) >= 3 and tokens[-1] in _SUFFIXES and _is_initials(tokens[-2]):
        suffix = tokens.pop()
    if len(tokens) >= 2 and _is_initials(tokens[-1]):
        return Name(" ".join(tokens[:-1]), tokens[-1], suffix)
    return Name(flat(text))


# ----------------------------------------------------------------------------- pages

_NUMERIC_RANGE = re.compile(r"([A-Za-z]*)(\d+)\s*[-\u2010-\u2015]+\s*([A-Za-z]*)(\d+)")
_ANY_RANGE = re.compile(r"(\S+?)\s*[-\u2010-\u2015]+\s*(\S+)")


def page_range(pages: str) -> tuple[str, str | None]:
    """First and last page, the last written out in full: "1133-40" -> ("1133", "1140").

    A single page or article number ("R79", "e.000028.01") has no last page.
    """
    text = pages.strip()
    numeric = _NUMERIC_RANGE.fullmatch(text)
    if numeric:
        prefix, first, end_prefix, last = numeric.groups()
        if not end_prefix or end_prefix == prefix:
            full = first[: len(first) - len(last)] + last if len(last) < len(first) else last
            if int(full) >= int(first):
                return prefix + first, prefix + full
    other = _ANY_RANGE.fullmatch(text)
    if other:
        return other.group(1), other.group(2)
    return text, None


def expand_pages(pages: str) -> str:
    """The range written out in full with a hyphen, as CSL-JSON and RIS expect."""
    first, last = page_range(pages)
    return first if last is None or last == first else f"{first}-{last}"


def abbreviate_pages(pages: str) -> str:
    """NLM page range: repeated leading digits dropped from the last page (1133-1140 -> 1133-40)."""
    first, last = page_range(pages)
    if last is None or last == first:
        return first
    numeric = _NUMERIC_RANGE.fullmatch(f"{first}-{last}")
    if numeric is None:
        return f"{first}-{last}"
    prefix, start, _, end = numeric.groups()
    if len(start) == len(end) and int(end) > int(start):
        same = 0
        while start[same] == end[same]:
            same += 1
        end = end[same:]
    return f"{prefix}{start}-{end}"


# ----------------------------------------------------------------------------- Vancouver


def reference(study: Study) -> str:
    """A full reference in the ICMJE/NLM (Vancouver) form, without the list number.

    Up to six authors, then "et al."; the journal as recorded (the registry keeps the full
    name: NLM abbreviations would need a field of their own, taken from the NLM Catalog).
    """
    c = study.citation
    authors = ", ".join(flat(a) for a in c.authors[:6]) + (", et al" if len(c.authors) > 6 else "")
    title = flat(study.title).rstrip(".")
    if not title.endswith(("?", "!")):
        title += "."
    issue = f"({flat(c.issue)})" if c.issue else ""
    pages = f":{abbreviate_pages(c.pages)}" if c.pages else ""
    volume = flat(c.volume) if c.volume else ""
    locator = f";{volume}{issue}" if (volume or issue) else ""
    text = f"{authors}. {title} {flat(c.journal)}. {study.year}{locator}{pages}."
    if c.doi:
        text += f" doi:{c.doi}."
    if c.pmid:
        text += f" PMID: {c.pmid}."
    return text
