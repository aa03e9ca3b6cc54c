"""Citations, read back by independent parsers: bibtexparser, rispy, the CSL schema, and lines.

Every study of the bundled registry must round-trip its authors, title, year, DOI and PMID in
every style; the registry grows, so the tests iterate over it and never count it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bibtexparser
import jsonschema
import pytest
import rispy
from bibtexparser import middlewares as m
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from stemrenal import registry
from stemrenal.cite import (
    abbreviate_pages,
    expand_pages,
    flat,
    page_range,
    parse_name,
    reference,
    short_citation,
)
from stemrenal.cite.styles import (
    STYLES,
    bibtex_name,
    latex_escape,
    protect_title,
    render,
)
from stemrenal.cli import cli
from stemrenal.errors import UsageProblem
from stemrenal.models import Study
from stemrenal.output import CITATION, Defaults, Format, OutputOptions, choose_format

from helpers import DATA, MINIMAL, SEED, run_program

CSL_SCHEMA = json.loads((DATA / "csl-data.json").read_text(encoding="utf-8"))

DUBSKY = "dubsky-2019-dkd-limb-ischaemia"
RANJBAR = "ranjbar-2022-lupus-nephritis"
SHAO = "shao-2021-chronic-renal-failure"

#: A study whose every field is awkward: non-ASCII and compound names, TeX specials, acronyms.
AWKWARD_AUTHORS = '["Dubský M", "Bém R", "van der Berg K", "Kim J-H", "王东", "Smith JA Jr"]'
AWKWARD_TITLE = "MSC & CKD: 50% of {x}_y #1 $2 ~3 ^4 \\5 in phase I/II (hUC-MSC) Long-Term study"


def run(runner: CliRunner, *args: str, registry_path: Path | None = None) -> Result:
    prefix = ["--registry", str(registry_path)] if registry_path else []
    return runner.invoke(cli, [*prefix, "cite", *args], catch_exceptions=False)


@pytest.fixture
def bundled() -> tuple[Study, ...]:
    studies = registry.load(())
    assert studies, "the bundled registry is empty"
    return studies


@pytest.fixture
def awkward(write_registry: Callable[..., Path]) -> Path:
    text = MINIMAL.replace('authors = ["Doe J", "Roe R"]', f"authors = {AWKWARD_AUTHORS}")
    text = text.replace('title = "A small study"', f"title = '{AWKWARD_TITLE}'")
    text = text.replace('doi = "10.1000/test.1"', 'doi = "10.1000/a_b.1"\npmid = "123"')
    text = text.replace('journal = "Journal of Tests"', 'journal = "Arthritis Research & Therapy"')
    return write_registry(text)


# ----------------------------------------------------------------------------- decoders


def nlm(family: str, given: str, suffix: str = "") -> str:
    """Back to the registry's "Surname AB [Jr]" from a parsed family and dotted given name."""
    initials = re.sub(r"[.\s]", "", given)
    return " ".join(p for p in (family, initials, suffix) if p)


_UNTEX = {
    r"\textbackslash{}": "\\",
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    r"\&": "&",
    r"\%": "%",
    r"\_": "_",
    r"\#": "#",
    r"\$": "$",
}
_UNTEX_RE = re.compile("|".join(re.escape(k) for k in _UNTEX) + r"|[{}]")


def untex(text: str) -> str:
    """Undo the escapes the BibTeX writer may use and drop protecting braces."""
    return _UNTEX_RE.sub(lambda found: _UNTEX.get(found.group(), ""), text)


def bib_authors(entry: Any) -> list[str]:
    names = []
    for part in entry["author"]:
        family = untex(" ".join(part.von + part.last))
        given = " ".join(part.first)
        names.append(nlm(family, given, " ".join(part.jr)) if given else family)
    return names


def parse_bibtex(text: str) -> dict[str, Any]:
    library = bibtexparser.parse_string(
        text, append_middleware=[m.SeparateCoAuthors(), m.SplitNameParts()]
    )
    assert not library.failed_blocks
    return {entry.key: entry for entry in library.entries}


