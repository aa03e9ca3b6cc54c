"""Canonical terms (diseases, cell types, endpoints...) and the aliases people type for them.

The terms live in ``vocabulary.toml`` beside this module: data, not code. Matching is exact on
the canonical id, a label or an alias (case-, width- and separator-insensitive); there is no
hidden hierarchy.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, NamedTuple


class Term(NamedTuple):
    """One canonical term with its label and the aliases that resolve to it."""

    kind: str
    id: str
    label: str
    aliases: tuple[str, ...]
    cell_free: bool = False
    cell_class: str | None = None  # cell types only: the `cell-class` term they belong to


def normalise(text: str) -> str:
    """Fold case, full-width forms and separators so "Lupus Nephritis" finds lupus-nephritis."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return "-".join(folded.replace("_", " ").replace("-", " ").split())


@cache
def _raw() -> dict[str, Any]:
    import os

    import tomli

    with open(os.path.join(os.path.dirname(__file__), "vocabulary.toml"), encoding="utf-8") as f:
        return tomli.loads(f.read())


#: Registry-local vocabulary files added with `extend` (terms beside the bundled ones).
_LOCAL: list[dict[str, Any]] = []

#: The name of a registry-local vocabulary file in a registry directory.
LOCAL_NAME = "vocabulary.toml"


def _terms_of(kind: str, entries: list[dict[str, Any]]) -> tuple[Term, ...]:
    return tuple(
        Term(
            kind=kind,
            id=entry["id"],
            label=entry["label"],
            aliases=tuple(entry.get("aliases", ())),
            cell_free=bool(entry.get("cell_free", False)),
            cell_class=entry.get("class"),
        )
        for entry in entries
    )


@cache
def _load() -> dict[str, tuple[Term, ...]]:
    """Every kind (an array of tables in vocabulary.toml) with its terms, in file order, then
    the registry-local terms."""
    loaded = {
        kind: _terms_of(kind, entries)
        for kind, entries in _raw().items()
        if isinstance(entries, list)
    }
    for local in _LOCAL:
        for kind, entries in local.items():
            loaded[kind] = loaded[kind] + _terms_of(kind, entries)
    return loaded


def extend(text: str) -> list[str]:
    """Add the terms of a registry-local vocabulary file; the problems, if any (then nothing
    is added). A term needs a kind the bundled vocabulary has, a lower-case id, a label, and
    no spelling another term already has."""
    import tomli

    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        return [f"invalid TOML: {exc}"]
    problems = []
    for kind, entries in data.items():
        if kind not in _load():
            problems.append(f"{kind}: not a vocabulary kind ({', '.join(kinds())})")
        elif not isinstance(entries, list):
            problems.append(f"{kind}: write each term as a [[{kind}]] table")
        else:
            for number, entry in enumerate(entries, 1):
                problems += _entry_problems(kind, f"{kind} {number}", entry)
    if not problems:
        _LOCAL.append(data)
        _forget()
    return problems


def _entry_problems(kind: str, where: str, entry: Any) -> list[str]:
    import re

    if not isinstance(entry, dict) or not re.fullmatch(
        r"[a-z0-9]+(-[a-z0-9]+)*", str(entry.get("id", ""))
    ):
        return [f"{where}: id must be lower case words joined by hyphens"]
    problems = []
    if not isinstance(entry.get("label"), str) or not entry["label"].strip():
        problems.append(f"{where} ({entry['id']}): give a label")
    unknown = sorted(set(entry) - {"id", "label", "aliases", "cell_free", "class"})
    if unknown:
        problems.append(f"{where} ({entry['id']}): unknown key {unknown[0]!r}")
    for spelling in (entry["id"], *entry.get("aliases", ())):
        if lookup(kind, str(spelling)) is not None:
            problems.append(f"{where} ({entry['id']}): {spelling!r} is already a {kind} term")
    return problems


def _forget() -> None:
    """Drop every cached view of the vocabulary, after terms were added."""
    for cached in (_load, _index, ids, _by_id):
        cached.cache_clear()


def kinds() -> tuple[str, ...]:
    """The vocabulary kinds, as vocabulary.toml names them, in its order (display order)."""
    return tuple(_load())


def plurals() -> dict[str, str]:
    """Plural names used on the command line (``stemrenal vocab diseases``) -> kind."""
    from stemrenal.text import plural_of

    return {plural_of(kind): kind for kind in kinds()}


def terms(kind: str) -> tuple[Term, ...]:
    """All canonical terms of one kind, in file order."""
    return _load()[kind]


@cache
def _index(kind: str) -> dict[str, str]:
    """Every normalised spelling (id, label, alias) -> canonical id."""
    index: dict[str, str] = {}
    for term in terms(kind):
        for spelling in (term.id, term.label, *term.aliases):
            index.setdefault(normalise(spelling), term.id)
    return index


@cache
def ids(kind: str) -> frozenset[str]:
    """The canonical ids of one kind: what the registry may use.

    Cached: every term in every study is checked against it (building it afresh each time
    was half the validation time of a 10,000-study registry).
    """
    return frozenset(term.id for term in terms(kind))


def term(kind: str, term_id: str) -> Term:
    """The term with this canonical id (KeyError when there is none)."""
    return _by_id(kind)[term_id]


@cache
def _by_id(kind: str) -> dict[str, Term]:
    return {t.id: t for t in terms(kind)}


def lookup(kind: str, text: str) -> str | None:
    """The canonical id that ``text`` names (id, label or alias), or None."""
    return _index(kind).get(normalise(text))


def suggest(kind: str, text: str, limit: int = 3) -> list[str]:
    """Canonical ids whose spellings are closest to ``text``, best first."""
    import difflib  # only a typo needs suggestions

    index = _index(kind)
    key = normalise(text)
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, spelling).ratio(), spelling) for spelling in index),
        reverse=True,
    )
    best = scored[0][0] if scored else 0.0
    close = [s for r, s in scored if r >= 0.6 and r >= best - 0.1]
    close += [k for k in index if len(key) > 2 and (key in k or k in key)]
    found: list[str] = []
    for spelling in close:
        if index[spelling] not in found:
            found.append(index[spelling])
    return found[:limit]


@cache
def _redirects(kind: str) -> dict[str, str]:
    table = _raw().get("redirects", {}).get(kind, {})
    return {normalise(typed): hint for typed, hint in table.items()}


def redirect(kind: str, text: str) -> str | None:
    """Where to look instead, for what users type that is not a term of this kind (e.g. "ESRD"
    is a severity, not a disease): the hint, or None."""
    return _redirects(kind).get(normalise(text))
