"""The writers: one per format, each fed a `Result` and writing plain strings.

Registry text is data: every cell and line passes through `text.strip_controls` (the one
sanitiser), Markdown through `markdown_escape` (one rule set), and Rich output wraps text in
`Text`, so nothing is read as markup. Rich is imported only here, and only by the writers
that draw for a person.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from stemrenal.output import NOT_REPORTED, Format, OutputOptions, Result
from stemrenal.output.tables import Cell, Table, terminal_width
from stemrenal.text import JSONText, safe_url, strip_controls

if TYPE_CHECKING:
    from stemrenal.output.study import Document

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: str) -> str:
    """Make a spreadsheet show a cell as text: prefix formula-like cells with an apostrophe,
    also when wrapped in quotes (a TSV importer strips them, then evaluates what is inside)."""
    return "'" + value if value.lstrip('"').startswith(_FORMULA) else value


def _flat(cell: Cell, sep: str = " | ") -> str:
    """One line of text for a cell; several items are joined with `sep`; None is empty."""
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else sep.join(cell)
    return strip_controls(text)  # quick for the usual printable cell


def _plain_cells(table: Table, options: OutputOptions) -> Iterator[list[str]]:
    """Each row as one line's cells, made as it is written (a streamed table is never held)."""
    rows = table.rows if table.stream is None else table.stream
    for row in rows:
        cells = [_flat(cell) for cell in row]
        yield [defuse(cell) for cell in cells] if options.safe_csv else cells


def write_delimited(table: Table, options: OutputOptions, stream: TextIO, tab: bool) -> None:
    if options.bom:
        stream.write("\ufeff")
    rows = _plain_cells(table, options)
    if options.header:
        rows = itertools.chain([list(table.headers)], rows)
    if tab:
        # TSV has no quoting: strip_controls() already turned tabs and line breaks into spaces, and a
        # quote or an empty row is text like any other (csv.QUOTE_NONE would refuse both).
        stream.writelines("\t".join(row) + "\n" for row in rows)
    else:
        import csv  # here: only CSV output needs it

        csv.writer(stream, lineterminator="\r\n").writerows(rows)


def markdown_escape(text: str) -> str:
    """Registry text as Markdown text, never markup: controls stripped; backslash, pipe, `<`
    and brackets escaped (a pipe would end a table cell, `<` could open HTML, `[...](...)`
    and `![...](...)` would make a link or load an image)."""
    text = strip_controls(text, multiline=True)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return text.replace("[", "\\[").replace("]", "\\]")


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
    "limitations": 4, "finding": 4, "outcome": 4, "summary": 4, "result": 3, "title": 3, "population": 3,
    "safety": 3, "trial": 3,
}  # fmt: skip


def write_table(table: Table, options: OutputOptions, stream: TextIO, terminal: bool) -> None:
    """The table for reading: Rich with borders on a terminal, aligned plain text elsewhere.

    On a terminal every cell is wrapped to its column before Rich draws it, at spaces and
    after hyphens, so an id, a term or a number is never cut inside a word (Rich alone folds
    a word that does not fit at any character).
    """
    width = options.width or (terminal_width() if terminal else 1_000_000)
    console = _console(stream, terminal, width)
    if terminal and width < _NARROWEST:  # no room for columns: one field per line
        _stacked(table, stream, width)
        return
    rich_table = _rich_table(table, options, console, terminal)
    if terminal:
        # As Rich lays it out: the console's width less the borders (Table._extra_width).
        room = console.options.update_width(console.width - rich_table._extra_width)
        widths = rich_table._calculate_column_widths(console, room)
        if sum(widths) > room.max_width:  # the minimums did not fit: Rich shrinks them again
            probe = _rich_table(table, options, console, terminal, widths)
            widths = probe._calculate_column_widths(console, room)
        rich_table = _rich_table(table, options, console, terminal, widths)
    console.print(rich_table)
    if table.caption:  # below the table at the console's width, not squeezed to the table's
        from rich.text import Text

        console.print(Text(strip_controls(table.caption, multiline=True)))


#: Below this many columns a bordered table shows borders and no data: records are stacked.
_NARROWEST = 40


