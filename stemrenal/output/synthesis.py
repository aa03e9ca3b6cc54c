"""The summary of findings, the evidence map and the risk-of-bias rows as tables and records.

What the rows mean is `synthesis`' business; this module only words them. A person's table
says each count in a phrase ("1 study, 18 people: no difference 1 (primary)"); plain formats
give one column per count, so a spreadsheet can add them up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stemrenal import appraisal
from stemrenal.cite import short_citation
from stemrenal.output import Format, Result
from stemrenal.output.tables import Catalogue, Table, as_text, choose_columns
from stemrenal.synthesis import VERDICTS, BiasRow, EvidenceRow, MapCell, Results
from stemrenal.text import plural

if TYPE_CHECKING:
    from stemrenal.models import Certainty, Coverage
    from stemrenal.query import Filters

NOT_ASSESSED = "not assessed"


def filters_caption(filters: Filters) -> str:
    """The filters in use, in words, for a figure's title: "diseases: lupus-nephritis"."""
    chosen = []
    for name, value in filters._asdict().items():
        if value in ((), None, False):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        chosen.append(f"{name.replace('_', ' ')}: {shown}")
    return "; ".join(chosen) or "all studies"


def footnote(coverage: Coverage | None) -> str:
    """A figure's footnote: the program and registry versions, the search date, the notice."""
    from stemrenal import __version__

    searched = (
        f"; registry {coverage.version}, searched to {coverage.last_search}" if coverage else ""
    )
    return (
        f"stemrenal {__version__}{searched}. Participants counted once per group of "
        "overlapping studies. Not medical advice."
    )


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _counts(results: Results) -> str:
    """ "no difference 1 (1 primary)": each verdict that occurs, with how many studies."""
    parts = [f"{appraisal.label(v)} {results.count(v)}" for v in VERDICTS if results.count(v)]
    primary = f" ({results.primary} primary)" if results.primary else ""
    return ", ".join(parts) + primary


def results_phrase(results: Results, none: str) -> str:
    """ "1 study, 18 people: no difference 1 (1 primary)", or `none`."""
    if not results.studies:
        return none
    n = len(results.studies)
    return f"{plural(n, 'study')}, {_people(results.participants)}: {_counts(results)}"


def _designs(row: EvidenceRow) -> str:
    return ", ".join(f"{design} {n}" for design, n in row.designs)


def _bias(row: EvidenceRow) -> str | None:
    if not row.risk_of_bias:
        return None
    parts = []
    for tool, judgement, n in row.risk_of_bias:
        name = appraisal.TOOL_LABELS.get(tool, "")
        parts.append(f"{name + ' ' if name else ''}{appraisal.label(judgement)} {n}".strip())
    return "; ".join(parts)


def certainty_label(record: Certainty) -> str:
    return appraisal.label(record.certainty)


def _certainty(row: EvidenceRow, marks: dict[str, int] | None = None) -> str:
    if not row.certainty:
        return NOT_ASSESSED
    parts = []
    several = len({c.disease for c in row.certainty}) > 1
    for record in row.certainty:
        mark = f" [{marks[record.id]}]" if marks and record.id in marks else ""
        where = f" ({record.disease})" if several else ""
        parts.append(f"{certainty_label(record)}{where}{mark}")
    return "; ".join(parts)


def _verdicts(results: Results) -> str | None:
    """ "deng-2017-lupus-nephritis: no-difference (primary)" for each study."""
    items = [
        f"{r.study.id}: {r.verdict}{' (primary)' if r.primary else ''}" for r in results.studies
    ]
    return "; ".join(items) or None


EvidenceGetter = Callable[[EvidenceRow], object]


def _counter(part: Callable[[EvidenceRow], Results], verdict: str) -> EvidenceGetter:
    return lambda row: part(row).count(verdict)


def _count_columns(prefix: str, part: Callable[[EvidenceRow], Results]) -> dict[str, Any]:
    columns: dict[str, EvidenceGetter] = {
        f"{prefix}_studies": lambda r: len(part(r).studies),
        f"{prefix}_participants": lambda r: part(r).participants,
    }
    for verdict in VERDICTS:
        columns[f"{prefix}_{verdict.replace('-', '_')}"] = _counter(part, verdict)
    columns[f"{prefix}_primary"] = lambda r: part(r).primary
    columns[f"{prefix}_results"] = lambda r: _verdicts(part(r))
    return columns


