"""The registry schema: what a valid study *is*, enforced by Pydantic v2 in strict mode.

Field names are the registry's TOML keys and the JSON output keys: one name per fact. A key
left out of the TOML means the sources did not report it; it validates to None (or empty).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from stemrenal import appraisal, vocabulary
from stemrenal.durations import parse_duration
from stemrenal.facets import Facets, facets_of, trial_facets
from stemrenal.text import did_you_mean, first_control, quoted


def _fail(kind: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error whose message is final text (no template syntax to trip over)."""
    context: dict[str, str] = {"message": message}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(kind, "{message}", context)


def _printable(value: str) -> str:
    """Control characters could restyle a terminal or break a table: reject them at the door.

    Printable ASCII (most strings) holds none, and a placeholder starts with "t" or a space:
    both are told without a search, which ran 722,842 times for a 10,000-study file.
    """
    if not (value.isascii() and value.isprintable()):
        bad = first_control(value)
        if bad is not None:
            raise _fail("control_character", f"contains a control character ({bad})")
    if not value or value.isspace():
        raise _fail("blank", "must not be blank")
    first = value[0]
    if (first in "tT" or first.isspace()) and value.lstrip().upper().startswith("TODO"):
        raise _fail(
            "unfilled",
            f"not filled in yet: replace {quoted(value)} (or delete the key if no source says it)",
        )
    return value


Text = Annotated[str, AfterValidator(_printable)]


def _one_line(value: str) -> str:
    """Citation fields, titles, identifiers and URLs are one line: a line break there could
    forge a line of a RIS or Vancouver reference. (Printable ASCII has none: no search.)"""
    _printable(value)
    if not (value.isascii() and value.isprintable()) and (
        "\n" in value or "\r" in value or "\t" in value
    ):
        raise _fail("line_break", "must be one line (no line breaks or tabs)")
    return value


Line = Annotated[str, AfterValidator(_one_line)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)]


def _term_checker(kind: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value in vocabulary.ids(kind):
            return value
        meant = vocabulary.lookup(kind, value)
        if meant is not None:
            raise _fail(
                "alias_not_canonical",
                f"{value!r} is an alias; the registry uses the canonical {kind} term {meant!r}",
            )
        # Terms are short; fuzzy-matching a hostile megabyte would take minutes.
        close = vocabulary.suggest(kind, value) if len(value) <= 100 else []
        hint = did_you_mean(close, in_data=True)
        shown = quoted(value)
        raise _fail("unknown_term", f"unknown {kind} term {shown}{hint} (see `stemrenal vocab`)")

    return check


def _term_schema(kind: str) -> Callable[[dict[str, Any]], None]:
    def extra(schema: dict[str, Any]) -> None:
        schema["enum"] = sorted(vocabulary.ids(kind))

    return extra


def _term(kind: str) -> Any:
    return Field(json_schema_extra=_term_schema(kind))


DiseaseTerm = Annotated[str, AfterValidator(_term_checker("disease")), _term("disease")]
CellTypeTerm = Annotated[str, AfterValidator(_term_checker("cell-type")), _term("cell-type")]
CellSourceTerm = Annotated[str, AfterValidator(_term_checker("cell-source")), _term("cell-source")]
TissueTerm = Annotated[str, AfterValidator(_term_checker("tissue")), _term("tissue")]
DesignTerm = Annotated[str, AfterValidator(_term_checker("design")), _term("design")]
EndpointTerm = Annotated[str, AfterValidator(_term_checker("endpoint")), _term("endpoint")]
ComparatorTerm = Annotated[str, AfterValidator(_term_checker("comparator")), _term("comparator")]
SettingTerm = Annotated[
    str, AfterValidator(_term_checker("transplant-setting")), _term("transplant-setting")
]


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise _fail("duration", str(exc)) from None
    return value


Duration = Annotated[Text, AfterValidator(_duration)]


def _iso_date(value: str) -> str:
    import datetime

    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise _fail(
            "date", f"{quoted(value)} is not a date: write YYYY-MM-DD, e.g. 2026-12-01"
        ) from None
    return value


IsoDate = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_iso_date)
]
Count = Annotated[int, Field(gt=0)]