def _stacked(table: Table, stream: TextIO, width: int) -> None:
    """Each row as `column: value` lines, wrapped to the width, rows apart by a blank line
    (very narrow terminals)."""
    from stemrenal.text import wrap

    blocks = []
    for row in table.rows:
        lines = []
        for name, cell in zip(table.headers, row, strict=True):
            text = NOT_REPORTED if cell is None else _flat(cell, "; ")
            lines += wrap(f"{name}: {text}", max(width, 10), "", "  ")
        blocks.append("\n".join(lines))
    stream.write("\n\n".join(blocks) + ("\n" if blocks else ""))
    if table.caption:
        stream.write(strip_controls(table.caption) + "\n")


def _console(stream: TextIO, terminal: bool, width: int) -> Any:
    """The one way Rich is set up here: no markup, emoji or highlighting, a given width."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            """The reader left: raise, so the program ends as every format does (141);
            Rich's own exits 1."""
            raise BrokenPipeError

    return _Console(
        file=stream,
        markup=False,
        emoji=False,
        highlight=False,
        force_terminal=terminal,
        width=width,
        soft_wrap=not terminal,
    )


def _rich_table(
    table: Table,
    options: OutputOptions,
    console: Any,
    terminal: bool,
    widths: list[int] | None = None,
) -> Any:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

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
    for index, name in enumerate(table.headers):
        ratio = _RATIOS.get(name) if terminal and not table.fit and not widths else None
        fixed = widths[index] if widths else None  # the first pass's width, padding included
        least = _longest_word(name, table.rows, index) + 2 if terminal and not fixed else None
        rich_table.add_column(
            Text(name),
            overflow="fold",
            ratio=ratio,
            width=fixed,
            min_width=least,
            max_width=None
            if ratio or fixed or not terminal or table.fit
            else max(narrow, least or 0),
            no_wrap=not terminal or table.fit,
        )
    for row in table.rows:
        if widths:
            cells = [_rich_cell(c, Text, widths[i] - 2) for i, c in enumerate(row)]
        else:
            cells = [_rich_cell(c, Text) for c in row]
        rich_table.add_row(*cells)
    return rich_table


_PIECES = re.compile(r"\s+|(?<=-)")


def _longest_word(header: str, rows: Sequence[tuple[Cell, ...]], index: int) -> int:
    """The widest piece of a column that wrapping cannot break (at spaces or after hyphens),
    header included, capped so that one long word cannot take the whole table."""
    longest = max((len(p) for p in _PIECES.split(header)), default=0)
    for row in rows[:200]:  # enough to know a column; a 10,000-row table is not measured twice
        cell = row[index]
        for text in (cell,) if isinstance(cell, str) else (cell or ()):
            longest = max(longest, max((len(p) for p in _PIECES.split(text)), default=0))
    return min(longest, 24)


def fold_cell(text: str, width: int, indent: str = "") -> str:
    """Lines of at most `width` characters, broken at spaces or after hyphens; a word with
    no such place to break is cut only when it is longer than the whole column."""
    import textwrap

    if width < 1:
        return text
    lines = []
    for line in text.split("\n"):
        lines += textwrap.wrap(
            line, width, subsequent_indent=indent, break_on_hyphens=True, break_long_words=True
        ) or [""]
    return "\n".join(lines)


def _rich_cell(cell: Cell, text: Any, width: int | None = None) -> Any:
    """A Rich Text (never markup): items as bullets, None dimmed as "not reported"; wrapped
    to `width` when given (see `write_table`)."""
    if cell is None:
        return text(NOT_REPORTED, style="dim")
    if isinstance(cell, tuple):
        items = [f"• {strip_controls(item)}" for item in cell]
        if width:
            items = [fold_cell(item, width, "  ") for item in items]
        return text("\n".join(items))
    clean = strip_controls(cell, multiline=True)
    return text(fold_cell(clean, width) if width else clean)


def dumps(value: Any, *, indent: bool = True) -> str:
    """The one JSON encoder of every command: compact, or indented by two spaces; non-ASCII
    text stays readable. orjson, not `json`: CPython's encoder falls back to pure Python to
    indent, which was 90% of a large export's time."""
    import orjson

    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, option=option, default=_jsonable).decode()


