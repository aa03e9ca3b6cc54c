"""Find the line of a study or key in TOML text, so problems read FILE:LINE.

tomli returns plain dicts without positions, so the lines are recovered from the text itself:
study headers, sub-table headers and ``key =`` lines, tracked per ``[[study]]`` block.
"""

from __future__ import annotations

import re
from functools import cached_property

_KEY = re.compile(r'^\s*([A-Za-z0-9_.-]+|"[^"]*")\s*=')
_ANY_TABLE = re.compile(r"^\s*\[")

Path = tuple[str | int, ...]


class Locator:
    """Lines of the records (``[[study]]`` by default, or ``[[trial]]``...) and their keys in
    one registry file (1-based)."""

    def __init__(self, text: str, kind: str = "study") -> None:
        self._lines = text.splitlines()
        name = re.escape(kind)
        self._record = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]")
        self._array_table = re.compile(rf"^\s*\[\[\s*{name}\.([A-Za-z0-9_.-]+)\s*\]\]")
        self._table = re.compile(rf"^\s*\[\s*{name}\.([A-Za-z0-9_.-]+)\s*\]")

    def key_line(self, path: tuple[str, ...]) -> int | None:
        """Line of a top-level key (or of a top-level table such as ``[coverage]``), or None."""
        return self._top_level.get(path)

    @cached_property
    def _top_level(self) -> dict[Path, int]:
        """The first line of each top-level key, and of the first table (where the top level
        ends; a later table is not found). Built once: a file with thousands of unknown keys
        was rescanned from the top for each one (16,000 keys took 86 s)."""
        found: dict[Path, int] = {}
        for number, line in enumerate(self._lines, 1):
            if _ANY_TABLE.match(line):
                found.setdefault((line.strip().strip("[]").strip(),), number)
                break
            if match := _KEY.match(line):
                found.setdefault(tuple(match.group(1).strip('"').split(".")), number)
        return found

    @cached_property
    def _blocks(self) -> list[dict[Path, int]]:
        blocks: list[dict[Path, int]] = []
        table: Path = ()
        counters: dict[str, int] = {}
        foreign = False  # inside another kind of record: its keys are not this record's
        for number, line in enumerate(self._lines, 1):
            if self._record.match(line):
                blocks.append({(): number})
                table, counters, foreign = (), {}, False
                continue
            if _ANY_TABLE.match(line) and not (
                self._array_table.match(line) or self._table.match(line)
            ):
                foreign = True
            if not blocks or foreign:
                continue
            block = blocks[-1]
            if match := self._array_table.match(line):
                name = match.group(1)
                counters[name] = counters.get(name, -1) + 1
                table = (*name.split("."), counters[name])
                block.setdefault(table, number)
            elif match := self._table.match(line):
                table = tuple(match.group(1).split("."))
                block.setdefault(table, number)
            elif match := _KEY.match(line):
                key = tuple(match.group(1).strip('"').split("."))
                block.setdefault((*table, *key), number)
        return blocks

    def line(self, index: int, loc: Path) -> int | None:
        """Line of the closest known part of ``loc`` in study ``index``."""
        if index >= len(self._blocks):
            return None
        block = self._blocks[index]
        for end in range(len(loc), -1, -1):
            for candidate in (loc[:end], (*loc[:end], 0)):
                if candidate in block:
                    return block[candidate]
        return None
