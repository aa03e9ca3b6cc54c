"""`stemrenal new`: a complete, commented `[[study]]` to fill in, for one design.

Every value to supply is a `TODO` placeholder, which `validate` rejects by name ("not filled
in yet"), so a skeleton never passes until each key is filled or deleted. `import` fills the
citation from an export and leaves the rest marked the same way.
"""

from __future__ import annotations

import json
from typing import Any

_CONTROLLED_ARMS = """
[[study.arms]]
name = "TODO: the cell-treated group, as the paper names it"
n = "TODO: how many were allocated to it"
role = "cells"

[[study.arms]]
name = "TODO: the comparison group, e.g. placebo"
n = "TODO"
role = "control"
"""

_SINGLE_ARM = """
[[study.arms]]
name = "TODO: the treated group, as the paper names it"
n = "TODO: how many were treated"
role = "cells"
"""

_RISK_OF_BIAS = {
    "rct": ("rob2", ["randomization", "deviations", "missing-data", "measurement",
                     "reported-result"]),
    "non-randomized-controlled": ("robins-i", ["confounding", "participant-selection",
                                               "classification", "deviations", "missing-data",
                                               "measurement", "reported-result"]),
}  # fmt: skip


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def skeleton(design: str, citation: dict[str, Any] | None = None, title: str | None = None,
             year: int | None = None) -> str:  # fmt: skip
    """The TOML text of a study to fill in; `citation`, `title`, `year` prefill what is known."""
    c = citation or {}
    controlled = design in ("rct", "non-randomized-controlled")
    lines = [
        "# A new study for the stemrenal registry. Replace every TODO with what the paper or",
        "# its registration says, or delete the key when no source you read says it (it then",
        '# shows as "not reported"). `stemrenal validate --strict FILE` names what is left.',
        "# Never fill a value in from memory, a review or a press release.",
        "",
        "[[study]]",
        "# author-year-topic, lower case: e.g. deng-2017-lupus-nephritis",
        f"id = {_q('TODO-author-year-topic')}",
        f"title = {_q(title or 'TODO: the title exactly as published')}",
        f"year = {year if year else _q('TODO: year of the issue (or online, if no issue)')}",
        "# from the affiliations; delete if they were not seen",
        'countries = ["TODO"]',
        'institutions = ["TODO: the departments or hospitals named in the affiliations"]',
        "# trial registry ids named in the paper (NCT..., ChiCTR..., IRCT...); [] if none",
        'registrations = ["TODO"]',
        "# `stemrenal vocab diseases`",
        'conditions = ["TODO: a disease term"]',
        "# who was enrolled, from the inclusion criteria (methods section)",
        f"population = {_q('TODO: who was enrolled')}",
        "# everyone allocated, all arms",
        f"enrolled = {_q('TODO: number enrolled')}",
        '# as reported, e.g. "12 months" or "mean 17.2 months"',
        f"follow_up = {_q('TODO: e.g. 12 months')}",
        f"safety = {_q('TODO: the adverse events in one or two sentences, as reported')}",
        "# FIRST the canonical record (https://pubmed.ncbi.nlm.nih.gov/PMID/, else",
        "# https://doi.org/DOI), then every page you read it in",
        'sources = ["TODO: https://pubmed.ncbi.nlm.nih.gov/.../"]',
        'last_checked = "TODO: today, YYYY-MM-DD"',
        "",
        "[study.citation]",
        '# "Surname AB", in the paper\'s order',
        f"authors = {_q(c.get('authors') or ['TODO: Surname AB'])}",
        f"journal = {_q(c.get('journal') or 'TODO: the journal name in full')}",
    ]
    for key in ("volume", "issue", "pages", "doi", "pmid"):
        if c.get(key):
            lines.append(f"{key} = {_q(c[key])}")
        else:
            lines.append(f'# {key} = "..."  (delete this line if the paper has none)')
    lines += [
        "",
        "[study.design]",
        f"kind = {_q(design)}",
        f"randomized = {'true' if design == 'rct' else 'false'}",
        '# blinding = "double-blind"  (only if stated)',
        f"comparator = {_q('TODO: what the cells were compared with, in words' if controlled else 'none')}",
        "# `stemrenal vocab comparators`: placebo, usual-care, active, dose-comparison, external",
        f"comparator_classes = {_q(['TODO: a comparator term'] if controlled else ['none'])}",
        "",
        "[study.severity]",
        "# only what the inclusion criteria state: ckd_stages, egfr_min, egfr_max, dialysis,",
        "# refractory, transplant_settings; delete the table if none is stated",
        f"note = {_q('TODO: severity at entry, in words, from the inclusion criteria')}",
    ]
    lines.append(_CONTROLLED_ARMS if controlled else _SINGLE_ARM)
    lines += [
        "[study.intervention]",
        "# `stemrenal vocab cell-types cell-sources tissues`",
        f"cell_type = {_q('TODO: a cell-type term')}",
        f"cell_source = {_q('TODO: autologous or allogeneic')}",
        f"tissue = {_q('TODO: a tissue term')}",
        f"dose = {_q('TODO: e.g. 2 x 10^6 cells/kg')}",
        f"route = {_q('TODO: e.g. intravenous')}",
        "",
        "[[study.outcomes]]",
        "# one table per outcome reported; `stemrenal vocab endpoints`",
        f"endpoint = {_q('TODO: an endpoint term')}",
        f"measure = {_q('TODO: what was measured, and how')}",
        f"timepoint = {_q('TODO: e.g. 6 months')}",
        f"result = {_q('TODO: the result as reported, with numbers')}",
        "# improved, worsened, no-difference or mixed; delete if the source states none",
        f"direction = {_q('TODO')}",
        "# between-groups (arms compared) or within-group (before/after)",
        f"comparison = {_q('between-groups' if controlled else 'within-group')}",
        "# primary = true only when the paper or its registration names it primary, with",
        "# primary_source = the page that says so",
        "",
        "[[study.limitations]]",
        f"text = {_q('TODO: a limitation the authors state')}",
        'source = "authors"',
        "",
        "[[study.limitations]]",
        f"text = {_q('TODO: a limitation evident from the design (size, no control, open label, surrogate endpoints, sponsor)')}",
        'source = "curator"',
    ]
    if controlled:
        tool, domains = _RISK_OF_BIAS[design]
        lines += [
            "",
            "[study.risk_of_bias]",
            f"tool = {_q(tool)}",
            f"overall = {_q('TODO: ' + ('low, some-concerns or high' if tool == 'rob2' else 'low, moderate, serious or critical'))}",
            "# abstract, full-text or review; curator, or review (then review = its citation)",
            'basis = "abstract"',
            'assessor = "curator"',
        ]
        for domain in domains:
            lines += [
                "",
                "[[study.risk_of_bias.domains]]",
                f"domain = {_q(domain)}",
                f"judgement = {_q('TODO')}",
                f"reason = {_q('TODO: one line a reviewer can check')}",
            ]
    return "\n".join(lines) + "\n"
