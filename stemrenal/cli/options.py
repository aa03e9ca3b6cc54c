"""Options shared by several commands, and the parameter types behind them.

Each shared group of options is declared once and packed into one value object
(`Filters`, `OutputOptions`), so command signatures stay short.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from stemrenal.appraisal import RANK
from stemrenal.facets import TERM_FILTERS
from stemrenal.output import TABULAR, Format, OutputOptions
from stemrenal.query import Filters

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])


# ----------------------------------------------------------------------------- parameter types


def _local_terms(ctx: click.Context) -> None:
    """Add the vocabulary file beside the registry in use (--registry or the environment)."""
    import os

    from stemrenal import registry

    paths = ctx.find_root().params.get("registry") or ()
    if not paths and os.environ.get(registry.ENV_VAR):
        paths = tuple(p for p in os.environ[registry.ENV_VAR].split(os.pathsep) if p)
    if paths:
        registry.sources(paths)


class TermType(click.ParamType[str]):
    """A vocabulary term: any alias, English or Chinese, resolved to its canonical id."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from stemrenal import vocabulary

        found = vocabulary.lookup(self.kind, str(value))
        if found is None and ctx is not None:  # perhaps a term of the registry's own vocabulary
            _local_terms(ctx)
            found = vocabulary.lookup(self.kind, str(value))
        if found is None:
            from stemrenal.text import did_you_mean

            elsewhere = vocabulary.redirect(self.kind, str(value))
            if elsewhere is not None:
                self.fail(f"{value!r}: {elsewhere}", param, ctx)
            hint = did_you_mean(vocabulary.suggest(self.kind, str(value)))
            self.fail(
                f"unknown {self.kind} term {value!r}.{hint} "
                f"(`stemrenal vocab {self.kind}s` lists them)",
                param,
                ctx,
            )
        return found

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        from stemrenal import vocabulary

        typed = incomplete.casefold()
        return [
            CompletionItem(term.id, help=term.label)
            for term in vocabulary.terms(self.kind)
            if term.id.startswith(typed)
            or any(alias.casefold().startswith(typed) for alias in term.aliases)
        ]


class KindType(click.ParamType[str]):
    """A vocabulary kind in the plural (diseases, cell-types...), read from the vocabulary."""

    name = "kind"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from stemrenal import vocabulary

        plurals = vocabulary.plurals()
        if value not in plurals:
            self.fail(f"{value!r} is not one of {', '.join(plurals)}", param, ctx)
        return plurals[value]

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        from stemrenal import vocabulary

        return [CompletionItem(p) for p in vocabulary.plurals() if p.startswith(incomplete)]


class DurationType(click.ParamType[float]):
    """A duration as people type it (8w, 6 months, 1.5y), in months."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from stemrenal.durations import parse_duration

        if isinstance(value, float):
            return value
        text = str(value).strip()
        if text.replace(".", "", 1).isdigit():  # a bare number is months, as the README says
            text += " months"
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class StudyIdType(click.ParamType[str]):
    """A study id; completes from the registry in use."""

    name = "study-id"

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        from stemrenal import registry

        paths = ctx.find_root().params.get("registry") or ()
        studies = registry.inspect(paths, lazy=True, kinds=("study",)).studies
        return [CompletionItem(s.id) for s in studies if s.id.startswith(incomplete)]


# ----------------------------------------------------------------------------- shared options


def _stack(options: Sequence[Callable[[F], F]], fn: F) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def _terms(kind: str, flag: str, dest: str, what: str) -> Callable[[F], F]:
    return click.option(
        flag, dest, type=TermType(kind), multiple=True, help=f"{what} (repeat for OR; any alias)."
    )


_FILTERS = [
    *(_terms(t.kind, f"--{t.kind}", t.field, t.help) for t in TERM_FILTERS),
    click.option(
        "--min-followup",
        type=DurationType(),
        help="Follow-up at least, e.g. 12 (months), 12m, 1y.",
    ),
    click.option("--max-followup", type=DurationType(), help="Follow-up at most, e.g. 8w."),
    click.option("--min-n", type=click.IntRange(min=0), help="At least N participants enrolled."),
    click.option("--since", type=int, metavar="YEAR", help="Published in or after YEAR."),
    click.option("--until", type=int, metavar="YEAR", help="Published in or before YEAR."),
    click.option(
        "--search",
        multiple=True,
        metavar="TEXT",
        help="Case-insensitive text in title, authors, population, intervention or limitations.",
    ),
    click.option(
        "--exclude-cell-free",
        is_flag=True,
        help="Leave out products that are not cells (e.g. extracellular vesicles).",
    ),
    click.option(
        "--ckd-stage",
        "ckd_stages",
        type=click.IntRange(1, 5),
        multiple=True,
        metavar="N",
        help="Inclusion covers CKD stage N (stated, or by its eGFR range); repeat for OR.",
    ),
    click.option("--dialysis", is_flag=True, help="Only populations on dialysis when enrolled."),
    click.option(
        "--refractory",
        is_flag=True,
        help="Only populations refractory to standard therapy (by inclusion).",
    ),
    click.option(
        "--primary",
        is_flag=True,
        help="Primary outcomes only (named primary by the paper or its registration).",
    ),
    click.option(
        "--comparison",
        "comparisons",
        type=click.Choice(["between-groups", "within-group"]),
        multiple=True,
        help="between-groups (arms compared) or within-group (before/after) outcomes.",
    ),
    click.option(
        "--risk-of-bias",
        type=click.Choice(list(RANK)),
        metavar="LEVEL",
        help="Controlled studies judged at most LEVEL: low, some-concerns (RoB 2) = moderate "
        "(ROBINS-I), high = serious, critical.",
    ),
]


def _possible(values: dict[str, Any]) -> None:
    """A range that nothing can fall in is a mistake, not an empty answer."""
    for low, high, names in (
        ("since", "until", "--since/--until"),
        ("min_followup", "max_followup", "--min-followup/--max-followup"),
    ):
        if values[low] is not None and values[high] is not None and values[low] > values[high]:
            raise click.UsageError(
                f"{names}: {values[low]:g} is after {values[high]:g}, so nothing can match"
            )


def filter_options(fn: F) -> F:
    """Add the shared filters and pass them on as one `filters: Filters` argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in Filters._fields}
        for name, value in values.items():
            if isinstance(value, list):
                values[name] = tuple(value)
        _possible(values)
        return fn(*args, filters=Filters(**values), **kwargs)

    return cast(F, _stack(_FILTERS, wrapper))


