"""Figures: the evidence map as bubbles, and the risk-of-bias traffic light, drawn by matplotlib.

matplotlib is the optional `plot` extra and is imported only here, only when a figure is
written: no other command pays for it at startup (tests/test_synthesis.py checks). Figures
are deterministic (no dates in the metadata, a fixed SVG id salt) so a re-run gives the same
file, and SVG keeps its text as text, so labels can be searched and checked.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stemrenal.errors import UsageProblem
from stemrenal.output import Format
from stemrenal.output.synthesis import (
    DESIGN_ABBREVIATIONS,
    ROBVIS_JUDGEMENTS,
    ordered_axes,
    participants_text,
)

if TYPE_CHECKING:
    from stemrenal.synthesis import BiasRow, MapCell

INSTALL = "pip install 'stemrenal[plot]'"
DPI = 100

#: Colours that stay apart for colour-blind readers (Okabe-Ito), strongest design darkest.
DESIGN_COLOURS = {
    "rct": "#0072B2",
    "non-randomized-controlled": "#009E73",
    "single-arm": "#E69F00",
    "case-series": "#999999",
}
DESIGN_NAMES = {
    "rct": "randomized trial",
    "non-randomized-controlled": "non-randomized, controlled",
    "single-arm": "single arm, no control",
    "case-series": "case series or report",
}
#: Risk of bias as robvis colours it: low green, some concerns / moderate yellow, high /
#: serious red, critical dark red, no information blue-grey.
BIAS_COLOURS = {
    "low": "#02C100",
    "some-concerns": "#E2DF07",
    "moderate": "#E2DF07",
    "high": "#BF0000",
    "serious": "#BF0000",
    "critical": "#820000",
    "no-information": "#4EA1F7",
    "none": "#BBBBBB",
}
BIAS_SYMBOLS = {
    "low": "+",
    "some-concerns": "-",
    "moderate": "-",
    "high": "X",
    "serious": "X",
    "critical": "!",
    "no-information": "?",
}


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend; a usage error when the extra is absent."""
    try:
        import matplotlib
    except ImportError:
        raise UsageProblem(
            f"figures need the plotting extra (matplotlib): {INSTALL}", option="--output"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"svg.fonttype": "none", "svg.hashsalt": "stemrenal", "font.family": "DejaVu Sans"}
    )
    return plt


def _save(plt: Any, figure: Any, fmt: Format) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt is not Format.PNG else None
    figure.savefig(buffer, format=fmt.value, dpi=DPI, metadata=metadata)
    plt.close(figure)
    return buffer.getvalue()


def map_size(diseases: int, terms: int) -> tuple[float, float]:
    """The map's size in inches: room for every column and row, and for the legend."""
    return (max(9.0, 3.6 + 1.25 * terms + 3.2), max(5.5, 2.6 + 0.75 * diseases))


def bubble_area(participants: int, largest: int) -> float:
    """Marker area in points squared, proportional to participants (a small floor stays visible)."""
    return 60.0 + 1600.0 * participants / max(largest, 1)


def _worst_bias(cell: MapCell) -> str:
    from stemrenal.appraisal import RANK

    judged = [s.risk_of_bias.overall for s in cell.studies if s.risk_of_bias is not None]
    return max(judged, key=lambda j: RANK[j]) if judged else "none"


