"""Output formats: one writer per format, chosen through one table, fed plain strings.

Registry text is data: every cell passes through `clean` (the only sanitiser), and the
terminal table wraps cells in Rich `Text`, so nothing is read as markup. Rich is imported only
by the table writer.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple, TextIO

from stemrenal.columns import Cell, Table

NOT_REPORTED = "not reported"


class Format(str, Enum):
    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    JSONL = "jsonl"
    MARKDOWN = "markdown"


#: Formats whose output is the full record, not a table of columns.
RECORD_FORMATS = frozenset({Format.JSON, Format.JSONL})

_SUFFIXES = {
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
    ".tab": Format.TSV,
    ".json": Format.JSON,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
}


class OutputOptions(NamedTuple):
    """Everything the output options say, packed once for every command."""

    format: Format | None = None
    columns: tuple[str, ...] | None = None
    sort: str | None = None
    limit: int | None = None
    output: str | None = None
    header: bool = True
    bom: bool = False
    safe_csv: bool = False


def choose_format(options: OutputOptions, stream: TextIO) -> Format:
    """An explicit --format wins; then the --output suffix; then table on a terminal, else TSV."""
    if options.format is not None:
        return options.format
    if options.output:
        for suffix, fmt in _SUFFIXES.items():
            if options.output.lower().endswith(suffix):
                return fmt
    return Format.TABLE if is_terminal(stream) else Format.TSV


def is_terminal(stream: TextIO) -> bool:
    """True when a person is reading this stream directly."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\u2028\u2029]+")


def clean(value: str, multiline: bool = False) -> str:
    """Remove control characters (ESC, BEL, C1, bidi overrides); fold line breaks unless multiline.

    Multiline text keeps its newlines but not its tabs: a table cannot show a tab (Rich measures
    it as zero width and crops the text after it).
    """
    if value.isprintable():  # every character removed or replaced below is unprintable
        return value
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value)
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\t", " "))


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: str) -> str:
    """Make a spreadsheet show a cell as text: prefix formula-like cells with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA) else value


def _flat(cell: Cell, sep: str = " | ") -> str:
    """One line of text for a cell; several items are joined with `sep`; None is empty."""
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else sep.join(cell)
    return text if text.isprintable() else clean(text)


def _plain_cells(table: Table, options: OutputOptions) -> list[list[str]]:
    rows = [[_flat(cell) for cell in row] for row in table.rows]
    if options.safe_csv:
        rows = [[defuse(cell) for cell in row] for row in rows]
    return rows


def write_delimited(table: Table, options: OutputOptions, stream: TextIO, tab: bool) -> None:
    if options.bom:
        stream.write("\ufeff")
    rows = _plain_cells(table, options)
    if options.header:
        rows.insert(0, list(table.headers))
    if tab:
        # TSV has no quoting: clean() already turned tabs and line breaks into spaces, and a
        # quote or an empty row is text like any other (csv.QUOTE_NONE would refuse both).
        stream.writelines("\t".join(row) + "\n" for row in rows)
    else:
        csv.writer(stream, lineterminator="\r\n").writerows(rows)


def write_csv(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    write_delimited(table, options, stream, tab=False)


def write_tsv(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    write_delimited(table, options, stream, tab=True)


def _md(cell: Cell) -> str:
    if isinstance(cell, tuple):
        cell = "\n".join(f"• {item}" for item in cell)
    text = clean(cell, multiline=True) if cell is not None else NOT_REPORTED
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return text.replace("\n", "<br>")


def write_markdown(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    if options.bom:
        stream.write("\ufeff")
    lines = []
    if options.header:
        lines.append("| " + " | ".join(_md(h) for h in table.headers) + " |")
        lines.append("|" + "|".join(" --- " for _ in table.headers) + "|")
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table.rows]
    if table.caption:
        lines += ["", _md(table.caption)]
    stream.write("\n".join(lines) + "\n" if lines else "")


#: Share of the terminal width for long-text columns in the table (others get 1).
_RATIOS = {"limitations": 4, "finding": 4, "result": 3, "title": 3, "population": 3, "safety": 3}


def write_table(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    console = Console(
        file=stream,
        markup=False,
        emoji=False,
        highlight=False,
        force_terminal=terminal,
        width=None if terminal else 1_000_000,
        soft_wrap=not terminal,
    )
    rich_table = RichTable(
        box=box.ROUNDED if terminal else None,
        expand=terminal,
        show_header=options.header,
        show_lines=terminal,
        caption=Text(clean(table.caption)) if table.caption else None,
        pad_edge=terminal,
        collapse_padding=not terminal,
    )
    # Short columns share what is left after ~40 cells for the long-text columns.
    short = sum(1 for name in table.headers if name not in _RATIOS) or 1
    narrow = min(40, max(10, (console.width - 40) // short))
    for name in table.headers:
        ratio = _RATIOS.get(name) if terminal else None
        rich_table.add_column(
            Text(name),
            overflow="fold",
            ratio=ratio,
            max_width=None if ratio or not terminal else narrow,
            no_wrap=not terminal,
        )
    for row in table.rows:
        rich_table.add_row(*(_rich_cell(cell, Text) for cell in row))
    console.print(rich_table)


def _rich_cell(cell: Cell, text: Any) -> Any:
    """A Rich Text (never markup): items as bullets, None dimmed as "not reported"."""
    if cell is None:
        return text(NOT_REPORTED, style="dim")
    if isinstance(cell, tuple):
        return text("\n".join(f"• {clean(item)}" for item in cell))
    return text(clean(cell, multiline=True))


TableWriter = Callable[[Table, OutputOptions, TextIO, bool], None]

WRITERS: dict[Format, TableWriter] = {
    Format.TABLE: write_table,
    Format.CSV: write_csv,
    Format.TSV: write_tsv,
    Format.MARKDOWN: write_markdown,
}


def write_records(records: Any, fmt: Format, stream: TextIO) -> None:
    """JSON: one document; JSONL: one record per line. Non-ASCII text stays readable."""
    import json  # here, not at the top: table, CSV and TSV output never need it

    if fmt is Format.JSONL:
        items = records if isinstance(records, list) else [records]
        stream.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    else:
        stream.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")


def emit(
    options: OutputOptions,
    table: Callable[[Format], Table],
    records: Callable[[], Any],
) -> None:
    """Write one result in the chosen format, to stdout or atomically to --output.

    `table` and `records` are called lazily, so JSON output never builds strings for columns
    and CSV output never dumps whole records.
    """
    from stemrenal.output import open_output

    with open_output(options.output) as stream:
        fmt = choose_format(options, stream)
        if fmt in RECORD_FORMATS:
            write_records(records(), fmt, stream)
        else:
            WRITERS[fmt](table(fmt), options, stream, is_terminal(stream))