def ris_author(text: str) -> str:
    family, _, rest = text.partition(", ")
    given, _, suffix = rest.partition(", ")
    return nlm(family, given, suffix) if rest else family


def csl_author(name: dict[str, str]) -> str:
    if "literal" in name:
        return name["literal"]
    return nlm(name["family"], name["given"], name.get("suffix", ""))


# ----------------------------------------------------------------------------- round trips


def test_bibtex_round_trips_every_bundled_study(
    runner: CliRunner, bundled: tuple[Study, ...]
) -> None:
    result = run(runner, "--style", "bibtex")
    assert result.exit_code == 0, result.output
    entries = parse_bibtex(result.stdout)
    assert list(entries) == [s.id for s in bundled]
    for study in bundled:
        entry, c = entries[study.id], study.citation
        assert entry.entry_type == "article"
        assert bib_authors(entry) == [flat(a) for a in c.authors], study.id
        assert untex(entry["title"]) == flat(study.title)
        assert untex(entry["journal"]) == flat(c.journal)
        assert entry["year"] == str(study.year)
        doi = entry.fields_dict.get("doi")
        assert (doi.value if doi else None) == c.doi
        if c.pmid:
            assert (entry["pmid"], entry["eprint"], entry["eprinttype"]) == (
                c.pmid,
                c.pmid,
                "pubmed",
            )
        else:
            assert "pmid" not in entry.fields_dict
        if c.pages:
            first, last = page_range(c.pages)
            assert entry["pages"].split("--") == (
                [first] if last in (None, first) else [first, last]
            )


def test_ris_round_trips_every_bundled_study(runner: CliRunner, bundled: tuple[Study, ...]) -> None:
    result = run(runner, "--style", "ris")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.endswith(b"ER  - \r\n")  # the spec asks for CRLF
    records = rispy.loads(result.stdout)
    assert [r["id"] for r in records] == [s.id for s in bundled]
    for study, record in zip(bundled, records, strict=True):
        c = study.citation
        assert record["type_of_reference"] == "JOUR"
        assert [ris_author(a) for a in record["authors"]] == [flat(a) for a in c.authors]
        assert record["title"] == flat(study.title)
        assert record["journal_name"] == flat(c.journal)
        assert record["year"] == str(study.year)
        assert record.get("doi") == c.doi
        assert record.get("accession_number") == c.pmid
        if c.pages:
            first, last = page_range(c.pages)
            assert (record["start_page"], record.get("end_page")) == (first, last)


