"""The commands: each parses its options, asks the registry, and hands a result to `output.write`.

A body is a few lines: open the registry, select, build a lazy `output.Result`, write. What a
column holds is `output.tables`' business; what a filter means is `query`'s.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, get_args

import click

from stemrenal.appraisal import DESIGN_STRENGTH, SafetyKind
from stemrenal.cli.group import cli
from stemrenal.cli.options import KindType, StudyIdType, filter_options, output_options
from stemrenal.output import CITATION, DOCUMENT, FIGURES, PAGE, RECORD, TABULAR, Format

if TYPE_CHECKING:
    from typing import TextIO

    from stemrenal.errors import Problem
    from stemrenal.output import OutputOptions
    from stemrenal.query import Filters
    from stemrenal.registry import Inspection, Registry

NOTICE = "stemrenal summarises published research; it is not medical advice."


def _open(target: str | None, kinds: tuple[str, ...] = ("study",)) -> Registry:
    """The registry named by --registry (else the default), refusing an --output inside it.

    Only the record kinds the command prints are read (studies, unless it says otherwise).
    """
    from stemrenal import registry

    return registry.open_registry(_paths(), lazy=True, target=target, kinds=kinds)


def _paths() -> tuple[str, ...]:
    return tuple(click.get_current_context().find_root().obj or ())


def _notice(count: int, noun: str = "studies") -> None:
    """On a terminal only: the not-medical-advice line, and a note when nothing matched."""
    from stemrenal.output import is_terminal

    if is_terminal(sys.stderr):
        if count == 0:
            click.echo(f"No {noun} match these filters.", err=True)
        click.echo(NOTICE, err=True)


def _hint(text: str) -> None:
    """A pointer for a person at a terminal; never in a pipe."""
    from stemrenal.output import is_terminal

    if is_terminal(sys.stderr):
        click.echo(text, err=True)


@cli.command("list")
@filter_options
@output_options(
    formats=(*TABULAR, Format.SQLITE),
    format_help="Default: a table on a terminal, TSV otherwise (or from the --output suffix). "
    "sqlite (-o registry.db): the studies as a database of linked tables.",
)
def list_studies(filters: Filters, output: OutputOptions) -> None:
    """List the studies that match, one row each, with citation and limitations.

    \b
    Examples:
      stemrenal list --disease lupus --design rct
      stemrenal list -o registry.db && sqlite3 registry.db 'select design, count(*) from studies group by 1'
    """
    from stemrenal.output import write
    from stemrenal.output.tables import STUDIES
    from stemrenal.registry import batches, json_records

    STUDIES.check(output.columns)
    studies = _open(output.path).select(filters, output.sort, output.limit)
    result = STUDIES.result(studies, output.columns, batches)
    result = result._replace(records=lambda: json_records(studies))

    def database() -> bytes:
        from stemrenal.output.database import database as build

        return build(studies)

    write(result._replace(database=database), output, (*TABULAR, Format.SQLITE))
    _notice(len(studies))


@cli.command("outcomes")
@filter_options
@output_options()
def outcomes(filters: Filters, output: OutputOptions) -> None:
    """List reported outcomes, one row each; --endpoint also narrows the rows.

    \b
    Example:
      stemrenal outcomes --endpoint proteinuria
    """
    from stemrenal import query
    from stemrenal.output import write
    from stemrenal.output.tables import OUTCOMES, outcomes_result

    OUTCOMES.check(output.columns)
    studies = _open(output.path).select(filters, output.sort)
    pairs = query.outcome_rows(studies, filters)[: output.limit]
    write(outcomes_result(pairs, output.columns), output)
    if {"adverse-events", "mortality"} & set(filters.endpoints):
        _hint("Adverse events itemised by arm, with counts: stemrenal safety")
    _notice(len(pairs), "outcomes")


@cli.command("safety")
@filter_options
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(get_args(SafetyKind)),
    help="Only events of this kind (repeat for OR).",
)
@output_options()
def safety(filters: Filters, events: tuple[str, ...], output: OutputOptions) -> None:
    """List reported adverse events (deaths, serious events, infections...), one row each.

    Counts and denominators per arm where the source gives them, with the authors' judgement
    of relatedness. A study whose events are not itemised shows its safety text instead, so
    "no data" is never shown for a study that reported some.

    \b
    Examples:
      stemrenal safety --disease lupus
      stemrenal safety --event death --format csv
    """
    from stemrenal import query
    from stemrenal.output import write
    from stemrenal.output.tables import SAFETY

    SAFETY.check(output.columns)
    studies = _open(output.path).select(filters, output.sort)
    rows = query.safety_rows(studies, events)[: output.limit]
    write(SAFETY.result(rows, output.columns), output)
    _notice(len(rows), "safety events")


@cli.command("trials")
@filter_options
@output_options()
def trials(filters: Filters, output: OutputOptions) -> None:
    """List registered trials, above all those never reported: status, dates, enrolment.

    A trial is here when it is registered as a cell therapy in kidney disease and no results
    publication was found by the date it was last checked ("none-found"), which a reader needs
    to judge publication bias. The term filters, --min-n (planned enrolment) and --since /
    --until (start year) apply.

    \b
    Example:
      stemrenal trials --disease lupus
    """
    from stemrenal import query
    from stemrenal.output import write
    from stemrenal.output.tables import TRIALS

    TRIALS.check(output.columns)
    registry = _open(output.path, ("study", "trial"))
    chosen = query.order(query.select(registry.trials, filters), output.sort)
    chosen = chosen[: output.limit]
    write(TRIALS.result(chosen, output.columns), output)
    _notice(len(chosen), "trials")


@cli.command("about")
@output_options(
    sortable=False,
    formats=DOCUMENT,
    format_help="Default: formatted text on a terminal, plain text otherwise.",
)
def about(output: OutputOptions) -> None:
    """Say how the registry was built and what it holds: scope, searches, criteria, counts.

    The counts come from the registry itself, so they agree with `summary` and `trials`.

    \b
    Example:
      stemrenal about
    """
    from stemrenal import query
    from stemrenal.output import Defaults, Result, write
    from stemrenal.output.coverage import counts, coverage_document, coverage_record

    registry = _open(output.path, ("study", "trial", "excluded", "coverage"))
    numbers = counts(registry.summary(), registry.trials, registry.excluded)
    result = Result(
        records=lambda: coverage_record(registry.coverage, numbers),
        document=lambda: coverage_document(registry.coverage, numbers, query.COUNTING_NOTE),
    )
    write(result, output, DOCUMENT, Defaults(Format.TABLE, Format.TABLE))
    _notice(1)


@cli.command("summary")
@filter_options
@output_options(sortable=False)
def summary(filters: Filters, output: OutputOptions) -> None:
    """Count studies and participants by disease, cell source, cell type, tissue and design.

    Participants of overlapping studies are counted once (the largest study of each group).

    \b
    Example:
      stemrenal summary --design rct
    """
    from stemrenal import query
    from stemrenal.output import Result, write
    from stemrenal.output import tables as t

    names = t.choose_columns(output.columns, t.SUMMARY_COLUMNS, t.SUMMARY_COLUMNS)
    result = _open(output.path).summary(filters)
    write(
        Result(
            records=lambda: t.summary_record(result, query.COUNTING_NOTE),
            table=lambda fmt: t.project(t.summary_table(result, query.COUNTING_NOTE), names),
        ),
        output,
    )
    _notice(result.studies)


@cli.command("evidence")
@filter_options
@click.option(
    "--by",
    type=click.Choice(["endpoint", "disease"]),
    default="endpoint",
    show_default=True,
    help="One row per endpoint, or per disease and endpoint.",
)
@output_options(sortable=False)
def evidence(filters: Filters, by: str, output: OutputOptions) -> None:
    """Summarise the evidence per endpoint: what controlled comparisons found, kept apart
    from before/after results, with risk of bias and the certainty of the evidence.

    One row per endpoint (per disease and endpoint with --by disease), like a GRADE Summary
    of Findings: studies and participants (overlaps counted once) by design; how many
    controlled studies found the cells better, no different or worse than the control
    (primary outcomes counted); the same for studies with only before/after results; the
    risk of bias of the controlled studies; and the certainty record with its reasons, or
    "not assessed". Every filter applies; --endpoint, --primary and --comparison also narrow
    the outcomes counted.

    \b
    Example:
      stemrenal evidence --disease lupus
    """
    from stemrenal import synthesis
    from stemrenal.output import write
    from stemrenal.output.synthesis import EVIDENCE_COLUMNS, evidence_result
    from stemrenal.output.tables import choose_columns

    choose_columns(output.columns, list(EVIDENCE_COLUMNS), ())
    registry = _open(output.path, ("study", "certainty"))
    studies = registry.select(filters)
    rows = synthesis.evidence_rows(
        studies, filters, registry.certainties, by_disease=by == "disease"
    )
    write(evidence_result(rows, output.columns), output)
    _notice(len(rows), "outcomes")


@cli.command("map")
@filter_options
@click.option(
    "--columns-by",
    type=click.Choice(["cell-type", "cell-source", "tissue", "cell-class"]),
    default="cell-type",
    show_default=True,
    help="What the columns are.",
)
@click.option(
    "--colour-by",
    "--color-by",
    "colour_by",
    type=click.Choice(["design", "risk-of-bias"]),
    default="design",
    show_default=True,
    help="Figure only: colour bubbles by strongest design or by worst risk of bias.",
)
@output_options(
    sortable=False,
    formats=(*TABULAR, *FIGURES),
    format_help="Default: a grid on a terminal, TSV otherwise; svg, png or pdf draw the "
    "figure (also chosen by the --output suffix; needs the plot extra).",
)
def evidence_map(filters: Filters, columns_by: str, colour_by: str, output: OutputOptions) -> None:
    """Map the evidence: diseases by cell type (or source, tissue, class).

    Each cell gives studies and participants (overlaps counted once) and the strongest
    design, and marks "null" where controlled results found no benefit. On a terminal a
    grid; -o map.svg, map.png or map.pdf draws bubbles sized by participants, coloured by
    strongest design (or --colour-by risk-of-bias).

    \b
    Examples:
      stemrenal map
      stemrenal map --columns-by cell-class -o map.png
    """
    from stemrenal import synthesis
    from stemrenal.output import write
    from stemrenal.output.synthesis import MAP_COLUMNS, filters_caption, footnote, map_result
    from stemrenal.output.tables import choose_columns

    choose_columns(output.columns, list(MAP_COLUMNS), ())
    registry = _open(output.path, ("study", "coverage"))
    cells = synthesis.map_cells(registry.select(filters), columns_by, filters)
    title = f"Evidence map: disease by {columns_by.replace('-', ' ')} ({filters_caption(filters)})"

    def figure(fmt: Format) -> bytes:
        from stemrenal.output.figures import map_figure

        return map_figure(cells, columns_by, colour_by, title, footnote(registry.coverage), fmt)

    write(map_result(cells, columns_by, output.columns, figure), output, (*TABULAR, *FIGURES))
    _notice(len(cells), "studies")


@cli.command("rob")
@filter_options
@click.option(
    "--tool",
    type=click.Choice(["rob2", "robins-i"]),
    default="rob2",
    show_default=True,
    help="rob2 (randomized trials) or robins-i (non-randomized controlled studies).",
)
@output_options(
    sortable=False,
    formats=(*TABULAR, Format.ROBVIS, *FIGURES),
    format_help="Default: a table on a terminal, TSV otherwise. robvis: CSV in the layout "
    "robvis's rob_traffic_light() and rob_summary() read; svg, png or pdf draw the "
    "traffic-light plot (needs the plot extra).",
)
def rob(filters: Filters, tool: str, output: OutputOptions) -> None:
    """List risk-of-bias judgements domain by domain, one study per row, for one tool.

    Only studies judged with --tool are listed. Weight is participants enrolled (empty where
    not reported; use robvis's rob_summary(weighted = FALSE) then).

    \b
    Examples:
      stemrenal rob --format robvis -o rob2.csv
      stemrenal rob --tool robins-i -o robins-i.png
    """
    from stemrenal import synthesis
    from stemrenal.appraisal import TOOL_LABELS
    from stemrenal.output import write
    from stemrenal.output.synthesis import bias_result, filters_caption, footnote

    registry = _open(output.path, ("study", "coverage"))
    rows = synthesis.bias_rows(registry.select(filters, output.sort, output.limit), tool)
    title = f"Risk of bias ({TOOL_LABELS[tool]}): {filters_caption(filters)}"

    def figure(fmt: Format) -> bytes:
        from stemrenal.output.figures import traffic_light

        return traffic_light(rows, tool, title, footnote(registry.coverage), fmt)

    result = bias_result(rows, tool, output.columns, figure)
    write(result, output, (*TABULAR, Format.ROBVIS, *FIGURES))
    _notice(len(rows))


@cli.command("brief")
@filter_options
@click.option(
    "--lang",
    type=click.Choice(["en", "zh"]),
    default="en",
    show_default=True,
    help="The brief's own words in English or Simplified Chinese (registry text stays as "
    "recorded, in English).",
)
@output_options(
    sortable=False,
    formats=PAGE,
    format_help="Default: plain text, or from the --output suffix (.html, .md, .txt). html is "
    "one self-contained page that prints on A4 or Letter.",
)
def brief(filters: Filters, lang: str, output: OutputOptions) -> None:
    """Write a one-page plain-language brief for patients and families: what was studied, what
    the controlled trials found (null results included), what is known about safety, what
    remains uncertain and why, the terms explained, and the studies cited.

    \b
    Examples:
      stemrenal brief --disease lupus
      stemrenal brief --disease lupus --lang zh -o lupus-zh.html
    """
    from stemrenal import __version__
    from stemrenal.output import Defaults, Result, write
    from stemrenal.output import brief as page
    from stemrenal.output.synthesis import filters_caption

    registry = _open(output.path, ("study", "trial", "certainty", "coverage"))
    studies = registry.select(filters)
    wanted = set(filters.diseases)
    trials = [t for t in registry.trials if not wanted or wanted & set(t.conditions)]
    built = page.build(
        studies,
        filters,
        lang,
        certainties=registry.certainties,
        trials=trials,
        coverage=registry.coverage,
        version=__version__,
        filters_text=filters_caption(filters),
    )
    renderers = {
        Format.TEXT: page.plain_text,
        Format.MARKDOWN: page.markdown,
        Format.HTML: page.html,
    }
    write(
        Result(page=lambda fmt: renderers[fmt](built)),
        output,
        PAGE,
        Defaults(Format.TEXT, Format.TEXT),
    )
    _notice(len(studies))


@cli.command("check")
@click.argument("claims_file", metavar="CLAIMS_FILE", type=click.Path(exists=True, dir_okay=False))
@filter_options
@click.option(
    "--fail-on",
    multiple=True,
    type=click.Choice(["contradicts", "not-in-sources"]),
    help="Exit 1 when any claim shown has this verdict (repeat for either).",
)
@output_options(sortable=False)
def check(
    claims_file: str, filters: Filters, fail_on: tuple[str, ...], output: OutputOptions
) -> None:
    """Check an article's claims against the registry: each claim beside what the registry
    records, with its source and a verdict (agrees, contradicts, not-in-sources).

    CLAIMS_FILE records the article and each claim (the quote, a translation, the study and
    what it asserts; README: "Checking an article"). Structured claims are compared by the
    program; a claim that needs judgement carries the curator's verdict, marked as such.
    Filters keep the claims about the studies they select.

    \b
    Example:
      stemrenal check claims/seed-article-zh.toml --fail-on contradicts
    """
    from pathlib import Path

    from stemrenal import claims as checking
    from stemrenal.errors import ExitCode, RegistryError
    from stemrenal.output import Format, Result, write
    from stemrenal.output.claims import CHECKS, article_caption
    from stemrenal.registry.claims import read_claims

    CHECKS.check(output.columns)
    registry = _open(output.path)
    claims, problems = read_claims(Path(claims_file), {s.id for s in registry.studies})
    if claims is None:
        raise RegistryError(problems, "claims file")
    chosen = {s.id for s in registry.select(filters)}
    rows = [
        r
        for r in checking.check(claims, registry.studies)
        if all(i in chosen for i in ([r.claim.study] if r.claim.study else r.claim.studies))
    ]
    lazy = CHECKS.result(rows, output.columns)
    assert lazy.table is not None

    def table(fmt: Format) -> Any:
        built = lazy.table(fmt)  # type: ignore[misc]
        return (
            built._replace(caption=article_caption(claims, rows)) if fmt is Format.TABLE else built
        )

    write(Result(records=lazy.records, table=table), output)
    _notice(len(rows), "claims")
    if any(r.verdict in fail_on for r in rows):
        raise click.exceptions.Exit(ExitCode.DATA)


@cli.command("show")
@click.argument("study_id", metavar="ID", type=StudyIdType())
@output_options(
    sortable=False,
    formats=RECORD,
    format_help="Default: formatted text on a terminal, plain text otherwise "
    "(or from the --output file's suffix). toml: the study as registry TOML, to edit or copy.",
)
def show(study_id: str, output: OutputOptions) -> None:
    """Show one study in full: design, arms, outcomes, safety, limitations and citation.

    \b
    Example:
      stemrenal show ranjbar-2022-lupus-nephritis
    """
    from stemrenal.output import Defaults, Result, write
    from stemrenal.output.study import study_document

    study = _open(output.path).get(study_id)

    def toml(fmt: Format) -> str:
        from stemrenal.curate import need
        from stemrenal.curate.totoml import study_toml

        need("tomlkit")
        return study_toml(study)

    result = Result(
        records=lambda: study.model_dump(mode="json"),
        document=lambda: study_document(study),
        page=toml,
    )
    write(result, output, RECORD, Defaults(Format.TABLE, Format.TABLE))
    _notice(1)


@cli.command("cite")
@click.argument("study_ids", nargs=-1, metavar="[ID]...", type=StudyIdType())
@filter_options
@output_options(
    sortable=False,
    formats=CITATION,
    aliases=("--style",),
    format_help="Citation style. Default: from the --output suffix (.bib, .ris, .json, .txt), "
    "else vancouver.",
)
def cite(study_ids: tuple[str, ...], filters: Filters, output: OutputOptions) -> None:
    """Cite the named studies in the order given, or every study the filters select.

    An ID may be a study id (or a unique start of one), a PMID, a DOI or a registration id.

    Styles: bibtex (BibTeX/biblatex), ris (EndNote, Zotero, Mendeley), csl-json (Pandoc,
    citeproc) and vancouver (numbered ICMJE/NLM list, the default).

    \b
    Examples:
      stemrenal cite ranjbar-2022-lupus-nephritis
      stemrenal cite --disease lupus -o lupus.bib
    """
    from stemrenal.output import Defaults, Result, write

    registry = _open(output.path)
    named = list(dict.fromkeys(registry.get(study_id).id for study_id in study_ids))
    selected = registry.select(filters)
    if named:  # in the order asked for; a named study the filters leave out is said so
        kept = {s.id: s for s in selected}
        for study_id in named:
            if study_id not in kept:
                click.echo(f"stemrenal: {study_id} is left out by the filters", err=True)
        chosen = [kept[i] for i in named if i in kept]
    else:
        chosen = list(selected)
    write(
        Result(citations=lambda: chosen),
        output,
        CITATION,
        Defaults(Format.VANCOUVER, Format.VANCOUVER),
    )
    _notice(len(chosen))


@cli.command("vocab")
@click.argument(
    "kinds",
    nargs=-1,
    metavar="[KIND]...",
    type=KindType(),
)
@output_options(sortable=False)
def vocab(kinds: tuple[str, ...], output: OutputOptions) -> None:
    """List the accepted terms, with labels and aliases (English and Chinese).

    KIND is a vocabulary kind in the plural, e.g. diseases or cell-types (all kinds when none
    is given); a wrong one lists them all.

    \b
    Example:
      stemrenal vocab diseases
    """
    from stemrenal import vocabulary
    from stemrenal.output import Result, write
    from stemrenal.output import tables as t

    chosen = list(kinds) or list(vocabulary.kinds())
    terms = [term for kind in chosen for term in vocabulary.terms(kind)]
    names = t.choose_columns(output.columns, t.VOCAB_COLUMNS, t.VOCAB_COLUMNS)
    write(
        Result(
            records=lambda: t.vocab_records(terms),
            table=lambda fmt: t.project(t.vocab_table(terms), names),
        ),
        output,
    )


@cli.command("validate")
@click.argument(
    "paths", nargs=-1, metavar="[PATH]...", type=click.Path(exists=True, readable=False)
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also the content rules: a canonical source, a curator limitation, risk of bias for "
    "controlled designs, primary outcomes named, and a warning for cohorts that look shared "
    "but are not linked. Always on for the bundled registry.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per problem (file, line, record, id, field, message), for CI and "
    "editors.",
)
def validate(paths: tuple[str, ...], strict: bool, fmt: str) -> None:
    """Check registry files; print every problem as FILE:LINE: study ID: field: message.

    With no PATH: the --registry paths, else $STEMRENAL_REGISTRY, else the bundled registry.
    Problems come sorted by file and line. Exit 0 when clean, 1 when there is any problem.

    \b
    Examples:
      stemrenal validate data/studies.toml
      stemrenal validate --strict mystudy.toml
    """
    from stemrenal import registry
    from stemrenal.errors import ExitCode
    from stemrenal.output.files import open_output

    chosen = paths or _paths()
    found = registry.inspect(chosen, lazy=True)
    problems = list(found.problems)
    if (strict or not chosen) and not problems:  # the bundled registry is always strict
        problems += registry.strict_problems(found)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    with open_output(None) as out:  # stdout full or closed: one line, exit 1
        _report(out, found, problems, fmt, strict or not chosen)
    if problems:
        raise click.exceptions.Exit(ExitCode.DATA)


def _report(
    out: TextIO, found: Inspection, problems: list[Problem], fmt: str, strict: bool
) -> None:
    """`validate`'s report: every problem and their count, or what was checked."""
    from stemrenal.text import plural

    if fmt == "json":
        from stemrenal.output.writers import dumps

        records = [
            {"file": p.file, "line": p.line, "record": p.record, "id": p.study,
             "field": p.field, "message": p.message}
            for p in problems
        ]  # fmt: skip
        out.write(dumps(records) + "\n")
    else:
        out.writelines(f"{problem}\n" for problem in problems)
        if problems:
            out.write(f"{plural(len(problems), 'problem')} found\n")
        else:
            studies, files = len(found.studies), len(found.files)
            names = ", ".join(str(f) for f in found.files[:5]) + (
                ", ..." if len(found.files) > 5 else ""
            )
            mode = "strict, " if strict else ""
            out.write(
                f"ok: {plural(studies, 'study')} in {plural(files, 'file')} ({names}), "
                f"{mode}no problems\n"
            )


@cli.command("new")
@click.option(
    "--design",
    type=click.Choice(DESIGN_STRENGTH),
    required=True,
    help="The study's design: it decides the arms and the risk-of-bias tool in the skeleton.",
)
@click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically); never replaces one."
)
def new(design: str, output: str | None) -> None:
    """Print a complete, commented [[study]] to fill in, for one design.

    Every key is there, with what it means and where to find it in a paper; every value to
    supply is a TODO, which `validate` names until it is filled or deleted.

    \b
    Example:
      stemrenal new --design rct -o doe-2026.toml
    """
    from stemrenal.curate.skeleton import skeleton

    _write_new(skeleton(design), output)


