"""Writing a command's result: one format table, one choice of format, one `write`.

Every command hands `write` a `Result` whose parts are built lazily, only for the format
chosen: JSON never builds table cells, CSV never dumps whole records, and `show` builds its
document only for the formats that print one. Writers live in `writers`; what the columns
of each table hold lives in `tables`; `show`'s document in `study`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from stemrenal.models import Study
    from stemrenal.output.study import Document
    from stemrenal.output.tables import Table

NOT_REPORTED = "not reported"


class Format(str, Enum):
    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    JSONL = "jsonl"
    MARKDOWN = "markdown"
    BIBTEX = "bibtex"
    RIS = "ris"
    CSL_JSON = "csl-json"
    VANCOUVER = "vancouver"
    ROBVIS = "robvis"
    TEXT = "text"
    HTML = "html"
    SQLITE = "sqlite"
    TOML = "toml"
    SVG = "svg"
    PNG = "png"
    PDF = "pdf"


#: The formats of commands that print rows (list, outcomes, summary, vocab).
TABULAR = (Format.TABLE, Format.CSV, Format.TSV, Format.JSON, Format.JSONL, Format.MARKDOWN)
#: The formats of `show`: one study as a document, or its record.
DOCUMENT = (Format.TABLE, Format.JSON, Format.MARKDOWN)
#: `show` also writes the study back as registry TOML.
RECORD = (*DOCUMENT, Format.TOML)
#: The formats of `cite`: citation styles.
CITATION = (Format.BIBTEX, Format.RIS, Format.CSL_JSON, Format.VANCOUVER)
#: The formats of `brief`: a page to read or print.
PAGE = (Format.TEXT, Format.MARKDOWN, Format.HTML)
#: Figures (`map`, `rob`): drawn by the plotting extra, written as bytes.
FIGURES = (Format.SVG, Format.PNG, Format.PDF)

#: What a file's suffix asks for; where it names several, the first the command writes wins
#: (.json is JSON for `list`, CSL-JSON for `cite`).
SUFFIXES: dict[str, tuple[Format, ...]] = {
    ".csv": (Format.CSV,),
    ".tsv": (Format.TSV,),
    ".tab": (Format.TSV,),
    ".json": (Format.JSON, Format.CSL_JSON),
    ".jsonl": (Format.JSONL,),
    ".ndjson": (Format.JSONL,),
    ".md": (Format.MARKDOWN,),
    ".markdown": (Format.MARKDOWN,),
    ".bib": (Format.BIBTEX,),
    ".bibtex": (Format.BIBTEX,),
    ".ris": (Format.RIS,),
    ".txt": (Format.VANCOUVER, Format.TEXT, Format.TABLE),
    ".html": (Format.HTML,),
    ".htm": (Format.HTML,),
    ".toml": (Format.TOML,),
    ".db": (Format.SQLITE,),
    ".sqlite": (Format.SQLITE,),
    ".sqlite3": (Format.SQLITE,),
    ".svg": (Format.SVG,),
    ".png": (Format.PNG,),
    ".pdf": (Format.PDF,),
}


class OutputOptions(NamedTuple):
    """Everything the output options say, packed once for every command."""

    format: Format | None = None
    columns: tuple[str, ...] | None = None
    sort: str | None = None
    limit: int | None = None
    path: str | None = None
    header: bool = True
    bom: bool = False
    safe_csv: bool = False
    width: int | None = None  # --width: the table's width, on a terminal or not
    pager: bool = True  # --no-pager turns it off


class Result(NamedTuple):
    """What a command produced, each part built only when the chosen format needs it."""

    records: Callable[[], Any] | None = None  # JSON, JSONL
    table: Callable[[Format], Table] | None = None  # table, csv, tsv, markdown
    document: Callable[[], Document] | None = None  # one study: table (as text), markdown
    citations: Callable[[], Sequence[Study]] | None = None  # the citation styles
    figure: Callable[[Format], bytes] | None = None  # svg, png, pdf: the file's bytes
    page: Callable[[Format], str] | None = None  # text, markdown, html: the whole page
    database: Callable[[], bytes] | None = None  # sqlite: the database file's bytes


class Defaults(NamedTuple):
    """The format a command writes when neither --format nor a file suffix says."""

    terminal: Format = Format.TABLE
    piped: Format = Format.TSV


#: Rows: a table for a person, TSV for a pipe.
ROWS = Defaults()


def choose_format(
    options: OutputOptions,
    stream: TextIO,
    formats: Sequence[Format] = TABULAR,
    defaults: Defaults = ROWS,
) -> Format:
    """An explicit --format wins; then the --output suffix (a suffix the command cannot write
    is a usage error naming those it can); then the command's default."""
    chosen = _choose(options, stream, formats, defaults)
    if options.columns and chosen in (Format.JSON, Format.JSONL):
        from stemrenal.errors import UsageProblem

        raise UsageProblem(
            "JSON keeps whole records; --columns chooses table columns (table, csv, tsv, "
            "markdown). Pick JSON fields with jq, e.g. jq '.[] | {id, year}'",
            option="--columns",
        )
    return chosen


def _choose(
    options: OutputOptions, stream: TextIO, formats: Sequence[Format], defaults: Defaults
) -> Format:
    if options.format is not None:
        return options.format
    if options.path and options.path != "-":
        lowered = options.path.lower()
        for suffix, candidates in SUFFIXES.items():
            if lowered.endswith(suffix):
                for fmt in candidates:
                    if fmt in formats:
                        return fmt
        name = lowered.rsplit("/", 1)[-1]
        if "." in name.lstrip("."):
            from stemrenal.errors import UsageProblem

            known = [s for s, c in SUFFIXES.items() if any(f in formats for f in c)]
            raise UsageProblem(
                f"cannot tell the format from {options.path!r}: this command writes "
                f"{', '.join(known)}; or give --format",
                option="--output",
            )
    return defaults.terminal if is_terminal(stream) else defaults.piped


def _real(stream: TextIO) -> bool:
    """A terminal device behind a file descriptor (a pager can take it over), not a stand-in."""
    import os

    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):  # io.StringIO and test doubles
        return False


def is_terminal(stream: TextIO) -> bool:
    """True when a person is reading this stream directly."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def write(
    result: Result,
    options: OutputOptions,
    formats: Sequence[Format] = TABULAR,
    defaults: Defaults = ROWS,
) -> None:
    """Write one result in the chosen format, to stdout or atomically to --output."""
    from stemrenal.output.files import open_output
    from stemrenal.output.writers import WRITERS

    with open_output(options.path) as stream:
        fmt = choose_format(options, stream, formats, defaults)
        tty = is_terminal(stream)
        if tty and options.pager and fmt in (Format.TABLE, Format.TEXT) and _real(stream):
            import io

            from stemrenal.output.files import page

            screen = io.StringIO()
            WRITERS[fmt](result, fmt, options, screen, True)
            page(screen.getvalue(), stream)
        else:
            WRITERS[fmt](result, fmt, options, stream, tty)
