"""Risk-of-bias tools, their domains and judgements, and how judgements of both tools rank.

Pydantic-free: the models validate with it, filters and summaries rank with it, writers label
with it. RoB 2 (randomized trials) and ROBINS-I (non-randomized studies of interventions) are
the Cochrane tools; their domains are listed in the tools' own order (robvis's D1...D5 / D1...D7).
"""

from __future__ import annotations

from typing import Literal

#: Domains of each tool, in order, with the tool's own names.
DOMAINS: dict[str, dict[str, str]] = {
    "rob2": {
        "randomization": "Bias arising from the randomization process",
        "deviations": "Bias due to deviations from intended interventions",
        "missing-data": "Bias due to missing outcome data",
        "measurement": "Bias in measurement of the outcome",
        "reported-result": "Bias in selection of the reported result",
    },
    "robins-i": {
        "confounding": "Bias due to confounding",
        "participant-selection": "Bias in selection of participants into the study",
        "classification": "Bias in classification of interventions",
        "deviations": "Bias due to deviations from intended interventions",
        "missing-data": "Bias due to missing data",
        "measurement": "Bias in measurement of outcomes",
        "reported-result": "Bias in selection of the reported result",
    },
}

#: Judgements each tool allows, least to most severe ("no-information" stands apart).
JUDGEMENTS: dict[str, tuple[str, ...]] = {
    "rob2": ("low", "some-concerns", "high"),
    "robins-i": ("low", "moderate", "serious", "critical"),
}
NO_INFORMATION = "no-information"

#: One scale for both tools, for "at most" filters and for ordering: RoB 2's some concerns
#: and high sit beside ROBINS-I's moderate and serious, as robvis colours them.
RANK: dict[str, int] = {
    "low": 0,
    "some-concerns": 1,
    "moderate": 1,
    "high": 2,
    "serious": 2,
    "critical": 3,
}

#: Designs from the strongest evidence to the weakest (`--sort design`, "strongest design").
DESIGN_STRENGTH = ("rct", "non-randomized-controlled", "single-arm", "case-series")

#: The tool that fits each controlled design; other designs have no control group to judge.
TOOL_FOR_DESIGN = {"rct": "rob2", "non-randomized-controlled": "robins-i"}

TOOL_LABELS = {"rob2": "RoB 2", "robins-i": "ROBINS-I"}


def label(judgement: str) -> str:
    """ "some-concerns" -> "some concerns"."""
    return judgement.replace("-", " ")


#: The kinds of structured safety event (`[[study.safety_events]]`, `stemrenal safety --event`).
SafetyKind = Literal[
    "death",
    "serious-adverse-event",
    "infection",
    "malignancy",
    "infusion-reaction",
    "graft-loss",
    "rejection",
    "thrombosis",
    "other",
]


#: GRADE certainty of a body of evidence, highest first.
CERTAINTY = ("high", "moderate", "low", "very-low")

#: GRADE's reasons to rate down, and the ratings each allows with how many levels they take
#: off (GRADE handbook, section 5: "not serious / serious / very serious"; publication bias
#: "undetected / strongly suspected").
GRADE_DOMAINS: dict[str, dict[str, int]] = {
    "risk-of-bias": {"not-serious": 0, "serious": 1, "very-serious": 2},
    "inconsistency": {"not-serious": 0, "serious": 1, "very-serious": 2},
    "indirectness": {"not-serious": 0, "serious": 1, "very-serious": 2},
    "imprecision": {"not-serious": 0, "serious": 1, "very-serious": 2},
    "publication-bias": {"undetected": 0, "strongly-suspected": 1},
}

#: Where GRADE starts: randomized trials high, non-randomized studies low.
GRADE_START = {"rct": "high", "non-randomized-controlled": "low"}


def rated_down(start: str, levels: int) -> str:
    """The certainty `levels` below `start`, never below very low."""
    return CERTAINTY[min(CERTAINTY.index(start) + levels, len(CERTAINTY) - 1)]
