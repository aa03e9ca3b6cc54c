"""`about`: the coverage statement, with counts taken from the registry as loaded.

The counts are computed, never written by hand, so they always agree with `summary` and
`trials` under the same registry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stemrenal.output.study import Document, Section
from stemrenal.text import plural

if TYPE_CHECKING:
    from stemrenal.models import Coverage, Excluded, Trial
    from stemrenal.query import Summary


def _by(summary: Summary, dimension: str) -> list[tuple[str, int, int]]:
    return [(r.term, r.studies, r.participants) for r in summary.rows if r.dimension == dimension]


def counts(
    summary: Summary, trials: Sequence[Trial], excluded: Sequence[Excluded]
) -> dict[str, Any]:
    """What the registry holds, as numbers: studies, participants, designs, trials, exclusions."""
    unpublished = [t for t in trials if t.publication == "none-found"]
    return {
        "studies": summary.studies,
        "participants": summary.participants,
        "randomized": summary.randomized,
        "by_design": {term: n for term, n, _ in _by(summary, "design")},
        "by_cell_class": {term: n for term, n, _ in _by(summary, "cell-class")},
        "registered_trials": len(trials),
        "registered_trials_without_publication": len(unpublished),
        "trials_by_status": dict(Counter(t.status for t in trials).most_common()),
        "excluded": len(excluded),
        "excluded_by_reason": dict(Counter(e.reason for e in excluded).most_common()),
    }


def coverage_document(coverage: Coverage | None, numbers: dict[str, Any], note: str) -> Document:
    """The statement as `about` prints it in every readable format."""
    designs = ", ".join(f"{term} {n}" for term, n in numbers["by_design"].items())
    classes = ", ".join(f"{term} {n}" for term, n in numbers["by_cell_class"].items())
    statuses = ", ".join(f"{s} {n}" for s, n in numbers["trials_by_status"].items())
    reasons = ", ".join(f"{r} {n}" for r, n in numbers["excluded_by_reason"].items())
    held = [
        f"{plural(numbers['studies'], 'study')}, {numbers['participants']} participants ({note})",
        f"by design: {designs or 'none'}",
        f"by cell class: {classes or 'none'}",
        (
            f"{plural(numbers['registered_trials'], 'registered trial')} "
            f"({numbers['registered_trials_without_publication']} with no results publication "
            f"found): {statuses or 'none'}"
        ),
        f"{plural(numbers['excluded'], 'excluded or unresolved record')}: {reasons or 'none'}",
    ]
    if coverage is None:
        sections = [
            Section("What this registry holds", held),
            Section(
                "Coverage",
                ["no coverage statement in this registry: how it was searched is not recorded"],
            ),
        ]
        return Document("stemrenal registry", "no coverage statement", sections)
    sections = [
        Section("Scope", [coverage.scope]),
        Section("What this registry holds", held, bulleted=True),
        Section("Searched", list(coverage.searched), bulleted=True),
        Section("Search terms", list(coverage.terms), bulleted=True),
        Section("Included", list(coverage.inclusion), bulleted=True),
        Section("Excluded", list(coverage.exclusion), bulleted=True),
        Section("Limitations of this registry", list(coverage.limitations), bulleted=True),
    ]
    title = f"stemrenal registry {coverage.version}"
    name = f"last searched {coverage.last_search}"
    return Document(title, name, [s for s in sections if s.lines])


def coverage_record(coverage: Coverage | None, numbers: dict[str, Any]) -> dict[str, Any]:
    """The statement and the counts as one JSON object."""
    statement = coverage.model_dump(mode="json") if coverage is not None else None
    return {"coverage": statement, "counts": numbers}