def test_csl_json_is_valid_and_round_trips_every_bundled_study(
    runner: CliRunner, bundled: tuple[Study, ...]
) -> None:
    result = run(runner, "--style", "csl-json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    jsonschema.Draft7Validator(CSL_SCHEMA).validate(items)
    assert [i["id"] for i in items] == [s.id for s in bundled]
    for study, item in zip(bundled, items, strict=True):
        c = study.citation
        assert item["type"] == "article-journal"
        assert [csl_author(a) for a in item["author"]] == [flat(a) for a in c.authors]
        assert item["title"] == flat(study.title)
        assert item["container-title"] == flat(c.journal)
        assert item["issued"] == {"date-parts": [[study.year]]}
        assert item.get("DOI") == c.doi
        assert item.get("PMID") == c.pmid


def test_vancouver_round_trips_every_bundled_study(
    runner: CliRunner, bundled: tuple[Study, ...]
) -> None:
    result = run(runner, "--style", "vancouver")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(bundled)
    for number, (study, line) in enumerate(zip(bundled, lines, strict=True), start=1):
        c = study.citation
        found = re.fullmatch(
            r"(\d+)\. (.+?)\. (.+) (\d{4})(?:[;:].*?)?\.(?: doi:(\S+)\.)?(?: PMID: (\d+)\.)?",
            line,
        )
        assert found, line
        n, authors, middle, year, doi, pmid = found.groups()
        assert int(n) == number
        shown = [flat(a) for a in c.authors[:6]] + (["et al"] if len(c.authors) > 6 else [])
        assert authors.split(", ") == shown
        assert middle.startswith(flat(study.title).rstrip("."))
        assert middle.endswith(f" {flat(c.journal)}.")
        assert (int(year), doi, pmid) == (study.year, c.doi, c.pmid)


# ----------------------------------------------------------------------------- awkward text


def test_awkward_text_survives_every_style(runner: CliRunner, awkward: Path) -> None:
    authors = ["Dubský M", "Bém R", "van der Berg K", "Kim J-H", "王东", "Smith JA Jr"]

    bib = run(runner, "--style", "bibtex", registry_path=awkward).stdout
    entry = parse_bibtex(bib)["doe-2020-ckd"]
    assert bib_authors(entry) == authors
    assert untex(entry["title"]) == AWKWARD_TITLE
    assert entry["doi"] == "10.1000/a_b.1"  # verbatim: biblatex and \url read it as is
    assert entry["journal"] == r"Arthritis Research \& Therapy"

    record = rispy.loads(run(runner, "--style", "ris", registry_path=awkward).stdout)[0]
    assert [ris_author(a) for a in record["authors"]] == authors
    assert record["title"] == AWKWARD_TITLE

    items = json.loads(run(runner, "--style", "csl-json", registry_path=awkward).stdout)
    jsonschema.Draft7Validator(CSL_SCHEMA).validate(items)
    assert [csl_author(a) for a in items[0]["author"]] == authors
    assert items[0]["author"][2] == {"family": "van der Berg", "given": "K."}
    assert items[0]["author"][4] == {"literal": "王东"}
    assert items[0]["title"] == AWKWARD_TITLE

    line = run(runner, "--style", "vancouver", registry_path=awkward).stdout
    assert line.startswith(f"1. {', '.join(authors)}. {AWKWARD_TITLE}. Arthritis Research")


def test_latex_decoding_middleware_reads_the_common_escapes() -> None:
    """bibtexparser's own decoder (pylatexenc) agrees for the specials titles really contain."""
    title = "MSC & CKD: 50% of a_b #1 $2 in Dubský's trial"
    text = f"@article{{k,\n  title = {{{protect_title(title)}}}\n}}\n"
    library = bibtexparser.parse_string(text, append_middleware=[m.LatexDecodingMiddleware()])
    assert library.entries[0]["title"] == title


# ----------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("text", "family", "given", "suffix"),
    [
        ("Dubský M", "Dubský", "M.", ""),
        ("Jude EB", "Jude", "E. B.", ""),
        ("van der Berg K", "van der Berg", "K.", ""),
        ("de Salles EF", "de Salles", "E. F.", ""),
        ("Leite Junior M", "Leite Junior", "M.", ""),
        ("O'Brien T", "O'Brien", "T.", ""),
        ("Sanjar-Moussavi N", "Sanjar-Moussavi", "N.", ""),
        ("Kim J-H", "Kim", "J.-H.", ""),
        ("Smith JA Jr", "Smith", "J. A.", "Jr"),
        ("Émile É", "Émile", "É.", ""),
        ("王东", "王东", "", ""),
        ("Kidney Study Group", "Kidney Study Group", "", ""),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_parse_name(text: str, family: str, given: str, suffix: str) -> None:
    name = parse_name(text)
    assert (name.family, name.given(), name.suffix) == (family, given, suffix)
    assert name.literal == (given == "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jude EB", "Jude, E. B."),
        ("van der Berg K", "van der Berg, K."),
        ("Smith JA Jr", "Smith, Jr, J. A."),
        ("Kidney and Urology Group", "{Kidney and Urology Group}"),
        ("Lopez_Diaz A", r"Lopez\_Diaz, A."),
    ],
)
def test_bibtex_name(text: str, expected: str) -> None:
    assert bibtex_name(parse_name(text)) == expected