def map_figure(
    cells: Sequence[MapCell],
    columns_by: str,
    colour_by: str,
    title: str,
    footnote: str,
    fmt: Format,
) -> bytes:
    """Bubbles: diseases down, column terms across, sized by participants and coloured by the
    strongest design (or the worst risk of bias); a ring marks null controlled evidence."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    diseases, terms = ordered_axes(cells)
    width, height = map_size(len(diseases), len(terms))
    figure = plt.figure(figsize=(width, height), dpi=DPI)
    axes = figure.add_axes((2.9 / width, 1.9 / height, 1 - 6.2 / width, 1 - 2.9 / height))
    largest = max((c.participants for c in cells), default=1)
    y = {d: len(diseases) - 1 - i for i, d in enumerate(diseases)}
    x = {t: i for i, t in enumerate(terms)}
    for cell in cells:
        key = (cell.strongest or "") if colour_by == "design" else _worst_bias(cell)
        colour = (DESIGN_COLOURS if colour_by == "design" else BIAS_COLOURS).get(key, "#BBBBBB")
        px, py = x[cell.term], y[cell.disease]
        axes.scatter(
            px,
            py,
            s=bubble_area(cell.participants, largest),
            color=colour,
            alpha=0.85,
            edgecolors="black" if cell.null else "white",
            linewidths=2.4 if cell.null else 0.8,
            linestyle="--" if cell.null else "-",
            zorder=3,
        )
        label = f"{len(cell.studies)} / {participants_text(cell)}" + ("\nnull" if cell.null else "")
        offset = math.sqrt(bubble_area(cell.participants, largest)) / 2 + 3
        axes.annotate(
            label,
            (px, py),
            xytext=(0, -offset),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7.5,
            zorder=4,
        )
    axes.set_xticks(range(len(terms)), terms, rotation=35, ha="right", fontsize=9)
    axes.set_yticks(range(len(diseases)), list(reversed(diseases)), fontsize=9)
    axes.set_xlim(-0.7, len(terms) - 0.3)
    axes.set_ylim(-0.9, len(diseases) - 0.4)
    axes.grid(True, color="#E5E5E5", zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_xlabel(columns_by.replace("-", " "))
    figure.suptitle(title, x=0.02, ha="left", fontsize=12, fontweight="bold")
    figure.text(0.02, 0.015, footnote, fontsize=7.5, color="#444444", ha="left", va="bottom")

    if colour_by == "design":
        colours = {
            f"{DESIGN_ABBREVIATIONS[d]}: {DESIGN_NAMES[d]}": c for d, c in DESIGN_COLOURS.items()
        }
        heading = "strongest design"
    else:
        shown = {"low", "some-concerns", "high", "moderate", "serious", "critical", "none"}
        colours = {
            ("no controlled study" if k == "none" else k.replace("-", " ")): v
            for k, v in BIAS_COLOURS.items()
            if k in shown
        }
        heading = "worst risk of bias"
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=9, color=c, label=name)
        for name, c in colours.items()
    ]
    handles.append(
        Line2D(
            [], [], marker="o", linestyle="", markersize=9, markerfacecolor="white",
            markeredgecolor="black", markeredgewidth=2, label="null: controlled, no benefit",
        )
    )  # fmt: skip
    figure.legend(
        handles=handles,
        title=heading,
        loc="upper left",
        bbox_to_anchor=(1 - 3.1 / width, 1 - 1.0 / height),
        fontsize=8,
        title_fontsize=8.5,
        frameon=False,
    )
    sizes = sorted({max(1, largest // 10), max(1, largest // 2), largest})
    size_handles = [
        axes.scatter([], [], s=bubble_area(n, largest), color="#CCCCCC", label=f"{n}")
        for n in sizes
    ]
    figure.legend(
        handles=size_handles,
        title="participants",
        loc="lower left",
        bbox_to_anchor=(1 - 3.1 / width, 1.9 / height),
        fontsize=8,
        title_fontsize=8.5,
        frameon=False,
        labelspacing=1.6,
        borderpad=1.0,
    )
    return _save(plt, figure, fmt)


def traffic_light_size(studies: int, domains: int) -> tuple[float, float]:
    """Inches: study names, one column per domain and overall, the legend; the domain names
    below."""
    return (
        max(8.0, 3.4 + 0.75 * (domains + 1) + 2.2),
        3.0 + 0.42 * max(studies, 1) + 0.2 * domains,
    )


def traffic_light(
    rows: Sequence[BiasRow], tool: str, title: str, footnote: str, fmt: Format
) -> bytes:
    """robvis's traffic-light plot: one row per study, one circle per domain and overall."""
    from stemrenal.appraisal import DOMAINS, JUDGEMENTS, NO_INFORMATION
    from stemrenal.output.synthesis import domain_keys

    plt = _pyplot()
    from matplotlib.lines import Line2D

    keys = [*domain_keys(tool), "Overall"]
    domains = len(keys) - 1
    width, height = traffic_light_size(len(rows), domains)
    figure = plt.figure(figsize=(width, height), dpi=DPI)
    below = 0.75 + 0.2 * domains  # the domain names and the footnote
    axes = figure.add_axes(
        (3.4 / width, below / height, 0.75 * len(keys) / width, 1 - (below + 0.9) / height)
    )
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        for j, judgement in enumerate([*row.judgements, row.overall]):
            axes.scatter(j, y, s=380, color=BIAS_COLOURS[judgement], edgecolors="black", zorder=3)
            axes.text(
                j, y, BIAS_SYMBOLS[judgement], ha="center", va="center", fontsize=10,
                fontweight="bold", zorder=4,
            )  # fmt: skip
    axes.set_xticks(range(len(keys)), keys, fontsize=9)
    axes.xaxis.tick_top()
    axes.set_yticks(range(len(rows)), [r.study.id for r in reversed(rows)], fontsize=8.5)
    axes.set_xlim(-0.6, len(keys) - 0.4)
    axes.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    axes.axvline(len(keys) - 1.5, color="#999999", linewidth=0.8)
    for side in axes.spines.values():
        side.set_visible(False)
    axes.tick_params(length=0)
    figure.suptitle(title, x=0.02, ha="left", fontsize=11, fontweight="bold")
    names = "\n".join(f"{k}: {name}" for k, name in zip(keys, DOMAINS[tool].values(), strict=False))
    figure.text(0.02, 0.45 / height, names, fontsize=8, va="bottom", ha="left")
    used = {j for r in rows for j in (*r.judgements, r.overall)}
    order = [*JUDGEMENTS[tool], NO_INFORMATION]
    handles = [
        Line2D(
            [], [], marker="o", linestyle="", markersize=9, color=BIAS_COLOURS[j],
            markeredgecolor="black", label=ROBVIS_JUDGEMENTS[j],
        )
        for j in order
        if j in used
    ]  # fmt: skip
    figure.legend(
        handles=handles,
        title="judgement",
        loc="upper left",
        bbox_to_anchor=((3.6 + 0.75 * len(keys)) / width, 1 - 0.9 / height),
        fontsize=8.5,
        frameon=False,
    )
    figure.text(0.02, 0.1 / height, footnote, fontsize=7, color="#444444", ha="left", va="bottom")
    return _save(plt, figure, fmt)