EVIDENCE_COLUMNS: dict[str, EvidenceGetter] = {
    "endpoint": lambda r: r.endpoint,
    "disease": lambda r: r.disease,
    "outcome": lambda r: f"{r.endpoint}\n{r.disease}" if r.disease else r.endpoint,
    "studies": lambda r: len(r.studies),
    "participants": lambda r: r.participants,
    "designs": _designs,
    "evidence": lambda r: (
        f"{plural(len(r.studies), 'study')}, {_people(r.participants)}\n" + _designs(r)
    ),
    "support": lambda r: r.support,
    "controlled": lambda r: results_phrase(r.controlled, "none: uncontrolled only"),
    **_count_columns("controlled", lambda r: r.controlled),
    "before_after": lambda r: results_phrase(r.before_after, "none"),
    **_count_columns("before_after", lambda r: r.before_after),
    "risk_of_bias": _bias,
    "certainty": _certainty,
    "certainty_ids": lambda r: ", ".join(c.id for c in r.certainty) or None,
    "study_ids": lambda r: ", ".join(s.id for s in r.studies),
}
EVIDENCE_TABLE_DEFAULTS = (
    "outcome", "evidence", "controlled", "before_after", "risk_of_bias", "certainty",
)  # fmt: skip
EVIDENCE_DEFAULTS = (
    "endpoint", "disease", "studies", "participants", "designs", "support",
    "controlled_studies", "controlled_participants", "controlled_improved",
    "controlled_no_difference", "controlled_worsened", "controlled_mixed",
    "controlled_not_reported", "controlled_primary", "controlled_results",
    "before_after_studies", "before_after_participants", "before_after_improved",
    "before_after_no_difference", "before_after_worsened", "before_after_mixed",
    "before_after_not_reported", "risk_of_bias", "certainty", "certainty_ids", "study_ids",
)  # fmt: skip

EVIDENCE_NOTE = (
    "controlled: results compared between groups (cells against a control), one verdict per "
    "study; before/after: within-group change in studies that give no between-group result "
    "on the endpoint, which cannot separate the cells' effect from the natural course or "
    "other treatment. Verdicts are the directions the registry records; 'not reported' where "
    "the source states none"
)


def _results_record(results: Results) -> dict[str, Any]:
    record: dict[str, Any] = {
        "studies": len(results.studies),
        "participants": results.participants,
    }
    record.update({v: results.count(v) for v in VERDICTS})
    record["primary"] = results.primary
    record["results"] = [
        {
            "study": r.study.id,
            "verdict": r.verdict,
            "primary": r.primary,
            "design": r.study.design.kind,
            "risk_of_bias": r.study.risk_of_bias.overall if r.study.risk_of_bias else None,
        }
        for r in results.studies
    ]
    return record


def certainty_record(record: Certainty) -> dict[str, Any]:
    return record.model_dump(mode="json")


def evidence_records(rows: Sequence[EvidenceRow]) -> list[dict[str, Any]]:
    return [
        {
            "endpoint": r.endpoint,
            "disease": r.disease,
            "support": r.support,
            "studies": len(r.studies),
            "participants": r.participants,
            "designs": dict(r.designs),
            "study_ids": [s.id for s in r.studies],
            "controlled": _results_record(r.controlled),
            "before_after": _results_record(r.before_after),
            "risk_of_bias": [
                {"tool": tool, "judgement": judgement, "studies": n}
                for tool, judgement, n in r.risk_of_bias
            ],
            "certainty": [certainty_record(c) for c in r.certainty],
        }
        for r in rows
    ]


def _footnotes(rows: Sequence[EvidenceRow]) -> tuple[dict[str, int], list[str]]:
    """Numbered reasons for every certainty record shown, as a Summary of Findings gives them:
    the body of evidence, the certainty, and each domain it was rated down for, with why."""
    marks: dict[str, int] = {}
    notes: list[str] = []
    for row in rows:
        for record in row.certainty:
            if record.id in marks:
                continue
            marks[record.id] = len(marks) + 1
            down = [d for d in record.domains if d.rating not in ("not-serious", "undetected")]
            reasons = "; ".join(
                f"{appraisal.label(d.domain)} {appraisal.label(d.rating)}: {d.reason}" for d in down
            )
            who = "curator's judgement" if record.assessor == "curator" else str(record.review)
            notes.append(
                f"[{marks[record.id]}] {record.endpoint}, {record.disease} ({record.comparison}): "
                f"{certainty_label(record)}, from {record.start}. {record.effect} "
                f"Rated down for {reasons or 'nothing'}. {who.capitalize()} from the "
                f"{record.basis}, {record.assessed}."
            )
    return marks, notes


