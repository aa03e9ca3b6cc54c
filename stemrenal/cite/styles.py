"""The citation styles of `cite`: BibTeX, RIS, CSL-JSON and Vancouver, one pure function each.

Each writer takes studies in the order wanted and returns the whole text, so it can be tested
without a stream and checked by an independent parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stemrenal.cite import Name, expand_pages, flat, page_range, parse_name, reference

if TYPE_CHECKING:
    from stemrenal.models import Study


# ----------------------------------------------------------------------------- BibTeX

#: Characters special to (La)TeX. Braces use text commands: BibTeX counts `\{` as a real
#: brace, so a lone one would unbalance the field.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_CHARS = re.compile("[" + re.escape("".join(_LATEX)) + "]")
_PUNCTUATION = re.compile(r"\W*")


def latex_escape(text: str) -> str:
    """Escape TeX specials; letters beyond ASCII stay UTF-8, which biber and BibTeX 8-bit read."""
    return _LATEX_CHARS.sub(lambda m: _LATEX[m.group()], text)


def _needs_protection(word: str) -> bool:
    """An acronym, a word with inner capitals, or a lone capital other than "A".

    Catches MSC, CKD, CD34, hUC, NEPHSTROM, mGFR and "phase I". Hyphen and slash parts are
    judged one by one, so "Long-Term" stays free to be lowercased by sentence-case styles.
    """
    if len(word) == 1:
        return word.isupper() and word != "A"
    return any(any(ch.isupper() for ch in part[1:]) for part in re.split(r"[-/]", word))


def protect_title(title: str) -> str:
    """Escape the title and brace the words a sentence-case style must not lowercase."""
    out = []
    for token in re.split(r"(\s+)", flat(title)):
        lead, core, trail = _split_token(token)
        if core and _needs_protection(core):
            out.append(f"{latex_escape(lead)}{{{latex_escape(core)}}}{latex_escape(trail)}")
        else:
            out.append(latex_escape(token))
    return "".join(out)


def _split_token(token: str) -> tuple[str, str, str]:
    """Leading punctuation, the word, trailing punctuation: "(NEPHSTROM)," gives "(",
    "NEPHSTROM" and "),". Two forward matches, each linear: one pattern with a lazy middle,
    `^(\\W*)(.*?)(\\W*)$`, was quadratic in a long run of punctuation (a 50 KB token: 26 s).
    """
    start = _punctuation(token)
    end = max(start, len(token) - _punctuation(token[::-1]))
    return token[:start], token[start:end], token[end:]


def _punctuation(text: str) -> int:
    """How many characters at the start of `text` are not word characters."""
    match = _PUNCTUATION.match(text)
    return match.end() if match else 0


def bibtex_name(name: Name) -> str:
    """ "Family, Given" (or "Family, Jr, Given"); a name we cannot split is braced whole."""
    if name.literal:
        return "{" + latex_escape(name.family) + "}"
    parts = [latex_escape(name.family), latex_escape(name.suffix), latex_escape(name.given())]
    return ", ".join(p for p in parts if p)


def _verbatim(value: str) -> str:
    """DOIs are verbatim for biblatex and for \\url: only braces must go, percent-encoded."""
    return value.replace("{", "%7B").replace("}", "%7D")


def _bibtex_pages(pages: str) -> str:
    """Full range with BibTeX's en dash: "1133-40" -> "1133--1140"."""
    first, last = page_range(pages)
    ends = [first] if last is None or last == first else [first, last]
    return "--".join(latex_escape(p) for p in ends)


def bibtex_entry(study: Study) -> str:
    """One `@article` keyed by the study id.

    The PMID goes in `pmid` (read by Zotero and JabRef) and as `eprint` with
    `eprinttype = {pubmed}`, which biblatex prints as "PMID: …" with a link; `note` is left to
    the user.
    """
    c = study.citation
    fields: list[tuple[str, str | None]] = [
        ("author", " and ".join(bibtex_name(parse_name(a)) for a in c.authors)),
        ("title", protect_title(study.title)),
        ("journal", latex_escape(flat(c.journal))),
        ("year", str(study.year)),
        ("volume", latex_escape(flat(c.volume)) if c.volume else None),
        ("number", latex_escape(flat(c.issue)) if c.issue else None),
        ("pages", _bibtex_pages(c.pages) if c.pages else None),
        ("doi", _verbatim(c.doi) if c.doi else None),
        ("pmid", c.pmid),
        ("eprint", c.pmid),
        ("eprinttype", "pubmed" if c.pmid else None),
    ]
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields if value)
    return f"@article{{{study.id},\n{body}\n}}\n"