def _empty() -> Any:
    """A list left out of the TOML: empty. A factory, not `= []`, which Pydantic deep-copies
    for every study (0.04 s of validating 10,000); the schema still shows the default."""
    return Field(default_factory=list, json_schema_extra={"default": []})


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, and loaded records never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Citation(StrictModel):
    authors: Annotated[list[Line], Field(min_length=1)]
    journal: Line
    volume: Line | None = None
    issue: Line | None = None
    pages: Line | None = None
    # \S lets ESC, BEL and C1 codes through; a DOI is printed and linked, so check it as text.
    doi: (
        Annotated[
            str, StringConstraints(pattern=r"^10\.[0-9]{4,9}/\S+$"), AfterValidator(_printable)
        ]
        | None
    ) = None
    pmid: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,9}$")] | None = None  # ASCII

    @model_validator(mode="after")
    def _doi_or_pmid(self) -> Citation:
        """A citation needs a DOI or a PMID so readers can find the paper."""
        if self.doi is None and self.pmid is None:
            raise _fail("no_identifier", "give a doi or a pmid (or both)")
        return self


def _described(text: str, **kwargs: Any) -> Any:
    """A field with a description for the JSON Schema (what editors show as you type)."""
    return Field(description=text, **kwargs)


Source = Annotated[
    Text, Field(description="The URL (or identifier) this was read in; also in `sources`.")
]

#: Fields a claim compares as numbers (`stemrenal check`).
CLAIM_NUMBER_FIELDS = ("enrolled", "year", "follow_up_months")

#: Controlled designs: compared with a concurrent or external control group.
CONTROLLED = frozenset(appraisal.TOOL_FOR_DESIGN)


class Design(StrictModel):
    kind: DesignTerm
    randomized: bool
    phase: Text | None = None
    blinding: Text | None = None
    comparator: Text | None = None
    comparator_classes: Annotated[
        list[ComparatorTerm],
        _described(
            "What the cell-treated group was compared with, as classes (`stemrenal vocab "
            "comparators`): placebo, usual-care, active, dose-comparison, external, or none "
            "for no control group.",
            min_length=1,
        ),
    ]
    prospective: bool | None = None
    centres: Count | None = None

    @model_validator(mode="after")
    def _randomized_matches_kind(self) -> Design:
        """`randomized` is true exactly when the design kind is rct; the comparator classes
        fit the design (a controlled design has a control, an uncontrolled one none)."""
        if self.randomized != (self.kind == "rct"):
            flag = str(self.randomized).lower()
            raise _fail("randomized_kind", f"randomized = {flag} contradicts kind = {self.kind!r}")
        classes = self.comparator_classes
        if "none" in classes and len(classes) > 1:
            raise _fail(
                "comparator_none", "'none' cannot be combined with other comparator classes"
            )
        if self.kind in CONTROLLED and "none" in classes:
            raise _fail(
                "comparator_design",
                f"a {self.kind} study has a control group: name its class, not 'none'",
            )
        if self.kind not in CONTROLLED and not set(classes) <= {"none", "external"}:
            raise _fail(
                "comparator_design",
                f"a {self.kind} study has no concurrent control: use 'none' (or 'external' "
                "for historical controls)",
            )
        return self


class Arm(StrictModel):
    name: Text
    n: Count | None = None
    description: Text | None = None
    role: Literal["cells", "control"] | None = _described(
        "cells: the group given cells or the cell product; control: a comparison group.",
        default=None,
    )


CkdStage = Annotated[int, Field(ge=1, le=5)]
Egfr = Annotated[float, Field(ge=0, le=200, allow_inf_nan=False)]