def test_latex_escape_every_special() -> None:
    assert latex_escape("& % _ # $ { } ~ ^ \\ é") == (
        r"\& \% \_ \# \$ \textbraceleft{} \textbraceright{} \textasciitilde{} "
        r"\textasciicircum{} \textbackslash{} é"
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("MSC for CKD, SLE, AKI, DKD and FSGS", "{MSC} for {CKD}, {SLE}, {AKI}, {DKD} and {FSGS}"),
        ("A phase I/II trial (NEPHSTROM)", "A phase {I/II} trial ({NEPHSTROM})"),
        ("hUC-MSC and mGFR in iPSC", "{hUC-MSC} and {mGFR} in {iPSC}"),
        ("CD34+ cells: A Long-Term Follow-Up", "{CD34}+ cells: A Long-Term Follow-Up"),
        ("R&D 50% a_b {x}", r"{R\&D} 50\% a\_b \textbraceleft{}x\textbraceright{}"),
        ("Dubský's  trial\nof cells", "Dubský's trial of cells"),
    ],
)
def test_protect_title(title: str, expected: str) -> None:
    assert protect_title(title) == expected


def test_a_long_title_token_is_protected_in_linear_time(tmp_path: Path) -> None:
    """A 200,000-character word, braced with its punctuation outside the braces.

    The word was split from its punctuation by one regex with a lazy middle, quadratic in a
    run of punctuation: 26 s for 50 KB, and about ten minutes for this. Split in two linear
    matches, it takes well under a second; the timeout only stops the old cost.
    """
    run = "!" * 200_000
    path = tmp_path / "long.toml"
    title = f'title = "A (MSC{run}x), study"'
    path.write_text(MINIMAL.replace('title = "A small study"', title), encoding="utf-8")
    result = run_program("--registry", str(path), "cite", "--style", "bibtex")
    assert result.returncode == 0, result.stderr
    assert f"  title = {{A ({{MSC{run}x}}), study}},\n" in result.stdout


@pytest.mark.parametrize(
    ("pages", "first", "last", "full", "nlm"),
    [
        ("1133-1140", "1133", "1140", "1133-1140", "1133-40"),
        ("1133-40", "1133", "1140", "1133-1140", "1133-40"),
        ("1436-1439", "1436", "1439", "1436-1439", "1436-9"),
        ("263\u2013269", "263", "269", "263-269", "263-9"),
        ("98-102", "98", "102", "98-102", "98-102"),
        ("17750-62", "17750", "17762", "17750-17762", "17750-62"),
        ("R79-85", "R79", "R85", "R79-R85", "R79-85"),
        ("12-12", "12", "12", "12", "12"),
        ("R79", "R79", None, "R79", "R79"),
        ("e.000028.01", "e.000028.01", None, "e.000028.01", "e.000028.01"),
        ("103324", "103324", None, "103324", "103324"),
        ("S1-S9", "S1", "S9", "S1-S9", "S1-9"),
    ],
)
def test_pages(pages: str, first: str, last: str | None, full: str, nlm: str) -> None:
    assert page_range(pages) == (first, last)
    assert expand_pages(pages) == full
    assert abbreviate_pages(pages) == nlm


def test_every_style_has_a_writer() -> None:
    assert set(STYLES) == {fmt.value for fmt in CITATION}


@pytest.mark.parametrize(
    ("style", "target", "expected"),
    [
        (None, None, Format.VANCOUVER),
        (None, "refs.bib", Format.BIBTEX),
        (None, "REFS.RIS", Format.RIS),
        (None, "refs.json", Format.CSL_JSON),
        (Format.RIS, "refs.bib", Format.RIS),
    ],
)
def test_choose_style(style: Format | None, target: str | None, expected: Format) -> None:
    options = OutputOptions(format=style, path=target)
    defaults = Defaults(Format.VANCOUVER, Format.VANCOUVER)
    assert choose_format(options, io.StringIO(), CITATION, defaults) == expected