def evidence_result(rows: Sequence[EvidenceRow], requested: Sequence[str] | None) -> Result:
    """The rows as a lazy result; the terminal table carries the certainty reasons below it."""
    catalogue = Catalogue(
        EVIDENCE_COLUMNS, EVIDENCE_TABLE_DEFAULTS, EVIDENCE_DEFAULTS, evidence_records
    )

    def table(fmt: Format) -> Table:
        from stemrenal.output.tables import terminal_width

        default: tuple[str, ...] = (
            EVIDENCE_TABLE_DEFAULTS if fmt is Format.TABLE else EVIDENCE_DEFAULTS
        )
        if fmt is Format.TABLE and terminal_width() < 100:  # risk of bias moves to the notes
            default = tuple(n for n in default if n != "risk_of_bias")
        names = choose_columns(requested, list(EVIDENCE_COLUMNS), default)
        marks, notes = _footnotes(rows) if fmt in (Format.TABLE, Format.MARKDOWN) else ({}, [])
        getters = [
            (lambda r: _certainty(r, marks)) if n == "certainty" else EVIDENCE_COLUMNS[n]
            for n in names
        ]
        body = tuple(tuple(as_text(g(r)) for g in getters) for r in rows)
        caption = "\n".join([*notes, EVIDENCE_NOTE]) if fmt is Format.TABLE else None
        return Table(tuple(names), body, caption)

    return Result(records=lambda: catalogue.records(rows), table=table)


# ----------------------------------------------------------------------------- the map

#: Short design names for the grid's cells, with the legend that explains them.
DESIGN_ABBREVIATIONS = {
    "rct": "RCT",
    "non-randomized-controlled": "NRC",
    "single-arm": "SA",
    "case-series": "CS",
}
MAP_LEGEND = (
    "each cell: studies / participants (overlaps counted once), then the strongest design "
    "(RCT randomized controlled trial, NRC non-randomized controlled, SA single-arm, CS case "
    "series); 'null' marks a cell whose controlled results found no benefit; n.r. enrolment "
    "not reported, + some studies do not report it"
)

MapGetter = Callable[[MapCell], object]
MAP_COLUMNS: dict[str, MapGetter] = {
    "disease": lambda c: c.disease,
    "term": lambda c: c.term,
    "studies": lambda c: len(c.studies),
    "participants": lambda c: c.participants,
    "strongest_design": lambda c: c.strongest,
    "controlled": lambda c: c.controlled or "none",
    "study_ids": lambda c: ", ".join(s.id for s in c.studies),
}
MAP_DEFAULTS = tuple(MAP_COLUMNS)


def participants_text(cell: MapCell) -> str:
    """Participants, "n.r." when no study of the cell reports its enrolment, "+" when some do not."""
    unreported = any(s.enrolled is None for s in cell.studies)
    if unreported and not cell.participants:
        return "n.r."
    return f"{cell.participants}{'+' if unreported else ''}"


def cell_text(cell: MapCell) -> str:
    design = DESIGN_ABBREVIATIONS.get(cell.strongest or "", cell.strongest or "?")
    null = " null" if cell.null else ""
    return f"{len(cell.studies)} / {participants_text(cell)}\n{design}{null}"


def ordered_axes(cells: Sequence[MapCell]) -> tuple[list[str], list[str]]:
    """Diseases and column terms, each by how many studies they hold (most first)."""

    def by_size(key: Callable[[MapCell], str]) -> list[str]:
        ids: dict[str, set[str]] = {}
        for cell in cells:
            ids.setdefault(key(cell), set()).update(s.id for s in cell.studies)
        return sorted(ids, key=lambda k: (-len(ids[k]), k))

    return by_size(lambda c: c.disease), by_size(lambda c: c.term)


def map_grid(cells: Sequence[MapCell], columns_by: str) -> Table:
    """The compact grid a person reads: diseases down, column terms across."""
    diseases, terms = ordered_axes(cells)
    at = {(c.disease, c.term): c for c in cells}
    rows = tuple(
        (disease, *(cell_text(at[disease, t]) if (disease, t) in at else "" for t in terms))
        for disease in diseases
    )
    return Table(("disease", *terms), rows, f"columns: {columns_by}; {MAP_LEGEND}", fit=True)


def grid_width(table: Table) -> int:
    """The characters a grid needs on a terminal: each column's widest line, padding, borders."""
    widths = [
        max(len(line) for cell in (header, *(row[i] for row in table.rows)) if cell
            for line in str(cell).splitlines())
        for i, header in enumerate(table.headers)
    ]  # fmt: skip
    return sum(widths) + 3 * len(widths) + 1


def map_records(cells: Sequence[MapCell], columns_by: str) -> list[dict[str, Any]]:
    return [
        {
            "disease": c.disease,
            "columns_by": columns_by,
            "term": c.term,
            "studies": len(c.studies),
            "participants": c.participants,
            "strongest_design": c.strongest,
            "controlled": c.controlled,
            "study_ids": [s.id for s in c.studies],
        }
        for c in cells
    ]