@cli.command("import")
@click.argument("source", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--design",
    type=click.Choice(DESIGN_STRENGTH),
    default="single-arm",
    show_default=True,
    help="The design of the skeleton the citation goes into.",
)
@click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically); never replaces one."
)
def import_citation(source: str, design: str, output: str | None) -> None:
    """Draft a study from a citation export: RIS, PubMed .nbib or XML, CSL-JSON or BibTeX.

    Authors ("Surname AB"), title, journal, year, volume, issue, pages, DOI and PMID are filled
    from the export; everything else is a TODO in the skeleton of `stemrenal new`. Several
    references in one file give one draft each.

    \b
    Example:
      stemrenal import pubmed-28478399.nbib --design rct -o deng-2017.toml
    """
    from pathlib import Path

    from stemrenal.curate import importers
    from stemrenal.curate.skeleton import skeleton

    drafts = importers.read(Path(source))
    text = "\n".join(skeleton(design, d.citation(), d.title, d.year) for d in drafts)
    _write_new(text, output)


def _write_new(text: str, output: str | None) -> None:
    """New registry text: to stdout, or to a file that must not exist yet."""
    from pathlib import Path

    from stemrenal.errors import UsageProblem
    from stemrenal.output.files import open_output

    if output and Path(output).exists():
        raise UsageProblem(f"{output} exists; new text never replaces a file", option="--output")
    with open_output(output) as stream:
        stream.write(text)