def test_a_suffix_no_style_reads_is_a_usage_error() -> None:
    options = OutputOptions(path="refs.docx")
    with pytest.raises(UsageProblem, match=r"this command writes \.json, \.bib"):
        choose_format(
            options, io.StringIO(), CITATION, Defaults(Format.VANCOUVER, Format.VANCOUVER)
        )


def test_show_and_cite_share_one_reference(runner: CliRunner) -> None:
    """One place formats a citation: `show` prints the line `cite` numbers."""
    studies = registry.load([SEED])
    listed = run(runner, registry_path=SEED).stdout.splitlines()
    assert listed == [f"{n}. {reference(s)}" for n, s in enumerate(studies, start=1)]
    shown = runner.invoke(cli, ["--registry", str(SEED), "show", DUBSKY]).stdout
    assert reference(studies[0]) in shown
    assert short_citation(studies[0]) == "Dubský M et al., Diabetic Medicine 2019"
    assert render(studies[:1], "vancouver").startswith("1. Dubský M, Jirkovská A, Bem R,")


# ----------------------------------------------------------------------------- the command


def cited_ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [item["id"] for item in json.loads(result.stdout)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], [DUBSKY, RANJBAR, SHAO]),
        ([SHAO, DUBSKY], [SHAO, DUBSKY]),
        ([SHAO, SHAO], [SHAO]),
        (["--disease", "lupus"], [RANJBAR]),
        ([DUBSKY, SHAO, "--cell-type", "msc"], [SHAO]),
        (["--since", "2030"], []),
    ],
    ids=["all", "named-in-the-order-given", "repeated", "filter", "named-and-filter", "none"],
)
def test_named_ids_and_filters(runner: CliRunner, args: list[str], expected: list[str]) -> None:
    result = run(runner, *args, "--style", "csl-json", registry_path=SEED)
    assert cited_ids(result) == expected


def test_unknown_id_is_a_usage_error_with_suggestions(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "refs.bib"
    target.write_text("keep me", encoding="utf-8")
    result = run(runner, DUBSKY, "dubsky-2018", "-o", str(target), registry_path=SEED)
    assert result.exit_code == 2
    assert "no study with id 'dubsky-2018'" in result.stderr
    assert DUBSKY in result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refs.bib"]


def test_output_file_is_written_atomically_in_the_suffix_style(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "refs.bib"
    target.write_text("old", encoding="utf-8")
    result = run(runner, RANJBAR, "-o", str(target), registry_path=SEED)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert list(parse_bibtex(target.read_text(encoding="utf-8"))) == [RANJBAR]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refs.bib"]


def test_default_style_is_vancouver(runner: CliRunner) -> None:
    result = run(runner, DUBSKY, registry_path=SEED)
    assert result.stdout.startswith("1. Dubský M, Jirkovská A")
    assert result.stdout.count("\n") == 1


def test_style_is_case_insensitive(runner: CliRunner) -> None:
    result = run(runner, RANJBAR, "--style", "BibTeX", registry_path=SEED)
    assert result.stdout.startswith(f"@article{{{RANJBAR},")


# ----------------------------------------------------------------------------- properties


@given(first=st.integers(1, 10**6), length=st.integers(0, 10**4))
def test_abbreviated_pages_expand_back(first: int, length: int) -> None:
    pages = f"{first}-{first + length}"
    assert expand_pages(abbreviate_pages(pages)) == expand_pages(pages)
    assert page_range(pages) == (str(first), str(first + length))


@given(
    family=st.text(st.characters(categories=["Ll", "Lu"]), min_size=1, max_size=12),
    initials=st.text(st.sampled_from("ABCDÉŁŽ"), min_size=1, max_size=3),
)
def test_names_split_and_join_back(family: str, initials: str) -> None:
    text = f"{family} {initials}"
    name = parse_name(text)
    assert (name.family, name.initials) == (family, initials)
    assert nlm(name.family, name.given()) == text
