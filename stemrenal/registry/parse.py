"""A registry file's text as data: tomli is the parser of record; toml-rs, when installed (the
`fast` extra), parses the studies of a large file about twice as fast.

toml-rs is used only where it cannot change the result or crash the process:

- It has no recursion limit and overflows the C stack at about 3,000 nested arrays or inline
  tables (`a = [[[...]]]`, as a hostile file could hold). So the text is cut before each line
  that starts with ``[[study]]`` and toml-rs sees only pieces with at most `_NESTING` brackets
  (a bound on their depth that needs no lexing); any other piece is parsed by tomli.
- The pieces parse alone as they parse in the file: a piece that is valid alone ends outside
  any string, array or table, so every cut fell between two of the file's statements, and the
  later pieces may define nothing but their ``[[study]]`` tables (the first may not define
  ``study`` at all), so no piece's keys can meet another's. Anything else falls back.
- Whatever a piece does not accept, tomli parses the whole file again: every error message
  and its line is tomli's. tests/test_parse.py holds the two to the same dicts and the same
  errors on the toml-test suites and on cut-up registries.

The same cut lets `studies` read a file of studies alone from its bytes a piece at a time
(with tomli where toml-rs is not installed), so that a large file is never held whole as text
or as tables while its studies are validated and cached (`read._streamed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, AnyStr

#: Brackets a piece may hold for toml-rs to parse it: each level of nesting costs toml-rs
#: up to 3 KB of stack, so 256 levels stay under 1 MB of the main thread's 8 MB.
_NESTING = 256

#: The smallest stack limit (bytes) under which toml-rs is still used.
_STACK = 4 * 1024 * 1024

_HEADER = "\n[[study]]"
_MARK = b"\n[[study]]"
_BOM = b"\xef\xbb\xbf"

Loads = Callable[[str], dict[str, Any]]


class Whole(Exception):
    """The file cannot be read a piece at a time: it must be parsed whole, by `loads`, whose
    verdict and messages are tomli's."""


def loads(text: str) -> dict[str, Any]:
    """The document, as `tomli.loads` returns it (and raising as it does)."""
    fast = _fast_loads()
    if fast is not None:
        try:
            return _in_pieces(text, fast)
        except Whole:
            pass
    import tomli

    return tomli.loads(text)


def _in_pieces(text: str, fast: Loads) -> dict[str, Any]:
    """The document parsed a study at a time; Whole where tomli must parse it whole."""
    cut = _cut(text, 0, _HEADER, "\r")
    if cut is None:
        raise Whole("no [[study]] line")
    head, pieces = cut
    data = _head(head, fast)
    data["study"] = [table for piece in pieces for table in _tables(piece, fast)]
    return data


def studies(raw: bytes) -> Iterator[Any]:
    """The ``[[study]]`` tables of a file that holds nothing else (nothing but comments before
    the first), parsed from its bytes one piece at a time: as `loads` would give them, in
    order. Raises Whole, at once or on the way, for any other file, and for any piece that is
    not UTF-8 or does not parse alone."""
    parser = _fast_loads()
    if parser is None:
        import tomli

        parser = tomli.loads
    cut = _cut(raw, len(_BOM) if raw.startswith(_BOM) else 0, _MARK, b"\r")
    if cut is None:
        raise Whole("no [[study]] line")
    head, pieces = cut
    if _head(_text(head), parser):
        raise Whole("keys before the first study")
    for piece in pieces:
        yield from _tables(_text(piece), parser)


def _cut(
    data: AnyStr, begin: int, mark: AnyStr, cr: AnyStr
) -> tuple[AnyStr, Iterator[AnyStr]] | None:
    """Where a file (its text, or its bytes from `begin`) is cut: the head before its first
    line that starts with ``[[study]]``, and each piece from such a line to the next; None
    when no line does. A piece cut just after a CR ends without it: that CR began the CRLF
    line end whose LF starts the next piece's line."""
    after = data.find(mark, begin)
    start = begin if data.startswith(mark[1:], begin) else after + 1 if after >= 0 else -1
    if start < 0:
        return None
    return data[begin:start], _pieces(data, start, mark, cr)


def _pieces(data: AnyStr, start: int, mark: AnyStr, cr: AnyStr) -> Iterator[AnyStr]:
    while start >= 0:
        after = data.find(mark, start)
        piece = data[start : after if after >= 0 else len(data)]
        yield piece[:-1] if after >= 0 and piece.endswith(cr) else piece
        start = after + 1 if after >= 0 else -1


def _text(piece: bytes) -> str:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        raise Whole("not UTF-8") from None


def _head(text: str, fast: Loads) -> dict[str, Any]:
    """What comes before the first study: anything but a definition of ``study``."""
    if text.startswith("\ufeff"):  # toml-rs skips it as a byte-order mark; tomli refuses it
        raise Whole("U+FEFF at the start of the text")
    data = _piece(text, fast)
    if "study" in data:
        raise Whole("the head defines study")
    return data


def _tables(piece: str, fast: Loads) -> list[Any]:
    """The study tables of one piece, which must define nothing else."""
    part = _piece(piece, fast)
    found = part.get("study")
    if len(part) != 1 or not isinstance(found, list):
        raise Whole("a piece defines more than its study")
    return found


def _piece(text: str, fast: Loads) -> dict[str, Any]:
    import tomli

    nested = text.count("[") + text.count("{")
    try:
        result: dict[str, Any] = (fast if nested <= _NESTING else tomli.loads)(text)
    except Exception as exc:  # toml-rs's errors, tomli's, a RecursionError: all fall back
        raise Whole("a piece does not parse alone") from exc
    return result


def _fast_loads() -> Loads | None:
    """toml-rs's `loads` where it is installed and safe to call here, else None."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None  # a thread's stack may be far smaller than the main thread's
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
        if soft != resource.RLIM_INFINITY and soft < _STACK:
            return None
    except (ImportError, OSError, ValueError):  # no `resource` (Windows): a 1 MB stack there
        return None
    try:
        import toml_rs
    except ImportError:
        return None
    return toml_rs.loads
