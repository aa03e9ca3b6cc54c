"""The writers: one per format, each fed a `Result` and writing plain strings.

Registry text is data: every cell and line passes through `text.strip_controls` (the one
sanitiser), Markdown through `markdown_escape` (one rule set), and Rich output wraps text in
`Text`, so nothing is read as markup. Rich is imported only here, and only by the writers
that draw for a person.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from stemrenal.output import NOT_REPORTED, Format, OutputOptions, Result
from stemrenal.output.tables import Cell, Table
from stemrenal.text import strip_controls

if TYPE_CHECKING:
    from stemrenal.output.study import Document

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: str) -> str:
    """Make a spreadsheet show a cell as text: prefix formula-like cells with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA) else value


def _flat(cell: Cell, sep: str = " | ") -> str:
    """One line of text for a cell; several items are joined with `sep`; None is empty."""
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else sep.join(cell)
    return text if text.isprintable() else strip_controls(text)


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
        # TSV has no quoting: strip_controls() already turned tabs and line breaks into spaces, and a
        # quote or an empty row is text like any other (csv.QUOTE_NONE would refuse both).
        stream.writelines("\t".join(row) + "\n" for row in rows)
    else:
        csv.writer(stream, lineterminator="\r\n").writerows(rows)


def markdown_escape(text: str) -> str:
    """Registry text as Markdown text, never markup: controls stripped; backslash, pipe and
    `<` escaped (a pipe would end a table cell, `<` could open HTML)."""
    text = strip_controls(text, multiline=True)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _md(cell: Cell) -> str:
    if isinstance(cell, tuple):
        cell = "\n".join(f"• {item}" for item in cell)
    text = markdown_escape(cell) if cell is not None else NOT_REPORTED
    return text.replace("\n", "<br>")


def write_markdown(table: Table, options: OutputOptions, stream: TextIO) -> None:
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
_RATIOS = {
    "limitations": 4, "finding": 4, "summary": 4, "result": 3, "title": 3, "population": 3,
    "safety": 3, "trial": 3,
}  # fmt: skip


