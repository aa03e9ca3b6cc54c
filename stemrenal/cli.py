"""The command line: parse options, call the library, hand results to the writers.

Errors become exit codes in exactly one place, `StemrenalGroup.invoke`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import Any, NoReturn

import click

from stemrenal.citestyles import Style
from stemrenal.errors import ExitCode, RegistryError, StemrenalError, UsageProblem
from stemrenal.options import StudyIdType, filter_options, output_options
from stemrenal.query import Filters
from stemrenal.render import Format, OutputOptions

NOTICE = "stemrenal summarises published research; it is not medical advice."


class StemrenalGroup(click.Group):
    """Translates domain errors and Ctrl-C into exit codes, once, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        # A command is one short pass that makes many objects and almost no cyclic garbage:
        # the cyclic collector would only rescan the loaded registry (a third of the time of
        # a warm query on 10,000 studies). Reference counting still frees what is dropped.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except RegistryError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            count = len(exc.problems)
            raise click.ClickException(
                f"the registry has {count} problem{'s' if count != 1 else ''}; "
                "run `stemrenal validate` for the full list"
            ) from None
        except UsageProblem as exc:
            hint = [exc.option] if exc.option else None
            raise (
                click.BadParameter(str(exc), param_hint=hint)
                if hint
                else click.UsageError(str(exc))
            ) from None
        except StemrenalError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            if gc_was_enabled:
                gc.enable()


# ----------------------------------------------------------------------------- the group


@click.group(cls=StemrenalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--registry",
    type=click.Path(exists=True, dir_okay=True, readable=False),
    multiple=True,
    envvar="STEMRENAL_REGISTRY",
    metavar="PATH",
    help="Registry file or directory of *.toml (repeatable). Default: $STEMRENAL_REGISTRY "
    "(paths separated by the OS path separator), else the bundled registry.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read and validate every registry file afresh; neither read nor write the cache of "
    "validated files. Same as STEMRENAL_NO_CACHE=1.",
)
@click.version_option(package_name="stemrenal", prog_name="stemrenal")
@click.pass_context
def cli(ctx: click.Context, registry: tuple[str, ...], no_cache: bool) -> None:
    """What does the clinical evidence on stem-cell therapy in kidney disease show?

    Every result comes with its study's design, size, follow-up, citation and limitations.
    stemrenal informs; it gives no medical advice.

    \b
    Examples:
      stemrenal list --disease lupus
      stemrenal outcomes --endpoint proteinuria --format csv -o proteinuria.csv
      stemrenal show ranjbar-2022-lupus-nephritis
    """
    ctx.obj = tuple(registry)
    if no_cache:
        from stemrenal.cache import bypassed

        ctx.with_resource(bypassed())


def _registry_paths() -> tuple[str, ...]:
    obj = click.get_current_context().find_root().obj
    return tuple(obj or ())


def _notice(count: int, noun: str = "studies") -> None:
    """On a terminal only: the not-medical-advice line, and a note when nothing matched."""
    from stemrenal.render import is_terminal

    if is_terminal(sys.stderr):
        if count == 0:
            click.echo(f"No {noun} match these filters.", err=True)
        click.echo(NOTICE, err=True)


def main() -> None:
    """Entry point for a caller in-process: Ctrl-C before click takes over still exits 130."""
    try:
        cli(prog_name="stemrenal")
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitCode.INTERRUPTED)


def script() -> NoReturn:
    """The `stemrenal` program (console script, `python -m stemrenal`): `main`, then leave.

    Only the program itself leaves this way: a caller of `main` keeps its SystemExit.
    """
    try:
        main()
    except SystemExit as exc:  # click's standalone mode always ends this way
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """Exit at once, as `sys.exit(code)` would, without tearing the interpreter down.

    Everything a command wrote is flushed here and its files are closed already; what is left
    is freeing every object one by one and a last garbage collection, which cost a warm query
    on 10,000 studies about 12 ms (8% of its run) for nothing. So: flush, then `os._exit`.
    Nothing on the way registers an atexit handler (stemrenal, click and Rich have none).
    A stream closed before the program started is None here, as Python leaves it.
    """
    streams = [stream for stream in (sys.stdout, sys.stderr) if stream is not None]
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr and the status is 1
        status = 1
        if sys.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f"{code}\n")
    for stream in streams:
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            status = status or 1
    os._exit(status)