class Severity(StrictModel):
    """Who was enrolled, by the inclusion criteria (not by the results)."""

    ckd_stages: list[CkdStage] = _empty()
    egfr_min: Egfr | None = _described(
        "Inclusion eGFR lower bound, mL/min/1.73 m2, as the criteria state it.", default=None
    )
    egfr_max: Egfr | None = _described(
        "Inclusion eGFR upper bound, mL/min/1.73 m2, as the criteria state it.", default=None
    )
    dialysis: bool | None = _described(
        "true: dialysis-dependent at enrolment; false: not on dialysis.", default=None
    )
    refractory: bool | None = _described(
        "true: inclusion requires failure of standard therapy; false: new or untreated disease.",
        default=None,
    )
    transplant_settings: list[SettingTerm] = _empty()
    note: Text | None = _described("The inclusion criteria in a line, as reported.", default=None)
    source: Source | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Severity:
        if len(set(self.ckd_stages)) != len(self.ckd_stages):
            raise _fail("stages_repeated", "a CKD stage is listed twice", "ckd_stages")
        low, high = self.egfr_min, self.egfr_max
        if low is not None and high is not None and low > high:
            raise _fail("egfr_range", f"egfr_min {low:g} is above egfr_max {high:g}", "egfr_min")
        return self


class Intervention(StrictModel):
    cell_type: CellTypeTerm | None = None
    cell_source: CellSourceTerm | None = None
    tissue: TissueTerm | None = None
    dose: Text | None = None
    route: Text | None = None
    doses: Count | None = None


def _cell_free(intervention: Intervention) -> bool:
    """True for products that are not cells (e.g. extracellular vesicles)."""
    cell_type = intervention.cell_type
    return cell_type is not None and vocabulary.term("cell-type", cell_type).cell_free


Direction = Literal["improved", "worsened", "no-difference", "mixed"]


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Estimate(StrictModel):
    """An effect estimate as the source reports it (cells against control)."""

    measure: Literal[
        "hr", "rr", "or", "mean-difference", "median-difference", "risk-difference"
    ] = _described("hr, rr, or: ratios; the differences: cells minus control.")
    value: Finite
    ci_low: Finite | None = None
    ci_high: Finite | None = None
    ci_level: Annotated[float, Field(gt=0, lt=100)] | None = _described(
        "Confidence level in percent (95 when the source says 95% CI).", default=None
    )
    source: Source | None = None

    @model_validator(mode="after")
    def _interval(self) -> Estimate:
        low, high = self.ci_low, self.ci_high
        if (low is None) != (high is None):
            raise _fail("ci_half", "give both ci_low and ci_high, or neither")
        if low is not None and high is not None and not low <= self.value <= high:
            raise _fail(
                "ci_order",
                f"the interval {low:g} to {high:g} does not hold the value {self.value:g}",
            )
        if low is not None and self.ci_level is None:
            raise _fail("ci_level", "give ci_level with a confidence interval (e.g. 95)")
        return self


class ArmValue(StrictModel):
    """One arm's value for an outcome: events of a total, or a mean and SD."""

    arm: Text = _described("The `name` of one of the study's arms.")
    events: Annotated[int, Field(ge=0)] | None = None
    total: Count | None = None
    mean: Finite | None = None
    sd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ArmValue:
        if self.events is None and self.mean is None:
            raise _fail("arm_value_empty", "give events (with total) or a mean")
        if self.events is not None and self.total is not None and self.events > self.total:
            raise _fail("events_total", f"{self.events} events out of a total of {self.total}")
        if self.sd is not None and self.mean is None:
            raise _fail("sd_alone", "an sd needs its mean")
        return self


class Outcome(StrictModel):
    endpoint: EndpointTerm
    measure: Text
    timepoint: Text
    result: Text
    p_value: Text | None = None
    direction: Direction | None = _described(
        "What the result shows, read with `comparison`: between groups, cells against control; "
        "within a group, after against before.",
        default=None,
    )
    comparison: Literal["between-groups", "within-group"] = _described(
        "between-groups: arms compared with each other; within-group: before and after in "
        "the same people (no control)."
    )
    primary: bool = _described(
        "true only when the paper or its registration names this the primary outcome.",
        default=False,
    )
    primary_source: Source | None = _described(
        "With primary = true: the page that names it primary.", default=None
    )
    estimate: Estimate | None = None
    arm_values: list[ArmValue] = _empty()

    @model_validator(mode="after")
    def _primary_named(self) -> Outcome:
        if self.primary and self.primary_source is None:
            raise _fail(
                "primary_source",
                "primary = true needs primary_source: the page that names it primary",
                "primary_source",
            )
        if self.primary_source is not None and not self.primary:
            raise _fail(
                "primary_source", "primary_source is given but primary is not true", "primary"
            )
        return self


