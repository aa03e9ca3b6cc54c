"""`check`'s rows: each claim beside what the registry records, its source and the verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stemrenal.output.tables import Catalogue

if TYPE_CHECKING:
    from stemrenal.claims import Checked
    from stemrenal.models import ClaimsFile


def _about(c: Checked) -> str:
    return c.claim.study or " + ".join(c.claim.studies)


def _asserted(c: Checked) -> str:
    what = c.claim.field if c.claim.field != "outcome" else f"outcome {c.claim.endpoint}"
    if c.claim.aggregate:
        what = f"{c.claim.aggregate} of {c.claim.field}"
    return f"{what} = {c.claim.value}"


def _verdict(c: Checked) -> str:
    return f"{c.verdict} ({c.by})"


CheckGetter = Callable[["Checked"], object]

CHECK_COLUMNS: dict[str, CheckGetter] = {
    "claim": lambda c: c.number,
    "said": lambda c: (
        f"{c.number}. {c.claim.quote}"
        + (f"\n({c.claim.translation})" if c.claim.translation else "")
    ),
    "quote": lambda c: c.claim.quote,
    "translation": lambda c: c.claim.translation,
    "study": _about,
    "field": lambda c: c.claim.field,
    "claimed": lambda c: c.claim.value,
    "asserts": lambda c: f"{_about(c)}:\n{_asserted(c)}",
    "recorded": lambda c: c.recorded,
    "registry": lambda c: f"{c.recorded or 'not in the sources'}\n" + " ".join(c.sources),
    "sources": lambda c: " ".join(c.sources),
    "verdict": lambda c: c.verdict,
    "by": lambda c: c.by,
    "finding": lambda c: _verdict(c) + (f"\n{c.claim.note}" if c.claim.note else ""),
    "note": lambda c: c.claim.note,
}
CHECK_TABLE_DEFAULTS = ("said", "asserts", "registry", "finding")
CHECK_DEFAULTS = (
    "claim", "study", "field", "claimed", "recorded", "verdict", "by", "quote", "translation",
    "sources", "note",
)  # fmt: skip


def check_records(rows: Sequence[Checked]) -> list[dict[str, Any]]:
    return [
        {
            "claim": c.number,
            "quote": c.claim.quote,
            "translation": c.claim.translation,
            "study": c.claim.study,
            "studies": list(c.claim.studies),
            "field": c.claim.field,
            "endpoint": c.claim.endpoint,
            "claimed": c.claim.value,
            "recorded": c.recorded,
            "sources": list(c.sources),
            "verdict": c.verdict,
            "by": c.by,
            "note": c.claim.note,
        }
        for c in rows
    ]


CHECKS = Catalogue(CHECK_COLUMNS, CHECK_TABLE_DEFAULTS, CHECK_DEFAULTS, check_records)


def article_caption(claims: ClaimsFile, rows: Sequence[Checked]) -> str:
    """Which article, and the verdicts counted."""
    a = claims.article
    counts: dict[str, int] = {}
    for c in rows:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    tally = ", ".join(f"{v} {n}" for v, n in counts.items())
    where = f", {a.url}" if a.url else ""
    return f"{a.title} ({a.publisher}{where}; language {a.language}; checked {a.checked}): {tally}"
