"""What each query command produces: load, select, order, then hand to a writer.

Kept out of `cli` so the commands stay a few lines and this logic is testable without click.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stemrenal import columns, query, render
from stemrenal.errors import UsageProblem

if TYPE_CHECKING:
    from stemrenal.citestyles import Style
    from stemrenal.models import Study
    from stemrenal.query import Filters
    from stemrenal.render import Format, OutputOptions


def _load(paths: Sequence[str], target: str | None = None) -> Sequence[Study]:
    """The studies of the registry; refuses first an --output that would overwrite it."""
    from stemrenal import registry

    if target is not None:
        _refuse_registry_target(paths, target)
    return registry.load(paths, views=True)


def _refuse_registry_target(paths: Sequence[str], target: str) -> None:
    """Query commands never write the registry, not even when asked to by a slip of `-o`."""
    from pathlib import Path

    from stemrenal import registry

    out = Path(target).resolve()
    for raw in paths or [str(registry.bundled_path())]:
        source = Path(raw).resolve()
        inside = source.is_dir() and out.suffix == ".toml" and source in out.parents
        if out == source or inside:
            raise UsageProblem(
                f"{target} is part of the registry being read; choose another output file",
                option="--output",
            )


def _limit(items: Sequence[Any], limit: int | None) -> Sequence[Any]:
    return items if limit is None else items[:limit]


def _printing(studies: Sequence[Study]) -> Sequence[Study]:
    """The studies a command prints: cached ones parse their records together when first read."""
    from stemrenal.views import read_together

    read_together(studies)
    return studies


def list_studies(paths: Sequence[str], filters: Filters, output: OutputOptions) -> int:
    """Write the matching studies; return how many."""
    ordered = query.order(query.select(_load(paths, output.output), filters), output.sort)
    studies = _printing(tuple(_limit(ordered, output.limit)))

    def table(fmt: Format) -> columns.Table:
        default = (
            columns.STUDY_TABLE_DEFAULTS if fmt is render.Format.TABLE else columns.STUDY_DEFAULTS
        )
        names = columns.pick(output.columns, list(columns.STUDY_COLUMNS), default)
        return columns.study_table(studies, names)

    _check_columns(output, columns.STUDY_COLUMNS)
    render.emit(output, table, lambda: columns.study_records(studies))
    return len(studies)


def list_outcomes(paths: Sequence[str], filters: Filters, output: OutputOptions) -> int:
    """Write one row per reported outcome of the matching studies; return how many rows."""
    studies = query.order(query.select(_load(paths, output.output), filters), output.sort)
    pairs = list(_limit(query.outcome_rows(_printing(studies), filters.endpoints), output.limit))

    def table(fmt: Format) -> columns.Table:
        table_fmt = fmt is render.Format.TABLE
        default = columns.OUTCOME_TABLE_DEFAULTS if table_fmt else columns.OUTCOME_DEFAULTS
        names = columns.pick(output.columns, list(columns.OUTCOME_COLUMNS), default)
        return columns.outcome_table(pairs, names)

    _check_columns(output, columns.OUTCOME_COLUMNS)
    render.emit(output, table, lambda: columns.outcome_records(pairs))
    return len(pairs)


def summary(paths: Sequence[str], filters: Filters, output: OutputOptions) -> int:
    """Write counts by disease, cell source, cell type, tissue and design; return the study count."""
    result = query.summarise(query.select(_load(paths, output.output), filters))
    _check_columns(output, dict.fromkeys(columns.SUMMARY_COLUMNS))

    def table(fmt: Format) -> columns.Table:
        full = columns.summary_table(result, query.COUNTING_NOTE)
        names = columns.pick(output.columns, columns.SUMMARY_COLUMNS, columns.SUMMARY_COLUMNS)
        index = [full.headers.index(n) for n in names]
        rows = tuple(tuple(row[i] for i in index) for row in full.rows)
        return columns.Table(names, rows, full.caption)

    render.emit(output, table, lambda: columns.summary_record(result, query.COUNTING_NOTE))
    return result.studies


def _check_columns(output: OutputOptions, catalogue: Any) -> None:
    """Reject an unknown --columns before anything is written, whatever the format."""
    if output.columns == ("help",):
        raise UsageProblem(f"valid columns: {', '.join(catalogue)}", option="--columns")
    columns.pick(output.columns, list(catalogue), ())


def _pick(loaded: Sequence[Study], study_id: str) -> Study:
    """The study with this id among those loaded; UsageProblem suggests the closest ids."""
    studies = {s.id: s for s in loaded}
    if study_id in studies:
        return studies[study_id]
    import difflib  # only a miss needs suggestions

    close = difflib.get_close_matches(study_id, list(studies), n=3, cutoff=0.4)
    close += [i for i in studies if study_id and study_id in i and i not in close]
    hint = f" Did you mean: {', '.join(close[:3])}?" if close else ""
    raise UsageProblem(f"no study with id {study_id!r}.{hint}", option="ID")


def show(paths: Sequence[str], study_id: str, fmt: Format | None, target: str | None) -> None:
    """Write one study in full."""
    from stemrenal import detail
    from stemrenal.output import open_output

    study = _pick(_load(paths, target), study_id)
    with open_output(target) as stream:
        chosen = fmt or (render.Format.TABLE if render.is_terminal(stream) else None)
        if chosen is render.Format.JSON:
            render.write_records(study.model_dump(mode="json"), chosen, stream)
        elif chosen is render.Format.MARKDOWN:
            detail.write_markdown(study, stream)
        elif chosen is render.Format.TABLE and render.is_terminal(stream):
            detail.write_rich(study, stream)
        else:
            detail.write_plain(study, stream)


def cite(
    paths: Sequence[str],
    study_ids: Sequence[str],
    filters: Filters,
    style: Style | None,
    target: str | None,
) -> int:
    """Write citations of the named studies (all when none is named) that pass the filters.

    Registry order, whatever order the ids were given in; returns how many were written.
    """
    from stemrenal import citestyles
    from stemrenal.output import open_output

    studies = _load(paths, target)
    named = {_pick(studies, study_id).id for study_id in study_ids}
    chosen = [s for s in query.select(studies, filters) if not named or s.id in named]
    _printing(chosen)
    text = citestyles.render(chosen, citestyles.choose_style(style, target))
    with open_output(target) as stream:
        stream.write(text)
    return len(chosen)


def vocab(kinds: Sequence[str], output: OutputOptions) -> int:
    """Write the accepted terms of the given kinds (all when empty)."""
    from stemrenal import vocabulary

    chosen = [vocabulary.PLURALS.get(k, k) for k in kinds] or list(vocabulary.KINDS)
    terms = [t for kind in chosen for t in vocabulary.terms(kind)]
    names = ("kind", "term", "label", "aliases")

    def table(fmt: Format) -> columns.Table:
        picked = columns.pick(output.columns, names, names)
        rows = [
            (t.kind, t.id, t.label + (" [cell-free]" if t.cell_free else ""), ", ".join(t.aliases))
            for t in terms
        ]
        index = [names.index(n) for n in picked]
        return columns.Table(picked, tuple(tuple(r[i] for i in index) for r in rows))

    def records() -> list[dict[str, Any]]:
        return [
            {
                "kind": t.kind,
                "term": t.id,
                "label": t.label,
                "aliases": list(t.aliases),
                "cell_free": t.cell_free,
            }
            for t in terms
        ]

    render.emit(output, table, records)
    return len(terms)


def validate(paths: Sequence[str]) -> int:
    """Print every problem as FILE:LINE: study ID: field: message, then a count; return the count."""
    from stemrenal import registry

    files, _ = registry.sources(paths)
    studies, problems = registry.check(paths, views=True)
    out = sys.stdout
    for problem in problems:
        out.write(f"{problem}\n")
    count = len(problems)
    if count:
        out.write(f"{count} problem{'s' if count != 1 else ''} found\n")
    else:
        out.write(
            f"ok: {len(studies)} studies in {len(files)} file{'s' if len(files) != 1 else ''}, no problems\n"
        )
    out.flush()
    return count


def schema() -> None:
    """Write the registry's JSON Schema."""
    from stemrenal.models import registry_json_schema

    render.write_records(registry_json_schema(), render.Format.JSON, sys.stdout)
