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
"""

from __future__ import annotations

from typing import Any

#: Brackets a piece may hold for toml-rs to parse it: each level of nesting costs toml-rs
#: up to 3 KB of stack, so 256 levels stay under 1 MB of the main thread's 8 MB.
_NESTING = 256

#: The smallest stack limit (bytes) under which toml-rs is still used.
_STACK = 4 * 1024 * 1024

_HEADER = "\n[[study]]"


def loads(text: str) -> dict[str, Any]:
    """The document, as `tomli.loads` returns it (and raising as it does)."""
    fast = _fast_loads()
    if fast is not None and _HEADER in text:
        data = _in_pieces(text, fast)
        if data is not None:
            return data
    import tomli

    return tomli.loads(text)


def _in_pieces(text: str, fast: Any) -> dict[str, Any] | None:
    """The document parsed a study at a time, or None where tomli must parse it whole."""
    import tomli

    head, *pieces = ("\n" + text).split(_HEADER)
    studies: list[Any] = []
    try:
        data = _piece(head, fast, tomli.loads)
        if "study" in data:
            return None
        for piece in pieces:
            part = _piece("[[study]]" + piece, fast, tomli.loads)
            found = part.get("study")
            if len(part) != 1 or not isinstance(found, list):
                return None
            studies.extend(found)
    except Exception:  # noqa: BLE001 - toml-rs's errors, tomli's, a RecursionError: all fall back
        return None
    data["study"] = studies
    return data


def _piece(text: str, fast: Any, slow: Any) -> dict[str, Any]:
    nested = text.count("[") + text.count("{")
    result: dict[str, Any] = (fast if nested <= _NESTING else slow)(text)
    return result


def _fast_loads() -> Any:
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