def _jsonable(value: Any) -> Any:
    """What orjson does not encode itself: tuples of a named kind, as JSON arrays."""
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def write_json(records: Any, fmt: Format, stream: TextIO) -> None:
    """JSON: one document; JSONL: one record per line. A list or any other iterable of records
    is written record by record, so a large export never holds its whole text; a record
    already serialised (`JSONText`) is written as it is, or indented."""
    import orjson

    if isinstance(records, (dict, str, int, float, type(None))):
        if fmt is Format.JSONL and isinstance(records, dict):
            stream.write(dumps(records, indent=False) + "\n")
        else:
            stream.write(dumps(records) + "\n")
        return
    items = [records] if isinstance(records, JSONText) else records
    if fmt is Format.JSONL:
        stream.writelines(
            (item.text if isinstance(item, JSONText) else dumps(item, indent=False)) + "\n"
            for item in items
        )
        return
    opened = False
    for item in items:
        text = dumps(orjson.loads(item.text) if isinstance(item, JSONText) else item)
        stream.write((",\n  " if opened else "[\n  ") + text.replace("\n", "\n  "))
        opened = True
    stream.write("\n]\n" if opened else "[]\n")


# ----------------------------------------------------------------------------- documents


def write_document_markdown(document: Document, stream: TextIO) -> None:
    parts = [f"# {markdown_escape(document.title)}", "", f"`{document.name}`"]
    for section in document.sections:
        parts += ["", f"## {section.heading}", ""]
        bullet = "- " if len(section.lines) > 1 or section.bulleted else ""
        parts += [bullet + markdown_escape(strip_controls(line)) for line in section.lines]
        parts += [f"- [{markdown_escape(label)}]({safe_url(url)})" for label, url in section.links]
    stream.write("\n".join(parts) + "\n")


def write_document_plain(document: Document, stream: TextIO) -> None:
    lines = [strip_controls(document.title), document.name]
    for section in document.sections:
        lines += ["", section.heading.upper()]
        lines += [f"  {strip_controls(line)}" for line in section.lines]
        lines += [f"  {label}: {url}" for label, url in section.links]
    stream.write("\n".join(lines) + "\n")


def write_document_rich(document: Document, stream: TextIO) -> None:
    from rich.style import Style
    from rich.text import Text

    console = _console(stream, True, terminal_width())
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
    if result.table is not None:
        write_markdown(result.table(fmt), options, out)
    elif result.document is not None:
        write_document_markdown(result.document(), out)
    elif result.page is not None:
        out.write(result.page(fmt))
    else:
        raise ValueError(f"this command writes no {fmt.value}")


def _delimited(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    if result.table is None:
        raise ValueError(f"this command writes no {fmt.value}")
    write_delimited(result.table(fmt), options, out, tab=fmt is Format.TSV)


def _records(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    write_json(_needs(result.records, fmt), fmt, out)


def _citations(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    from stemrenal.cite.styles import render

    # Through the one sanitiser like every other writer: a cached record is trusted, not
    # validated again, and a reference manager would keep an escape sequence it is given.
    text = render(_needs(result.citations, fmt), fmt.value)
    lines = text.split("\r\n")  # RIS ends its lines so, by its specification
    out.write("\r\n".join(strip_controls(line, multiline=True) for line in lines))


def _page(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """A whole page: the brief's text or HTML, or a study as registry TOML."""
    if result.page is None:
        raise ValueError(f"this command writes no {fmt.value}")
    out.write(result.page(fmt))


def _robvis(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """robvis's layout: CSV with a header whatever --no-header says (read.csv expects one)."""
    if result.table is None:
        raise ValueError(f"this command writes no {fmt.value}")
    write_delimited(result.table(fmt), options._replace(header=True), out, tab=False)


def _figure(result: Result, fmt: Format, options: OutputOptions, out: TextIO, tty: bool) -> None:
    """A figure's or a database's bytes, to a file or a pipe; never onto a terminal."""
    from stemrenal.errors import UsageProblem

    suffix = "db" if fmt is Format.SQLITE else fmt.value
    if tty:
        raise UsageProblem(
            f"{fmt.value} output is binary; write it to a file with -o FILE.{suffix}",
            option="--format",
        )
    if fmt is Format.SQLITE:
        data = _needs(result.database, fmt)
    elif result.figure is None:
        raise ValueError(f"this command writes no {fmt.value}")
    else:
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
    Format.TOML: _page,
    Format.SVG: _figure,
    Format.PNG: _figure,
    Format.PDF: _figure,
    Format.SQLITE: _figure,
}