class BiasDomain(StrictModel):
    domain: Text
    judgement: Text
    reason: Text = _described("One line a reviewer can check against the source.")


class RiskOfBias(StrictModel):
    """A risk-of-bias judgement of a controlled study, with who made it and on what basis."""

    tool: Literal["rob2", "robins-i"] = _described(
        "rob2 for randomized trials, robins-i for non-randomized controlled studies."
    )
    overall: Text = _described(
        "rob2: low, some-concerns, high; robins-i: low, moderate, serious, critical."
    )
    basis: Literal["abstract", "full-text", "review"] = _described(
        "What the judgement was made from."
    )
    assessor: Literal["curator", "review"] = _described(
        "curator: judged by the registry's curator; review: a published review's assessment."
    )
    review: Text | None = _described("With assessor = review: its citation.", default=None)
    source: Source | None = None
    domains: Annotated[list[BiasDomain], Field(min_length=1)]

    @model_validator(mode="after")
    def _fits_the_tool(self) -> RiskOfBias:
        allowed = appraisal.JUDGEMENTS[self.tool]
        words = ", ".join(allowed)
        if self.overall not in allowed:
            raise _fail(
                "judgement",
                f"{quoted(self.overall)} is not a {self.tool} judgement ({words})",
                "overall",
            )
        expected = list(appraisal.DOMAINS[self.tool])
        names = [d.domain for d in self.domains]
        for number, domain in enumerate(self.domains):
            where = f"domains[{number}]"
            if domain.domain not in expected:
                raise _fail(
                    "domain",
                    f"{quoted(domain.domain)} is not a {self.tool} domain ({', '.join(expected)})",
                    where,
                )
            if domain.judgement not in (*allowed, appraisal.NO_INFORMATION):
                raise _fail(
                    "judgement",
                    f"{quoted(domain.judgement)} is not a {self.tool} judgement ({words}, "
                    f"{appraisal.NO_INFORMATION})",
                    where,
                )
        if names != expected:
            raise _fail(
                "domains",
                f"give the {self.tool} domains once each, in order: {', '.join(expected)}",
                "domains",
            )
        worst = max(
            (appraisal.RANK[d.judgement] for d in self.domains if d.judgement in appraisal.RANK),
            default=0,
        )
        if appraisal.RANK[self.overall] < worst:
            raise _fail(
                "overall",
                f"overall {self.overall!r} is less severe than the worst domain",
                "overall",
            )
        if self.assessor == "review" and self.review is None:
            raise _fail("review", "assessor = review needs the review's citation", "review")
        return self


class SafetyEvent(StrictModel):
    """An adverse event as reported: in which arm, how many of how many, how serious."""

    event: appraisal.SafetyKind
    description: Text
    arm: Text | None = _described("The `name` of the arm it occurred in.", default=None)
    count: Annotated[int, Field(ge=0)] | None = None
    denominator: Count | None = None
    serious: bool | None = None
    relatedness: Literal["related", "possibly-related", "unrelated"] | None = _described(
        "The authors' judgement of relation to the cells.", default=None
    )
    source: Source | None = None

    @model_validator(mode="after")
    def _counts(self) -> SafetyEvent:
        if (
            self.count is not None
            and self.denominator is not None
            and self.count > self.denominator
        ):
            raise _fail("count", f"a count of {self.count} out of {self.denominator}", "count")
        return self


class Limitation(StrictModel):
    text: Text
    source: Literal["authors", "curator"]


