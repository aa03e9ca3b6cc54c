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
from typing import Any

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
    if fast is not None and _HEADER in text:
        try:
            return _in_pieces(text, fast)
        except Whole:
            pass
    import tomli

    return tomli.loads(text)


def _in_pieces(text: str, fast: Loads) -> dict[str, Any]:
    """The document parsed a study at a time; Whole where tomli must parse it whole."""
    head, *pieces = ("\n" + text).split(_HEADER)
    data = _head(head, fast)
    data["study"] = [table for piece in pieces for table in _tables("[[study]]" + piece, fast)]
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
    begin = len(_BOM) if raw.startswith(_BOM) else 0
    # Each piece starts at a header at the start of a line: the file's first, or after "\n".
    after = raw.find(_MARK, begin)
    start = begin if raw.startswith(_MARK[1:], begin) else after + 1 if after >= 0 else -1
    if start < 0:
        raise Whole("no [[study]] line")
    if _head(_text(raw[begin:start]), parser):
        raise Whole("keys before the first study")
    while start >= 0:
        after = raw.find(_MARK, start)
        piece = raw[start : after if after >= 0 else len(raw)]
        if after >= 0 and piece.endswith(b"\r"):  # a CRLF line end, cut before its LF
            piece = piece[:-1]
        yield from _tables(_text(piece), parser)
        start = after + 1 if after >= 0 else -1


def _text(piece: bytes) -> str:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        raise Whole("not UTF-8") from None


def _head(text: str, fast: Loads) -> dict[str, Any]:
    """What comes before the first study: anything but a definition of ``study``."""
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