def bibtex(studies: Sequence[Study]) -> str:
    """A .bib file: entries separated by a blank line, UTF-8."""
    return "\n".join(bibtex_entry(s) for s in studies)


# ----------------------------------------------------------------------------- RIS


def ris_name(name: Name) -> str:
    """ "Family, G.B." or "Family, G.B., Jr", the form the RIS specification gives."""
    if name.literal:
        return name.family
    return ", ".join(p for p in (name.family, name.given(""), name.suffix) if p)


def ris_record(study: Study) -> str:
    """One JOUR record; the journal goes in JO (full name, per the spec) and T2 (EndNote)."""
    c = study.citation
    first, last = page_range(c.pages) if c.pages else (None, None)
    tags: list[tuple[str, str | None]] = [
        ("TY", "JOUR"),
        ("ID", study.id),
        *(("AU", ris_name(parse_name(a))) for a in c.authors),
        ("TI", flat(study.title)),
        ("T2", flat(c.journal)),
        ("JO", flat(c.journal)),
        ("PY", str(study.year)),
        ("VL", flat(c.volume) if c.volume else None),
        ("IS", flat(c.issue) if c.issue else None),
        ("SP", first),
        ("EP", last),
        ("DO", c.doi),
        ("AN", c.pmid),
        ("ER", ""),
    ]
    return "".join(f"{tag}  - {value}\r\n" for tag, value in tags if value is not None)


def ris(studies: Sequence[Study]) -> str:
    """A .ris file: CRLF line ends, as the specification asks; UTF-8."""
    return "".join(ris_record(s) for s in studies)


# ----------------------------------------------------------------------------- CSL-JSON


def csl_name(name: Name) -> dict[str, str]:
    if name.literal:
        return {"literal": name.family}
    found = {"family": name.family, "given": name.given()}
    if name.suffix:
        found["suffix"] = name.suffix
    return found


def csl_item(study: Study) -> dict[str, Any]:
    """One item of the CSL data schema (article-journal)."""
    c = study.citation
    item: dict[str, Any] = {
        "id": study.id,
        "type": "article-journal",
        "author": [csl_name(parse_name(a)) for a in c.authors],
        "issued": {"date-parts": [[study.year]]},
        "title": flat(study.title),
        "container-title": flat(c.journal),
    }
    optional = {
        "volume": c.volume and flat(c.volume),
        "issue": c.issue and flat(c.issue),
        "page": c.pages and expand_pages(c.pages),
        "DOI": c.doi,
        "PMID": c.pmid,
    }
    item.update({k: v for k, v in optional.items() if v})
    return item


def csl_json(studies: Sequence[Study]) -> str:
    """A CSL-JSON array (Pandoc, Zotero, citeproc), letters beyond ASCII kept as written."""
    import json

    return json.dumps([csl_item(s) for s in studies], ensure_ascii=False, indent=2) + "\n"


# ----------------------------------------------------------------------------- Vancouver


def vancouver(studies: Sequence[Study]) -> str:
    """A numbered reference list, one reference a line (ICMJE/NLM)."""
    return "".join(f"{n}. {reference(s)}\n" for n, s in enumerate(studies, start=1))


#: Each style by its name (the `--format` values of `cite`, `output.CITATION`).
STYLES: dict[str, Callable[[Sequence[Study]], str]] = {
    "bibtex": bibtex,
    "ris": ris,
    "csl-json": csl_json,
    "vancouver": vancouver,
}


def render(studies: Sequence[Study], style: str) -> str:
    """The citations of these studies, in this order, in one style."""
    return STYLES[style](studies)