class Study(StrictModel):
    id: Slug
    title: Line
    year: Annotated[int, Field(ge=1950, le=2100)]
    countries: list[Text] = _empty()
    institutions: list[Text] = _empty()
    registrations: list[Line]
    citation: Citation
    conditions: Annotated[list[DiseaseTerm], Field(min_length=1)]
    population: Text
    design: Design
    enrolled: Count | None = None
    severity: Severity = Severity()
    arms: list[Arm] = _empty()
    intervention: Intervention = Intervention()
    follow_up: Duration | None = None
    follow_up_reported: Text | None = _described(
        "The follow-up as the paper reports it when that is not one duration, e.g. "
        '"mean 17.2 ± 9.5 months"; `follow_up` then holds the duration filters read.',
        default=None,
    )
    outcomes: list[Outcome] = _empty()
    safety: Text | None = None
    safety_events: list[SafetyEvent] = _empty()
    risk_of_bias: RiskOfBias | None = None
    limitations: Annotated[list[Limitation], Field(min_length=1)]
    sources: Annotated[list[Line], Field(min_length=1)]
    overlaps: list[Slug] = _empty()
    distinct_from: list[Slug] = _described(
        "Studies checked and found not to share participants, though they share a centre or "
        "a registration (say why in curation_notes); silences `validate --strict`'s warning.",
        default_factory=list,
        json_schema_extra={"default": []},
    )
    curation_notes: list[Text] = _empty()
    last_checked: IsoDate | None = _described(
        "The date (YYYY-MM-DD) this record was last checked against its sources.", default=None
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def follow_up_months(self) -> float | None:
        """Follow-up in months, parsed from `follow_up`, so it can be filtered and sorted."""
        return None if self.follow_up is None else parse_duration(self.follow_up)

    # Field validators, not model validators: they run even when other fields are invalid,
    # so `validate` reports these problems beside the rest instead of after the next fix.
    @field_validator("arms")
    @classmethod
    def _arms_add_up(cls, arms: list[Arm], info: ValidationInfo) -> list[Arm]:
        """Where every arm gives its n, the arms add up to `enrolled`."""
        enrolled = info.data.get("enrolled")
        sizes = [arm.n for arm in arms]
        if arms and enrolled is not None and None not in sizes:
            total = sum(n for n in sizes if n is not None)
            if total != enrolled:
                raise _fail(
                    "arms_total",
                    f"the arms' n add up to {total}, but enrolled is {enrolled}",
                    "arms",
                )
        return arms

    @field_validator("outcomes")
    @classmethod
    def _outcome_arms_exist(cls, outcomes: list[Outcome], info: ValidationInfo) -> list[Outcome]:
        """Per-arm values name arms of this study."""
        names = {arm.name for arm in info.data.get("arms") or ()}
        for number, outcome in enumerate(outcomes):
            for index, value in enumerate(outcome.arm_values):
                if value.arm not in names:
                    raise _fail(
                        "unknown_arm",
                        f"{quoted(value.arm)} is not the name of one of this study's arms",
                        f"outcomes[{number}].arm_values[{index}].arm",
                    )
        return outcomes

    @field_validator("safety_events")
    @classmethod
    def _event_arms_exist(
        cls, events: list[SafetyEvent], info: ValidationInfo
    ) -> list[SafetyEvent]:
        """A safety event's arm is one of this study's arms."""
        names = {arm.name for arm in info.data.get("arms") or ()}
        for number, event in enumerate(events):
            if event.arm is not None and event.arm not in names:
                raise _fail(
                    "unknown_arm",
                    f"{quoted(event.arm)} is not the name of one of this study's arms",
                    f"safety_events[{number}].arm",
                )
        return events

    @field_validator("risk_of_bias")
    @classmethod
    def _tool_fits_design(
        cls, judged: RiskOfBias | None, info: ValidationInfo
    ) -> RiskOfBias | None:
        """RoB 2 judges randomized trials, ROBINS-I non-randomized controlled studies; a study
        without a control group is not scored (it reads "no control group")."""
        design = info.data.get("design")
        if judged is None or design is None:
            return judged
        tool = appraisal.TOOL_FOR_DESIGN.get(design.kind)
        if tool is None:
            raise _fail(
                "no_control",
                f"a {design.kind} study has no control group to judge; leave risk_of_bias out",
                "risk_of_bias",
            )
        if judged.tool != tool:
            raise _fail(
                "tool",
                f"a {design.kind} study is judged with {tool}, not {judged.tool}",
                "risk_of_bias.tool",
            )
        return judged

    @field_validator("sources")
    @classmethod
    def _every_source_is_listed(cls, sources: list[str], info: ValidationInfo) -> list[str]:
        """Every `source` and `primary_source` inside the study is one of its `sources`."""
        listed = set(sources)
        for where, url in _inner_sources(info.data):
            if url not in listed:
                raise _fail(
                    "source_not_listed",
                    f"{where} names {quoted(url)}, which is not in sources: add it there",
                    "sources",
                )
        return sources

    @field_validator("overlaps")
    @classmethod
    def _no_self_overlap(cls, overlaps: list[str], info: ValidationInfo) -> list[str]:
        """A study cannot overlap itself."""
        if info.data.get("id") in overlaps:
            raise _fail("self_overlap", "a study cannot overlap itself", "overlaps")
        return overlaps

    @property
    def cell_free(self) -> bool:
        """True for products that are not cells (e.g. extracellular vesicles)."""
        return _cell_free(self.intervention)

    @cached_property
    def facets(self) -> Facets:
        """What filters and summaries read; the cache keeps a copy (see `stemrenal.facets`)."""
        return facets_of(self)


def _inner_sources(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, url) of every source named inside a study's parts."""
    found: list[tuple[str, str]] = []
    severity = data.get("severity")
    if severity is not None and severity.source:
        found.append(("severity.source", severity.source))
    for n, outcome in enumerate(data.get("outcomes") or ()):
        if outcome.primary_source:
            found.append((f"outcomes[{n}].primary_source", outcome.primary_source))
        if outcome.estimate is not None and outcome.estimate.source:
            found.append((f"outcomes[{n}].estimate.source", outcome.estimate.source))
        found += [
            (f"outcomes[{n}].arm_values[{i}].source", v.source)
            for i, v in enumerate(outcome.arm_values)
            if v.source
        ]
    found += [
        (f"safety_events[{n}].source", e.source)
        for n, e in enumerate(data.get("safety_events") or ())
        if e.source
    ]
    judged = data.get("risk_of_bias")
    if judged is not None and judged.source:
        found.append(("risk_of_bias.source", judged.source))
    return found


RegistryId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]{2,39}$"), AfterValidator(_printable)
]
PartialDate = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"),
    _described("As registered: YYYY, YYYY-MM or YYYY-MM-DD."),
]


