"""Find the line of a study or key in TOML text, so problems read FILE:LINE.

tomli returns plain dicts without positions, so the lines are recovered from the text itself:
study headers, sub-table headers and ``key =`` lines, tracked per ``[[study]]`` block.
"""

from __future__ import annotations

import re
from functools import cached_property

_STUDY = re.compile(r"^\s*\[\[\s*study\s*\]\]")
_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*study\.([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*study\.([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r'^\s*([A-Za-z0-9_.-]+|"[^"]*")\s*=')

Path = tuple[str | int, ...]


class Locator:
    """Lines of the studies and keys in one registry file (1-based)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def key_line(self, path: tuple[str, ...]) -> int | None:
        """Line of a top-level key, or None."""
        for number, line in enumerate(self._lines, 1):
            if _STUDY.match(line):
                return None
            match = _KEY.match(line)
            if match and tuple(match.group(1).strip('"').split(".")) == path:
                return number
        return None

    @cached_property
    def _blocks(self) -> list[dict[Path, int]]:
        blocks: list[dict[Path, int]] = []
        table: Path = ()
        counters: dict[str, int] = {}
        for number, line in enumerate(self._lines, 1):
            if _STUDY.match(line):
                blocks.append({(): number})
                table, counters = (), {}
                continue
            if not blocks:
                continue
            block = blocks[-1]
            if match := _ARRAY_TABLE.match(line):
                name = match.group(1)
                counters[name] = counters.get(name, -1) + 1
                table = (*name.split("."), counters[name])
                block.setdefault(table, number)
            elif match := _TABLE.match(line):
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
