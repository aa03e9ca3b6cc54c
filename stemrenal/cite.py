"""Citations: the one short form used by tables and `show`, and the export styles of `cite`."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def reference(study: Study) -> str:
    """A full reference in the ICMJE/NLM (Vancouver) form, without the list number.

    Up to six authors, then "et al."; the journal as recorded (full name).
    """
    c = study.citation
    authors = ", ".join(c.authors[:6]) + (", et al" if len(c.authors) > 6 else "")
    title = study.title.rstrip(".")
    volume = c.volume or ""
    issue = f"({c.issue})" if c.issue else ""
    pages = f":{c.pages}" if c.pages else ""
    locator = f";{volume}{issue}{pages}" if (volume or issue or pages) else ""
    text = f"{authors}. {title}. {c.journal}. {study.year}{locator}."
    if c.doi:
        text += f" doi:{c.doi}"
    if c.pmid:
        text += f" PMID: {c.pmid}."
    return text