class Trial(StrictModel):
    """A registered trial, kept so that trials never reported can be counted and seen."""

    id: RegistryId = _described("The registry's id, e.g. NCT03840343 or ChiCTR2000031234.")
    title: Text
    sponsor: Text | None = None
    conditions: Annotated[list[DiseaseTerm], Field(min_length=1)]
    population: Text | None = None
    design: DesignTerm | None = None
    randomized: bool | None = None
    comparator_classes: list[ComparatorTerm] = _empty()
    intervention: Intervention = Intervention()
    planned_enrolment: Count | None = None
    actual_enrolment: Annotated[int, Field(ge=0)] | None = None
    status: Literal[
        "completed",
        "terminated",
        "withdrawn",
        "suspended",
        "unknown",
        "active-not-recruiting",
        "recruiting",
    ] = _described("The registry's recruitment status, as last seen.")
    start: PartialDate | None = None
    completion: PartialDate | None = None
    results_posted: bool | None = _described(
        "Results posted on the registry itself (not a journal).", default=None
    )
    publication: Literal["none-found", "published"] = _described(
        "none-found: no results publication was found by the searches of `last_checked`."
    )
    published_as: list[Slug] = _empty()
    last_checked: IsoDate
    sources: Annotated[list[Text], Field(min_length=1)]
    notes: list[Text] = _empty()

    @model_validator(mode="after")
    def _publication_named(self) -> Trial:
        if self.publication == "published" and not self.published_as:
            raise _fail(
                "published_as", "publication = published needs published_as", "published_as"
            )
        if self.publication == "none-found" and self.published_as:
            raise _fail(
                "published_as", "published_as is given but publication is none-found", "publication"
            )
        known = self.design is not None and self.randomized is not None
        if known and self.randomized != (self.design == "rct"):
            raise _fail("randomized_kind", "randomized contradicts design", "randomized")
        return self

    @property
    def cell_free(self) -> bool:
        """True for products that are not cells (e.g. extracellular vesicles)."""
        return _cell_free(self.intervention)

    @cached_property
    def facets(self) -> Facets:
        """Trials answer the same filters as studies where they hold the facet."""
        return trial_facets(self)


