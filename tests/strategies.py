"""Hypothesis strategies for registry studies and a small TOML writer, shared by test modules.

Hostile text (every character a registry may hold, plus markup, quotes and breaks) and whole
registries of generated studies, written as TOML the way a curator would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from stemrenal import vocabulary

FEW = settings(max_examples=40, deadline=None)

# ----------------------------------------------------------------------------- text strategies


#: Characters a registry text field may hold: models.py rejects C0/C1 controls (except tab and
#: newline), line/paragraph separators, bidi controls and invisible (default-ignorable)
#: characters (`text._UNSAFE`).
def _allowed(ch: str) -> bool:
    import re

    from stemrenal.text import _UNSAFE

    return re.match(f"[{_UNSAFE}]", ch) is None


_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Cf")).filter(
    _allowed
)

#: Text that has broken table formats and terminals elsewhere.
TOKENS = [
    "|", "\\", "\\|", '"', "'", ",", ";", "[bold]", "[/bold]", "[link=https://x]", "[/link]",
    "[/]", ":smile:", "=1+1", "+1", "-1", "@SUM(A1)", "<br>", "<b>", "*", "`", "#", "&amp;",
    "中文", "狼疮性肾炎", "🙂", "e\u0301", "ß", "  ", "x",
]  # fmt: skip


def texts(breaks: bool) -> st.SearchStrategy[str]:
    """Non-blank text from tokens and arbitrary characters; with tabs and newlines if `breaks`."""
    pieces = TOKENS + (["\t", "\n", "\n\n"] if breaks else [])
    return (
        st.lists(
            st.one_of(st.sampled_from(pieces), st.text(_CHARS, min_size=1, max_size=6)),
            min_size=1,
            max_size=6,
        )
        .map("".join)
        .filter(lambda s: s.strip() != "")
        # a value starting with TODO is a skeleton's placeholder, refused on purpose
        .filter(lambda s: not s.lstrip().upper().startswith("TODO"))
    )


ONE_LINE = texts(breaks=False)
HOSTILE = texts(breaks=True)

# ----------------------------------------------------------------------------- study strategies

COUNTS = st.integers(min_value=1, max_value=10**6)
SLUGS = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
DOIS = st.from_regex(r"10\.[0-9]{4,9}/[!-~]{1,12}", fullmatch=True)
PMIDS = st.from_regex(r"[1-9][0-9]{0,9}", fullmatch=True)
FOLLOW_UPS = st.builds(
    "{}{}{}".format,
    st.one_of(st.integers(0, 400).map(str), st.from_regex(r"[0-9]{1,2}\.[0-9]", fullmatch=True)),
    st.sampled_from(["", " "]),
    st.sampled_from(["days", "weeks", "months", "years", "mo", "w", "y", "个月", "周", "年"]),
)


def term(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(vocabulary.ids(kind)))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def study(draw: st.DrawFn, text: st.SearchStrategy[str], sid: str) -> dict[str, Any]:
    # titles, citation fields, registrations and sources are one line (models.Line)
    line = text.map(lambda v: " ".join(v.split("\n")).replace("\t", " ").replace("\r", " ")).filter(
        lambda v: v.strip() != ""
    )
    """One valid study as the JSON record `list --format json` should give back."""
    kind = draw(term("design"))
    arms = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": text,
                    "n": maybe(COUNTS),
                    "description": maybe(text),
                    "role": maybe(st.sampled_from(["cells", "control"])),
                }
            ),
            max_size=3,
        )
    )
    controlled = kind in {"rct", "non-randomized-controlled"}
    comparators = draw(
        st.lists(
            st.sampled_from(["placebo", "usual-care", "active", "dose-comparison", "external"]),
            min_size=1,
            max_size=2,
            unique=True,
        )
        if controlled
        else st.sampled_from([["none"], ["external"]])
    )
    sources = draw(st.lists(line, min_size=1, max_size=2))
    low = draw(maybe(st.integers(0, 100)))
    high = draw(maybe(st.integers(low or 0, 150)))
    sizes = [arm["n"] for arm in arms]
    enrolled = draw(maybe(st.just(sum(sizes)) if arms and None not in sizes else COUNTS))
    doi = draw(maybe(DOIS))
    pmid = draw(PMIDS if doi is None else maybe(PMIDS))
    outcome = st.fixed_dictionaries(
        {
            "endpoint": term("endpoint"),
            "measure": text,
            "timepoint": text,
            "result": text,
            "p_value": maybe(text),
            "direction": maybe(st.sampled_from(["improved", "worsened", "no-difference", "mixed"])),
            "comparison": st.sampled_from(["between-groups", "within-group"]),
            "primary": st.just(False),
            "primary_source": st.none(),
            "estimate": st.none(),
            "arm_values": st.just([]),
        }
    )
    primary_outcome = outcome.map(lambda o: {**o, "primary": True, "primary_source": sources[0]})
    limitation = st.fixed_dictionaries(
        {"text": text, "source": st.sampled_from(["authors", "curator"])}
    )
    return {
        "id": sid,
        "title": draw(line),
        "year": draw(st.integers(1950, 2100)),
        "countries": draw(st.lists(text, max_size=2)),
        "institutions": draw(st.lists(text, max_size=2)),
        "registrations": draw(st.lists(line, max_size=2)),
        "citation": {
            "authors": draw(st.lists(line, min_size=1, max_size=3)),
            "journal": draw(line),
            "volume": draw(maybe(line)),
            "issue": draw(maybe(line)),
            "pages": draw(maybe(line)),
            "doi": doi,
            "pmid": pmid,
        },
        "conditions": draw(st.lists(term("disease"), min_size=1, max_size=3)),
        "population": draw(text),
        "design": {
            "kind": kind,
            "randomized": kind == "rct",
            "phase": draw(maybe(text)),
            "blinding": draw(maybe(text)),
            "comparator": draw(maybe(text)),
            "comparator_classes": comparators,
            "prospective": draw(maybe(st.booleans())),
            "centres": draw(maybe(COUNTS)),
        },
        "enrolled": enrolled,
        "severity": {
            "ckd_stages": draw(st.lists(st.integers(1, 5), unique=True, max_size=2)),
            "egfr_min": None if low is None else float(low),
            "egfr_max": None if high is None else float(high),
            "dialysis": draw(maybe(st.booleans())),
            "refractory": draw(maybe(st.booleans())),
            "transplant_settings": draw(
                st.lists(term("transplant-setting"), unique=True, max_size=2)
            ),
            "note": draw(maybe(text)),
            "source": None,
        },
        "arms": arms,
        "intervention": {
            "cell_type": draw(maybe(term("cell-type"))),
            "cell_source": draw(maybe(term("cell-source"))),
            "tissue": draw(maybe(term("tissue"))),
            "dose": draw(maybe(text)),
            "route": draw(maybe(text)),
            "doses": draw(maybe(COUNTS)),
        },
        "follow_up": draw(maybe(FOLLOW_UPS)),
        "follow_up_reported": draw(maybe(text)),
        "outcomes": draw(st.lists(st.one_of(outcome, primary_outcome), max_size=3)),
        "safety": draw(maybe(text)),
        "safety_events": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "event": st.sampled_from(["death", "infection", "other"]),
                        "description": text,
                        "arm": st.none(),
                        "count": maybe(st.integers(0, 5)),
                        "denominator": maybe(st.integers(5, 50)),
                        "serious": maybe(st.booleans()),
                        "relatedness": maybe(st.sampled_from(["related", "unrelated"])),
                        "source": st.none(),
                    }
                ),
                max_size=2,
            )
        ),
        "risk_of_bias": None,
        "limitations": draw(st.lists(limitation, min_size=1, max_size=3)),
        "sources": sources,
        "overlaps": [],
        "distinct_from": [],
        "curation_notes": draw(st.lists(text, max_size=2)),
        "last_checked": draw(maybe(st.dates().map(lambda d: d.isoformat()))),
    }


@st.composite
def registries(draw: st.DrawFn, text: st.SearchStrategy[str]) -> list[dict[str, Any]]:
    """One to three studies with distinct ids; overlaps name other studies of the file."""
    ids = draw(st.lists(SLUGS, min_size=1, max_size=3, unique=True))
    studies = [draw(study(text, sid)) for sid in ids]
    for record in studies:
        others = [i for i in ids if i != record["id"]]
        if others:
            record["overlaps"] = draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
    return studies


# ----------------------------------------------------------------------------- a small TOML writer


def toml_string(value: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}
    out = [escapes.get(ch, ch) for ch in value]
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def toml_pairs(record: dict[str, Any]) -> list[str]:
    return [f"{key} = {toml_value(value)}" for key, value in record.items() if value is not None]


def to_toml(studies: list[dict[str, Any]]) -> str:
    """Scalars first, then [study.x] tables, then [[study.x]] arrays; None means "leave out"."""
    parts: list[str] = []
    for record in studies:
        scalars = {k: v for k, v in record.items() if not _is_table(v)}
        parts += ["[[study]]", *toml_pairs(scalars)]
        for key, value in record.items():
            if isinstance(value, dict):
                parts += [f"[study.{key}]", *toml_pairs(value)]
            elif _is_table(value):
                for item in value:
                    parts += [f"[[study.{key}]]", *toml_pairs(item)]
        parts.append("")
    return "\n".join(parts)


def _is_table(value: object) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and isinstance(value[0], dict)
    )


def registry_file(tmp: str, studies: list[dict[str, Any]]) -> Path:
    path = Path(tmp) / "registry.toml"
    path.write_text(to_toml(studies), encoding="utf-8")
    return path
