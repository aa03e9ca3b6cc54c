"""`stemrenal import`: the citation of a study from a reference export, by real parsers.

RIS (rispy), PubMed/MEDLINE `.nbib` text (nbib), PubMed XML (defusedxml, which refuses
entity tricks), CSL-JSON and BibTeX (bibtexparser). Each gives the same `Draft`: authors as
the registry writes them ("Surname AB"), title, journal, year, volume, issue, pages, DOI and
PMID; the rest of the study stays a marked gap in the skeleton.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from stemrenal.errors import UsageProblem

_SMALL = {"of", "the", "and", "in", "for", "on", "at", "to", "a", "an", "&"}


class Draft(NamedTuple):
    authors: list[str]
    title: str | None
    journal: str | None
    year: int | None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None

    def citation(self) -> dict[str, Any]:
        keys = ("volume", "issue", "pages", "doi", "pmid")
        return {
            "authors": self.authors,
            "journal": self.journal,
            **{k: getattr(self, k) for k in keys if getattr(self, k)},
        }


def initials(given: str) -> str:
    """ "Teck Onn" -> "TO", "Jean-Luc" -> "JL", "A. B." -> "AB"."""
    return "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given) if part)


def author(family: str, given: str) -> str:
    return f"{family.strip()} {initials(given)}".strip()


def _split(name: str) -> str:
    """ "Deng, Dongxu" or "Dongxu Deng" -> "Deng D"."""
    name = name.strip()
    if "," in name:
        family, given = name.split(",", 1)
        return author(family, given)
    parts = name.split()
    return author(parts[-1], " ".join(parts[:-1])) if len(parts) > 1 else name


def title_case(journal: str) -> str:
    """NLM writes journal names in sentence case ("Annals of the rheumatic diseases")."""
    words = journal.split()
    return " ".join(
        w
        if (i and w.lower() in _SMALL) or any(c.isupper() for c in w[1:])
        else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    )


def _pages(first: str | None, last: str | None) -> str | None:
    if not first:
        return None
    return f"{first}-{last}" if last and last != first else first


def _year(text: object) -> int | None:
    match = re.search(r"(19|20)\d\d", str(text or ""))
    return int(match.group(0)) if match else None


def _clean_title(title: str | None) -> str | None:
    if not title:
        return None
    return " ".join(title.split()).rstrip(".")


def from_nbib(text: str) -> list[Draft]:
    import nbib

    drafts = []
    for ref in nbib.read(text):
        authors = [
            a.get("author_abbreviated") or _split(a.get("author", ""))
            for a in ref.get("authors", [])
        ]
        drafts.append(
            Draft(
                authors=authors,
                title=_clean_title(ref.get("title")),
                journal=title_case(ref["journal"]) if ref.get("journal") else None,
                year=_year(ref.get("publication_date")),
                volume=ref.get("journal_volume"),
                issue=ref.get("journal_issue"),
                pages=ref.get("pages"),
                doi=ref.get("doi"),
                pmid=str(ref["pubmed_id"]) if ref.get("pubmed_id") else None,
            )
        )
    return drafts


def from_ris(text: str) -> list[Draft]:
    import rispy

    drafts = []
    for ref in rispy.loads(text):
        journal = (
            ref.get("secondary_title") or ref.get("journal_name") or ref.get("alternate_title1")
        )
        pmid = (
            ref.get("accession_number") if str(ref.get("accession_number", "")).isdigit() else None
        )
        drafts.append(
            Draft(
                authors=[_split(a) for a in ref.get("authors", ref.get("first_authors", []))],
                title=_clean_title(ref.get("title") or ref.get("primary_title")),
                journal=journal,
                year=_year(ref.get("year") or ref.get("publication_year")),
                volume=ref.get("volume"),
                issue=ref.get("number"),
                pages=_pages(ref.get("start_page"), ref.get("end_page")),
                doi=ref.get("doi"),
                pmid=pmid,
            )
        )
    return drafts


def from_pubmed_xml(text: str) -> list[Draft]:
    from defusedxml import ElementTree

    root = ElementTree.fromstring(text.encode("utf-8"))
    drafts = []
    for article in root.iter("PubmedArticle"):
        cite = article.find("MedlineCitation")
        if cite is None:
            continue
        art = cite.find("Article")
        journal = art.find("Journal") if art is not None else None

        def text_of(node: Any, path: str) -> str | None:
            found = node.find(path) if node is not None else None
            return "".join(found.itertext()).strip() if found is not None else None

        authors = [
            f"{text_of(a, 'LastName')} {text_of(a, 'Initials') or ''}".strip()
            for a in (art.findall("AuthorList/Author") if art is not None else [])
            if text_of(a, "LastName")
        ]
        doi = next(
            ("".join(e.itertext()).strip() for e in (art.findall("ELocationID") if art is not None else [])
             if e.get("EIdType") == "doi"),
            None,
        )  # fmt: skip
        name = text_of(journal, "Title")
        drafts.append(
            Draft(
                authors=authors,
                title=_clean_title(text_of(art, "ArticleTitle")),
                journal=title_case(name) if name else None,
                year=_year(text_of(journal, "JournalIssue/PubDate/Year")),
                volume=text_of(journal, "JournalIssue/Volume"),
                issue=text_of(journal, "JournalIssue/Issue"),
                pages=text_of(art, "Pagination/MedlinePgn"),
                doi=doi,
                pmid=text_of(cite, "PMID"),
            )
        )
    return drafts


def from_csl_json(text: str) -> list[Draft]:
    items = json.loads(text)
    items = items if isinstance(items, list) else [items]
    drafts = []
    for item in items:
        issued = (item.get("issued") or {}).get("date-parts") or [[None]]
        drafts.append(
            Draft(
                authors=[
                    author(a.get("family", ""), a.get("given", "")) for a in item.get("author", [])
                ],
                title=_clean_title(item.get("title")),
                journal=item.get("container-title"),
                year=_year(issued[0][0]),
                volume=item.get("volume"),
                issue=item.get("issue"),
                pages=item.get("page"),
                doi=item.get("DOI"),
                pmid=item.get("PMID"),
            )
        )
    return drafts


def from_bibtex(text: str) -> list[Draft]:
    import bibtexparser

    library = bibtexparser.parse_string(text)
    drafts = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        names = [n for n in re.split(r"\s+and\s+", fields.get("author", "")) if n.strip()]
        drafts.append(
            Draft(
                authors=[_split(n.strip("{} ")) for n in names],
                title=_clean_title(fields.get("title", "").strip("{}")),
                journal=fields.get("journal"),
                year=_year(fields.get("year")),
                volume=fields.get("volume"),
                issue=fields.get("number"),
                pages=fields.get("pages", "").replace("--", "-") or None,
                doi=fields.get("doi"),
                pmid=fields.get("pmid"),
            )
        )
    return drafts


READERS = {
    "nbib": from_nbib,
    "ris": from_ris,
    "pubmed-xml": from_pubmed_xml,
    "csl-json": from_csl_json,
    "bibtex": from_bibtex,
}


def sniff(path: Path, text: str) -> str:
    """Which export this is: by suffix, else by its first lines."""
    suffix = path.suffix.lower()
    by_suffix = {".nbib": "nbib", ".ris": "ris", ".xml": "pubmed-xml", ".json": "csl-json",
                 ".bib": "bibtex", ".bibtex": "bibtex"}  # fmt: skip
    if suffix in by_suffix:
        return by_suffix[suffix]
    head = text.lstrip()[:200]
    if head.startswith("PMID-"):
        return "nbib"
    if head.startswith("TY  -"):
        return "ris"
    if head.startswith("<"):
        return "pubmed-xml"
    if head.startswith(("[", "{")):
        return "csl-json"
    if head.startswith("@"):
        return "bibtex"
    raise UsageProblem(
        f"cannot tell what {path} is: use .nbib, .ris, .xml (PubMed), .json (CSL) or .bib",
        option="FILE",
    )


def read(path: Path, kind: str | None = None) -> list[Draft]:
    """The drafts in one export; a usage error (one line) for a file no parser can read."""
    from stemrenal.curate import need

    text = path.read_text(encoding="utf-8-sig")
    kind = kind or sniff(path, text)
    module = {"nbib": "nbib", "ris": "rispy", "pubmed-xml": "defusedxml", "bibtex": "bibtexparser"}
    if kind in module:
        need(module[kind])
    try:
        drafts = READERS[kind](text)
    except Exception as exc:  # noqa: BLE001  # each parser has its own error classes: one line
        raise UsageProblem(
            f"{path} is not a readable {kind} export: {exc}", option="FILE"
        ) from None
    if not drafts:
        raise UsageProblem(f"{path} holds no reference", option="FILE")
    return drafts