def write_table(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    """The table for reading: Rich with borders on a terminal, aligned plain text elsewhere."""
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
        expand=terminal and not table.fit,
        show_header=options.header,
        show_lines=terminal,
        pad_edge=terminal,
        collapse_padding=not terminal,
    )
    # Short columns share what is left after ~40 cells for the long-text columns.
    short = sum(1 for name in table.headers if name not in _RATIOS) or 1
    narrow = min(40, max(10, (console.width - 40) // short))
    for name in table.headers:
        ratio = _RATIOS.get(name) if terminal and not table.fit else None
        rich_table.add_column(
            Text(name),
            overflow="fold",
            ratio=ratio,
            max_width=None if ratio or not terminal or table.fit else narrow,
            no_wrap=not terminal or table.fit,
        )
    for row in table.rows:
        rich_table.add_row(*(_rich_cell(cell, Text) for cell in row))
    console.print(rich_table)
    if table.caption:  # below the table at the console's width, not squeezed to the table's
        console.print(Text(strip_controls(table.caption, multiline=True)))


def _rich_cell(cell: Cell, text: Any) -> Any:
    """A Rich Text (never markup): items as bullets, None dimmed as "not reported"."""
    if cell is None:
        return text(NOT_REPORTED, style="dim")
    if isinstance(cell, tuple):
        return text("\n".join(f"• {strip_controls(item)}" for item in cell))
    return text(strip_controls(cell, multiline=True))


def write_json(records: Any, fmt: Format, stream: TextIO) -> None:
    """JSON: one document; JSONL: one record per line. Non-ASCII text stays readable."""
    import json  # here, not at the top: table, CSV and TSV output never need it

    if fmt is Format.JSONL:
        items = records if isinstance(records, list) else [records]
        stream.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    else:
        stream.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")


# ----------------------------------------------------------------------------- documents


def write_document_markdown(document: Document, stream: TextIO) -> None:
    parts = [f"# {markdown_escape(document.title)}", "", f"`{document.name}`"]
    for section in document.sections:
        parts += ["", f"## {section.heading}", ""]
        bullet = "- " if len(section.lines) > 1 or section.bulleted else ""
        parts += [bullet + markdown_escape(strip_controls(line)) for line in section.lines]
        parts += [f"- [{markdown_escape(label)}]({url})" for label, url in section.links]
    stream.write("\n".join(parts) + "\n")


def write_document_plain(document: Document, stream: TextIO) -> None:
    lines = [strip_controls(document.title), document.name]
    for section in document.sections:
        lines += ["", section.heading.upper()]
        lines += [f"  {strip_controls(line)}" for line in section.lines]
        lines += [f"  {label}: {url}" for label, url in section.links]
    stream.write("\n".join(lines) + "\n")


def write_document_rich(document: Document, stream: TextIO) -> None:
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    console = Console(file=stream, markup=False, emoji=False, highlight=False)
    console.print(Text(strip_controls(document.title), style="bold"))
    console.print(Text(document.name, style="dim"))
    for section in document.sections:
        console.print()
        console.print(Text(section.heading, style="bold underline"))
        bullet = "• " if len(section.lines) > 1 else ""
        for line in section.lines:
            console.print(Text(bullet + strip_controls(line)))
        for label, url in section.links:
            console.print(Text(label, style=Style(link=url, underline=True)))


# ----------------------------------------------------------------------------- dispatch

Writer = Callable[[Result, Format, OutputOptions, TextIO, bool], None]


def _needs(part: Callable[[], Any] | None, fmt: Format) -> Any:
    if part is None:  # the command's formats exclude this one (tests/test_output.py)
        raise ValueError(f"this command writes no {fmt.value}")
    return part()


def _readable(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """`table`: a table, or a document (Rich on a terminal, plain text elsewhere)."""
    if result.table is not None:
        write_table(result.table(fmt), options, out, tty)
    elif tty:
        write_document_rich(_needs(result.document, fmt), out)
    else:
        write_document_plain(_needs(result.document, fmt), out)


def _markdown(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    if result.page is not None:
        out.write(result.page(fmt))
    elif result.table is not None:
        write_markdown(result.table(fmt), options, out)
    else:
        write_document_markdown(_needs(result.document, fmt), out)


def _delimited(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    if result.table is None:
        raise ValueError(f"this command writes no {fmt.value}")
    write_delimited(result.table(fmt), options, out, tab=fmt is Format.TSV)


def _records(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    write_json(_needs(result.records, fmt), fmt, out)


def _citations(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    from stemrenal.cite.styles import render

    out.write(render(_needs(result.citations, fmt), fmt.value))


def _page(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """A whole page (`brief`): plain text, or self-contained HTML."""
    if result.page is None:
        raise ValueError(f"this command writes no {fmt.value}")
    out.write(result.page(fmt))


def _robvis(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """robvis's layout: CSV with a header whatever --no-header says (read.csv expects one)."""
    if result.table is None:
        raise ValueError(f"this command writes no {fmt.value}")
    write_delimited(result.table(fmt), options._replace(header=True), out, tab=False)


def _figure(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """A figure's bytes, to a file or a pipe; never onto a terminal."""
    from stemrenal.errors import UsageProblem

    if tty:
        raise UsageProblem(
            f"a {fmt.value} figure is binary; write it to a file with -o FILE.{fmt.value}",
            option="--format",
        )
    if result.figure is None:
        raise ValueError(f"this command writes no {fmt.value}")
    data = result.figure(fmt)
    out.flush()
    out.buffer.write(data)
    out.buffer.flush()


#: One writer for every format (tests/test_output.py checks that none is missing).
WRITERS: dict[Format, Writer] = {
    Format.TABLE: _readable,
    Format.CSV: _delimited,
    Format.TSV: _delimited,
    Format.MARKDOWN: _markdown,
    Format.JSON: _records,
    Format.JSONL: _records,
    Format.BIBTEX: _citations,
    Format.RIS: _citations,
    Format.CSL_JSON: _citations,
    Format.VANCOUVER: _citations,
    Format.ROBVIS: _robvis,
    Format.TEXT: _page,
    Format.HTML: _page,
    Format.SVG: _figure,
    Format.PNG: _figure,
    Format.PDF: _figure,
}