class Excluded(StrictModel):
    """A record looked at and left out of the registry, with the reason: what is missing and why."""

    id: Slug
    citation: Text
    doi: Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")] | None = None
    pmid: Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,9}$")] | None = None
    reason: Literal[
        "not-confirmed",
        "out-of-scope",
        "too-few-patients",
        "not-cells",
        "no-kidney-outcome",
        "duplicate",
    ]
    detail: Text
    checked: IsoDate
    sources: list[Text] = _empty()


class Coverage(StrictModel):
    """How the registry was built: what was searched, with which terms, what it includes."""

    version: Text = _described("The registry's version, e.g. 2026.12.")
    last_search: IsoDate
    scope: Text
    searched: Annotated[list[Text], Field(min_length=1)]
    terms: Annotated[list[Text], Field(min_length=1)]
    inclusion: Annotated[list[Text], Field(min_length=1)]
    exclusion: Annotated[list[Text], Field(min_length=1)]
    limitations: list[Text] = _empty()


class GradeDomain(StrictModel):
    """One GRADE reason to rate down, with the rating and why."""

    domain: Text
    rating: Text
    reason: Text = _described("Why, in words a reviewer can check against the studies.")


class Certainty(StrictModel):
    """A GRADE-style judgement of a body of evidence: how sure one can be of an effect on one
    endpoint in one disease, with the reason for every domain and who judged it."""

    id: Slug
    disease: DiseaseTerm
    endpoint: EndpointTerm
    comparison: Text = _described("What was compared, e.g. 'MSC with standard care vs placebo'.")
    studies: Annotated[list[Slug], Field(min_length=1)] = _described(
        "The registry's studies that make up this body of evidence."
    )
    start: Literal["high", "low"] = _described(
        "Where GRADE starts: high for randomized trials, low for non-randomized studies."
    )
    certainty: Literal["high", "moderate", "low", "very-low"] = _described(
        "start, rated down one level per serious and two per very serious domain."
    )
    effect: Text = _described("What the evidence shows, in words, with studies and people.")
    domains: Annotated[list[GradeDomain], Field(min_length=1)]
    assessor: Literal["curator", "review"] = _described(
        "curator: the registry's curator; review: a published review's Summary of Findings."
    )
    basis: Literal["abstract", "full-text", "review"] = _described(
        "What the judgement was made from."
    )
    review: Text | None = _described("With assessor = review: its citation.", default=None)
    source: Source | None = _described(
        "With assessor = review: the page of its Summary of Findings.", default=None
    )
    assessed: IsoDate
    notes: list[Text] = _empty()

    @model_validator(mode="after")
    def _graded(self) -> Certainty:
        expected = list(appraisal.GRADE_DOMAINS)
        levels = 0
        for number, domain in enumerate(self.domains):
            where = f"domains[{number}]"
            ratings = appraisal.GRADE_DOMAINS.get(domain.domain)
            if ratings is None:
                raise _fail(
                    "domain",
                    f"{quoted(domain.domain)} is not a GRADE domain ({', '.join(expected)})",
                    where,
                )
            if domain.rating not in ratings:
                raise _fail(
                    "rating",
                    f"{quoted(domain.rating)} is not a rating of {domain.domain} "
                    f"({', '.join(ratings)})",
                    where,
                )
            levels += ratings[domain.rating]
        if [d.domain for d in self.domains] != expected:
            raise _fail(
                "domains",
                f"give the GRADE domains once each, in order: {', '.join(expected)}",
                "domains",
            )
        graded = appraisal.rated_down(self.start, levels)
        if graded != self.certainty:
            raise _fail(
                "certainty",
                f"certainty {self.certainty!r} does not follow from start {self.start!r} rated "
                f"down {levels} level(s); that gives {graded!r}",
                "certainty",
            )
        if self.assessor == "review" and (self.review is None or self.source is None):
            raise _fail(
                "review", "assessor = review needs the review's citation and source", "review"
            )
        return self