# ----------------------------------------------------------------------------- commands


@cli.command("list")
@filter_options
@output_options()
def list_studies(filters: Filters, output: OutputOptions) -> None:
    """List the studies that match, one row each, with citation and limitations.

    \b
    Example:
      stemrenal list --disease lupus --design rct
    """
    from stemrenal import report

    _notice(report.list_studies(_registry_paths(), filters, output))


@cli.command("outcomes")
@filter_options
@output_options()
def outcomes(filters: Filters, output: OutputOptions) -> None:
    """List reported outcomes, one row each; --endpoint also narrows the rows.

    \b
    Example:
      stemrenal outcomes --endpoint proteinuria
    """
    from stemrenal import report

    _notice(report.list_outcomes(_registry_paths(), filters, output), "outcomes")


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
    from stemrenal import report

    _notice(report.summary(_registry_paths(), filters, output))


@cli.command("show")
@click.argument("study_id", metavar="ID", type=StudyIdType())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"], case_sensitive=False),
    help="Default: formatted text on a terminal, plain text otherwise.",
)
@click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)
def show(study_id: str, fmt: str | None, output: str | None) -> None:
    """Show one study in full: design, arms, outcomes, safety, limitations and citation.

    \b
    Example:
      stemrenal show ranjbar-2022-lupus-nephritis
    """
    from stemrenal import report

    report.show(_registry_paths(), study_id, Format(fmt.lower()) if fmt else None, output)
    _notice(1)


@cli.command("cite")
@click.argument("study_ids", nargs=-1, metavar="[ID]...", type=StudyIdType())
@filter_options
@click.option(
    "--style",
    type=click.Choice([s.value for s in Style], case_sensitive=False),
    help="Citation style. Default: from the --output suffix (.bib, .ris, .json, .txt), "
    "else vancouver.",
)
@click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)
def cite(
    study_ids: tuple[str, ...], filters: Filters, style: str | None, output: str | None
) -> None:
    """Cite the named studies, or every study the filters select, in registry order.

    Styles: bibtex (BibTeX/biblatex), ris (EndNote, Zotero, Mendeley), csl-json (Pandoc,
    citeproc) and vancouver (numbered ICMJE/NLM list, the default).

    \b
    Examples:
      stemrenal cite ranjbar-2022-lupus-nephritis
      stemrenal cite --disease lupus -o lupus.bib
    """
    from stemrenal import report

    chosen = Style(style.lower()) if style else None
    _notice(report.cite(_registry_paths(), study_ids, filters, chosen, output))


@cli.command("vocab")
@click.argument(
    "kinds",
    nargs=-1,
    metavar="[diseases|endpoints|cell-types|cell-sources|tissues|designs]...",
    type=click.Choice(
        ["diseases", "endpoints", "cell-types", "cell-sources", "tissues", "designs"]
    ),
)
@output_options(sortable=False)
def vocab(kinds: tuple[str, ...], output: OutputOptions) -> None:
    """List the accepted terms, with labels and aliases (English and Chinese).

    \b
    Example:
      stemrenal vocab diseases
    """
    from stemrenal import report

    report.vocab(kinds, output)


@cli.command("validate")
@click.argument(
    "paths", nargs=-1, metavar="[PATH]...", type=click.Path(exists=True, readable=False)
)
def validate(paths: tuple[str, ...]) -> None:
    """Check registry files; print every problem as FILE:LINE: study ID: field: message.

    With no PATH: the --registry paths, else $STEMRENAL_REGISTRY, else the bundled registry.
    Exit 0 when clean, 1 when there is any problem.

    \b
    Example:
      stemrenal validate data/studies.toml
    """
    from stemrenal import report

    if report.validate(paths or _registry_paths()):
        raise click.exceptions.Exit(ExitCode.DATA)


@cli.command("schema")
def schema() -> None:
    """Print the registry's JSON Schema, for editors that check TOML as you type.

    \b
    Example:
      stemrenal schema > stemrenal.schema.json
    """
    from stemrenal import report

    report.schema()