@cli.command("fmt")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any file would change.")
def fmt_files(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite registry files in one layout, with canonical terms instead of aliases.

    Comments, key order and values are kept (tomlkit); an alias becomes its canonical term
    ("CKD" -> "chronic-kidney-disease"); trailing spaces and extra blank lines go. A file that
    does not parse is left untouched. With no PATH: the --registry paths.

    \b
    Examples:
      stemrenal fmt mystudies.toml
      stemrenal fmt --check data/
    """
    from stemrenal import registry
    from stemrenal.curate import need
    from stemrenal.curate.fmt import formatted_file
    from stemrenal.errors import ExitCode
    from stemrenal.output.files import open_output

    need("tomlkit")
    chosen = paths or _paths()
    if not chosen:
        raise click.UsageError("name the files to format (the bundled registry is read-only)")
    files, problems = registry.sources(chosen)
    failed = bool(problems)
    for problem in problems:
        click.echo(str(problem), err=True)
    pending = 0
    for path in files:
        try:
            text, result, changes = formatted_file(path)
        except ValueError as exc:  # one line; the other files are still formatted
            click.echo(str(exc), err=True)
            failed = True
            continue
        if result == text:
            continue
        pending += 1
        for change in changes:
            click.echo(f"{path}: {change.record}: {change.path}: {change.old!r} -> {change.new!r}")
        if check:
            click.echo(f"{path}: would be reformatted")
        else:
            with open_output(path) as stream:
                stream.write(result)
            click.echo(f"{path}: reformatted")
    if not pending and not failed:
        click.echo(f"ok: {len(files)} file(s) already formatted")
    if failed or (check and pending):
        raise click.exceptions.Exit(ExitCode.DATA)


@cli.command("schema")
def schema() -> None:
    """Print the registry's JSON Schema, for editors that check TOML as you type.

    \b
    Example:
      stemrenal schema > stemrenal.schema.json
    """
    from stemrenal.models import registry_json_schema
    from stemrenal.output import OutputOptions, Result, write

    formats = (Format.JSON,)
    write(Result(records=registry_json_schema), OutputOptions(format=Format.JSON), formats)