# ----------------------------------------------------------------------------- claims files
# `stemrenal check`: what an article states about studies (compared in `claims`).


class Article(StrictModel):
    """The article whose claims are checked."""

    title: Text
    publisher: Text
    url: Text | None = _described("Where the article was read, when known.", default=None)
    date: IsoDate | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z]+)?$")] = _described(
        "The article's language (BCP 47, e.g. zh, en)."
    )
    checked: IsoDate = _described("When its claims were checked against the registry.")
    notes: list[Text] = _empty()


class Claim(StrictModel):
    """One thing the article states about a study: the words, and what they assert."""

    quote: Text = _described("The article's words, verbatim, in its language.")
    translation: Text | None = _described(
        "An English translation when the article is not in English.", default=None
    )
    study: Slug | None = _described(
        "The registry id of the study the claim is about.", default=None
    )
    studies: list[Slug] = _described(
        "With aggregate = sum: the studies a count is about.", default_factory=list
    )
    aggregate: Literal["sum"] | None = None
    field: Literal[
        "enrolled",
        "year",
        "follow_up_months",
        "journal",
        "institutions",
        "countries",
        "comparator",
        "design",
        "cell_source",
        "cell_type",
        "tissue",
        "dose",
        "endpoints",
        "outcome",
        "judgement",
    ] = _described("The registry field the claim asserts a value of; judgement for the rest.")
    value: int | float | str = _described("What the article asserts, as it says it.")
    endpoint: EndpointTerm | None = _described(
        "With field = outcome: the endpoint whose reported results are searched.", default=None
    )
    verdict: Literal["agrees", "contradicts", "not-in-sources"] | None = _described(
        "With field = judgement only: the curator's verdict.", default=None
    )
    reason: Text | None = _described(
        "With field = judgement: why, checkable against the studies' sources.", default=None
    )
    note: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> Claim:
        if (self.study is None) == (not self.studies):
            raise _fail("study", "name the study (study = ...) or, for a count, studies = [...]")
        if self.studies and (self.aggregate != "sum" or self.field != "enrolled"):
            raise _fail(
                "aggregate", "studies = [...] is for a total: aggregate = sum, field = enrolled"
            )
        if self.field == "judgement":
            if self.verdict is None or self.reason is None:
                raise _fail("verdict", "a judgement needs the curator's verdict and reason")
        elif self.verdict is not None:
            raise _fail(
                "verdict", "only field = judgement takes a verdict; the program compares the rest"
            )
        if (self.field == "outcome") != (self.endpoint is not None):
            raise _fail("endpoint", "field = outcome needs an endpoint (and only it takes one)")
        if self.field in CLAIM_NUMBER_FIELDS and isinstance(self.value, (str, bool)):
            raise _fail("value", f"{self.field} takes a number (got {self.value!r})", "value")
        return self


class ClaimsFile(StrictModel):
    """A claims file: the article and its claims."""

    article: Article
    claim: Annotated[list[Claim], Field(min_length=1)]

    @model_validator(mode="after")
    def _translated(self) -> ClaimsFile:
        if not self.article.language.startswith("en"):
            for number, claim in enumerate(self.claim):
                if claim.translation is None:
                    raise _fail(
                        "translation",
                        "the article is not in English: give each claim a translation",
                        f"claim[{number}].translation",
                    )
        return self


class RegistryFile(StrictModel):
    """One registry file: `[[study]]` tables, and optionally `[[trial]]`, `[[excluded]]` and
    `[[certainty]]` tables and one `[coverage]` statement."""

    study: list[Study] = _empty()
    trial: list[Trial] = _empty()
    excluded: list[Excluded] = _empty()
    certainty: list[Certainty] = _empty()
    coverage: Coverage | None = None


def registry_json_schema() -> dict[str, Any]:
    """JSON Schema of a registry file, for editors (taplo / Even Better TOML)."""
    schema = RegistryFile.model_json_schema(mode="validation")
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "stemrenal study registry"
    return schema
