"""Read a claims file (`stemrenal check`): TOML, validated, and every problem located by line,
as `FILE:LINE: claim N: field: message`, the way registry files are reported."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stemrenal.errors import Problem
from stemrenal.registry.read import _decode, _dotted, _message, _parse, _read_bytes, _within

if TYPE_CHECKING:
    from stemrenal.models import ClaimsFile


def read_claims(path: Path, known: Collection[str]) -> tuple[ClaimsFile | None, list[Problem]]:
    """The claims file at `path`, or None and every problem (`known`: the registry's ids)."""
    from pydantic import ValidationError

    from stemrenal.models import ClaimsFile
    from stemrenal.registry.locate import Locator

    name = str(path)
    text, data, problem = _load(path)
    if problem is not None:
        return None, [problem]
    locator = Locator(text, "claim")
    headers = _Headers(text)
    problems = _unknown_keys(name, headers, locator, data)
    try:
        claims = ClaimsFile.model_validate(data)
    except ValidationError as exc:
        seen = set(problems)
        for error in exc.errors(include_url=False):
            found = _locate(name, headers, locator, error)
            if found not in seen:  # a union (value) reports once per member type
                seen.add(found)
                problems.append(found)
        claims = None
    if claims is not None:
        problems.extend(_unknown_studies(name, locator, claims, known))
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0)
    return claims, []


_MEMBERS = ("int", "float", "str")


def _load(path: Path) -> tuple[str, dict[str, Any], Problem | None]:
    """The file's text and TOML, or the one problem that stops reading it."""
    name = str(path)
    raw, problem = _read_bytes(name)
    if problem is not None:
        return "", {}, problem
    text, problem = _decode(name, raw)
    if problem is not None:
        return "", {}, problem
    data, problem = _parse(name, text)
    return text, data, problem


def _unknown_keys(
    name: str, headers: _Headers, locator: Any, data: dict[str, Any]
) -> list[Problem]:
    message = "unknown top-level key; a claims file has [article] and [[claim]] tables"
    return [
        Problem(name, locator.key_line((key,)) or headers.line(key), None, key, message, "claim")
        for key in data
        if key not in ("article", "claim")
    ]


def _unknown_studies(
    name: str, locator: Any, claims: ClaimsFile, known: Collection[str]
) -> list[Problem]:
    """A claim must be about a study the registry holds."""
    problems = []
    for index, claim in enumerate(claims.claim):
        for field, ids in (("study", [claim.study]), ("studies", claim.studies)):
            for study_id in ids:
                if study_id is not None and study_id not in known:
                    line = locator.line(index, (field,))
                    message = f"names unknown study {study_id!r} (see `stemrenal list`)"
                    problems.append(Problem(name, line, str(index + 1), field, message, "claim"))
    return problems


class _Headers:
    """The first line of each ``[table]`` header, indexed in one pass over the text when first
    asked: a file with thousands of unknown tables, or of unknown keys above ``[article]``, was
    rescanned for each one (4,000 took 8 s)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._index: dict[str, int] | None = None

    def line(self, table: str) -> int | None:
        """The first line matching ``^\\s*\\[\\s*TABLE\\s*\\]``, as a scan would find it."""
        if "]" in table or table != table.strip():  # not what the index holds (`[claim]`)
            return _header_line(self._text, table)
        if self._index is None:
            self._index = {}
            for number, line in enumerate(self._text.splitlines(), 1):
                if match := _OPEN.match(line):
                    rest = line[match.end() :]
                    end = rest.find("]")
                    if end >= 0:
                        self._index.setdefault(rest[:end].rstrip(), number)
        return self._index.get(table)


_OPEN = re.compile(r"\s*\[\s*")


def _header_line(text: str, table: str) -> int | None:
    pattern = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _locate(name: str, headers: _Headers, locator: Any, error: Any) -> Problem:
    loc = tuple(error["loc"])
    message = _message(error)
    if loc and loc[-1] in _MEMBERS:  # value: int | float | str
        loc = loc[:-1]
        message = f"must be a number or text (got {type(error.get('input')).__name__})"
    ctx = error.get("ctx") or {}
    if "field" in ctx:
        loc = _within(loc, str(ctx["field"]))
    if loc[:1] == ("claim",) and len(loc) > 1 and isinstance(loc[1], int):
        index = loc[1]
        rest = loc[2:]
        line = locator.line(index, rest)
        return Problem(name, line, str(index + 1), _dotted(rest) or "(claim)", message, "claim")
    if loc[:1] == ("claim",):
        line = headers.line("[claim]") or None
        return Problem(name, line, None, _dotted(loc), message, "claim")
    line = headers.line("article")
    return Problem(name, line, None, _dotted(loc) or "(file)", message, "claim")