def map_result(
    cells: Sequence[MapCell],
    columns_by: str,
    requested: Sequence[str] | None,
    figure: Callable[[Format], bytes],
) -> Result:
    """A grid on a terminal, one row per cell in plain formats, a figure for svg/png/pdf.

    Cells come in the grid's order: diseases, then terms, each by how many studies they hold.
    """
    diseases, terms = ordered_axes(cells)
    cells = sorted(cells, key=lambda c: (diseases.index(c.disease), terms.index(c.term)))

    def table(fmt: Format) -> Table:
        if fmt is Format.TABLE and not requested:
            from stemrenal.output.tables import terminal_width

            grid = map_grid(cells, columns_by)
            width = terminal_width()
            if grid_width(grid) <= width:
                return grid
            listed = tuple((c.disease, c.term, cell_text(c).replace("\n", ", ")) for c in cells)
            caption = (
                f"the grid needs {grid_width(grid)} columns; a wider terminal shows it, and "
                f"-o map.png draws it. {MAP_LEGEND}"
            )
            return Table(("disease", "term", "cell"), listed, caption)
        names = choose_columns(requested, list(MAP_COLUMNS), MAP_DEFAULTS)
        rows = tuple(tuple(as_text(MAP_COLUMNS[n](c)) for n in names) for c in cells)
        return Table(tuple(names), rows)

    return Result(records=lambda: map_records(cells, columns_by), table=table, figure=figure)


# ----------------------------------------------------------------------------- risk of bias

#: robvis's spelling of each judgement (its example data and `rob_tools()`).
ROBVIS_JUDGEMENTS = {
    "low": "Low",
    "some-concerns": "Some concerns",
    "high": "High",
    "moderate": "Moderate",
    "serious": "Serious",
    "critical": "Critical",
    appraisal.NO_INFORMATION: "No information",
}


def domain_keys(tool: str) -> list[str]:
    """D1, D2, ... as robvis names a tool's domains."""
    return [f"D{n}" for n in range(1, len(appraisal.DOMAINS[tool]) + 1)]


def rob_legend(tool: str) -> str:
    names = appraisal.DOMAINS[tool].values()
    keys = ", ".join(f"{k} {name}" for k, name in zip(domain_keys(tool), names, strict=True))
    return f"{appraisal.TOOL_LABELS[tool]}: {keys}. Weight: participants enrolled."


def _judgement(index: int) -> Callable[[BiasRow], object]:
    return lambda row: row.judgements[index]


def bias_result(
    rows: Sequence[BiasRow],
    tool: str,
    requested: Sequence[str] | None,
    figure: Callable[[Format], bytes],
) -> Result:
    """robvis's layout for --format robvis; the same rows, labelled, everywhere else."""
    keys = domain_keys(tool)
    columns: dict[str, Callable[[BiasRow], object]] = {
        "study": lambda r: r.study.id,
        "study_citation": lambda r: f"{short_citation(r.study)}\n{r.study.id}",
        "citation": lambda r: short_citation(r.study),
        "tool": lambda r: r.tool,
    }
    for index, key in enumerate(keys):
        columns[key] = _judgement(index)
    columns["overall"] = lambda r: r.overall
    columns["weight"] = lambda r: r.study.enrolled

    def table(fmt: Format) -> Table:
        if fmt is Format.ROBVIS:
            headers = ("Study", *keys, "Overall", "Weight")
            body = tuple(
                (
                    r.study.id,
                    *(ROBVIS_JUDGEMENTS[j] for j in r.judgements),
                    ROBVIS_JUDGEMENTS[r.overall],
                    as_text(r.study.enrolled),
                )
                for r in rows
            )
            return Table(headers, body)
        terminal = ("study_citation", *keys, "overall", "weight")
        plain = ("study", "citation", "tool", *keys, "overall", "weight")
        names = choose_columns(requested, list(columns), terminal if fmt is Format.TABLE else plain)
        body = tuple(tuple(as_text(columns[n](r)) for n in names) for r in rows)
        return Table(tuple(names), body, rob_legend(tool) if fmt is Format.TABLE else None)

    def records() -> list[dict[str, Any]]:
        return [
            {
                "study": r.study.id,
                "citation": short_citation(r.study),
                "tool": r.tool,
                "domains": dict(zip(appraisal.DOMAINS[tool], r.judgements, strict=True)),
                "overall": r.overall,
                "weight": r.study.enrolled,
            }
            for r in rows
        ]

    return Result(records=records, table=table, figure=figure)