_FORMAT_HELP = (
    "Output format. Default: table on a terminal, tsv otherwise "
    "(or from the --output file's suffix)."
)


def _complete_columns(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Column names of the command being completed, after the last comma typed."""
    from click.shell_completion import CompletionItem

    from stemrenal.output.tables import columns_of

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    names = [*columns_of(ctx.command.name or ""), "all", "help"]
    return [CompletionItem(prefix + n) for n in names if n.startswith(last)]


def _complete_sort(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from stemrenal.query import SORT_KEYS

    keys = [*SORT_KEYS, *(f"-{k}" for k in SORT_KEYS)]
    return [CompletionItem(k) for k in keys if k.startswith(incomplete)]


def output_options(
    sortable: bool = True,
    formats: Sequence[Format] = TABULAR,
    format_help: str = _FORMAT_HELP,
    aliases: Sequence[str] = (),
) -> Callable[[F], F]:
    """Add the output options and pass them on as one `output: OutputOptions` argument.

    The only --format and --output of every command; the table options (--columns,
    --no-header, --bom, --safe-csv) only where `formats` holds a table format.
    """
    tabular = any(fmt in formats for fmt in (Format.CSV, Format.TSV))
    options: list[Callable[[F], F]] = [
        click.option(
            "--format",
            *aliases,
            "fmt",
            type=click.Choice([f.value for f in formats], case_sensitive=False),
            help=format_help,
        )
    ]
    if tabular:
        options.append(
            click.option(
                "--columns",
                metavar="A,B,...",
                shell_complete=_complete_columns,
                help="Columns to show, in order (table, csv, tsv, markdown); all for every "
                "column; an unknown name lists the valid ones.",
            )
        )
    if sortable:
        options += [
            click.option(
                "--sort",
                metavar="KEY",
                shell_complete=_complete_sort,
                help="Sort by id, year, n, follow-up, design (strongest evidence first: RCT, "
                "non-randomized controlled, single-arm, case series), title or author; prefix - "
                "to reverse. Default: registry order (grouped by disease, as curated).",
            ),
            click.option("--limit", type=click.IntRange(min=0), help="Show at most N rows."),
        ]
    options.append(
        click.option(
            "--output",
            "-o",
            metavar="FILE",
            type=click.Path(dir_okay=False, allow_dash=True),  # completes file names
            help="Write to FILE (atomically) instead of stdout.",
        )
    )
    readable = any(fmt in formats for fmt in (Format.TABLE, Format.TEXT))
    if readable:
        options += [
            click.option(
                "--width",
                type=click.IntRange(min=40, max=1000),
                help="Draw tables this many columns wide (default: the terminal's).",
            ),
            click.option(
                "--no-pager",
                is_flag=True,
                help="On a terminal, never page output taller than the screen ($PAGER, else less).",
            ),
        ]
    if tabular:
        options += [
            click.option("--no-header", is_flag=True, help="Leave out the header row."),
            click.option(
                "--bom", is_flag=True, help="Start with a UTF-8 byte-order mark (for spreadsheets)."
            ),
            click.option(
                "--safe-csv",
                is_flag=True,
                help="Prefix cells starting with = + - @ with ' so spreadsheets show them as text.",
            ),
        ]

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            fmt = kwargs.pop("fmt")
            columns = kwargs.pop("columns", None)
            output = OutputOptions(
                format=Format(fmt.lower()) if fmt else None,
                columns=tuple(c.strip() for c in columns.split(",") if c.strip())
                if columns
                else None,
                sort=kwargs.pop("sort", None),
                limit=kwargs.pop("limit", None),
                path=kwargs.pop("output"),
                header=not kwargs.pop("no_header", False),
                bom=kwargs.pop("bom", False),
                safe_csv=kwargs.pop("safe_csv", False),
                width=kwargs.pop("width", None),
                pager=not kwargs.pop("no_pager", False),
            )
            from stemrenal.output.tables import set_width

            set_width(output.width)  # every run sets it, so one run's --width never leaks
            if output.path and output.path != "-":  # the one check: no command writes a registry
                from stemrenal.registry import Registry

                root = click.get_current_context().find_root()
                Registry(tuple(root.obj or ()), ()).refuse_target(output.path)
            return fn(*args, output=output, **kwargs)

        return cast(F, _stack(options, wrapper))

    return decorate
