"""`stemrenal fmt`: registry files in one layout, with canonical terms instead of aliases.

tomlkit keeps every comment, key order and string style; what changes is only what the rules
below say: an accepted alias becomes its canonical term ("CKD" -> "chronic-kidney-disease"),
trailing spaces go, runs of blank lines shrink to one, the file ends with one newline. A file
that does not parse is never touched, and the result must parse to the same data with only
the terms changed (checked before anything is written).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

#: Where terms live, per record kind: a dotted path (`[]` = every item of a list) and its kind.
TERMS: dict[str, tuple[tuple[str, str], ...]] = {
    "study": (
        ("conditions[]", "disease"),
        ("design.kind", "design"),
        ("design.comparator_classes[]", "comparator"),
        ("intervention.cell_type", "cell-type"),
        ("intervention.cell_source", "cell-source"),
        ("intervention.tissue", "tissue"),
        ("severity.transplant_settings[]", "transplant-setting"),
        ("outcomes[].endpoint", "endpoint"),
    ),
    "trial": (
        ("conditions[]", "disease"),
        ("design", "design"),
        ("comparator_classes[]", "comparator"),
        ("intervention.cell_type", "cell-type"),
        ("intervention.cell_source", "cell-source"),
        ("intervention.tissue", "tissue"),
    ),
    "certainty": (("disease", "disease"), ("endpoint", "endpoint")),
}


class Change(NamedTuple):
    record: str
    path: str
    old: str
    new: str


def _slots(container: Any, parts: list[str]) -> Iterator[tuple[Any, Any, str]]:
    """(parent, key or index, shown path) of every value a dotted path names."""
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not hasattr(container, "get") or key not in container:
        return
    value = container[key]
    if many:
        if not isinstance(value, list):
            return
        for index, item in enumerate(value):
            if rest:
                yield from ((p, k, f"{key}[{index}].{s}") for p, k, s in _slots(item, rest))
            else:
                yield value, index, f"{key}[{index}]"
    elif rest:
        yield from ((p, k, f"{key}.{s}") for p, k, s in _slots(value, rest))
    else:
        yield container, key, key


def canonical_terms(document: Any) -> list[Change]:
    """Replace aliases with canonical terms in a parsed tomlkit document, in place."""
    from stemrenal import vocabulary

    changes = []
    for kind, paths in TERMS.items():
        for record in document.get(kind, []) or []:
            name = str(record.get("id", "?"))
            for path, term_kind in paths:
                for parent, key, shown in _slots(record, path.split(".")):
                    value = parent[key]
                    if not isinstance(value, str) or value in vocabulary.ids(term_kind):
                        continue
                    meant = vocabulary.lookup(term_kind, value)
                    if meant is not None:
                        parent[key] = meant
                        changes.append(Change(f"{kind} {name}", shown, str(value), meant))
    return changes


def layout(text: str) -> str:
    """The whitespace rules: no trailing spaces, one blank line at most, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def formatted(text: str) -> tuple[str, list[Change]]:
    """The file's text in canonical form, and the term changes made; ValueError when the text
    is not TOML (the caller then leaves the file alone)."""
    import tomli
    import tomlkit

    try:
        before = tomli.loads(text)
        document = tomlkit.parse(text)
    except (tomli.TOMLDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ValueError(f"not valid TOML ({exc}); left unchanged") from None
    changes = canonical_terms(document)
    result = layout(tomlkit.dumps(document))
    canonical_terms(before)  # the same term changes on the plain data...
    if tomli.loads(result) != before:  # ...and nothing else may differ: never lose data
        raise ValueError("formatting would change more than the terms; left unchanged")
    return result, changes


def formatted_file(path: str) -> tuple[str, str, list[Change]]:
    """A registry file's text, the same in canonical form, and the term changes made;
    ValueError with the one line to print when the file cannot be read (unreadable, not
    UTF-8) or formatted, and is left alone."""
    from stemrenal.registry import read_text

    text, unread = read_text(path)
    if text is None:
        raise ValueError(str(unread))
    try:
        return (text, *formatted(text))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
