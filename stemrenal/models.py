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

from stemrenal import vocabulary
from stemrenal.durations import parse_duration
from stemrenal.facets import Facets, facets_of
from stemrenal.text import did_you_mean, first_control, quoted


def _fail(kind: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error whose message is final text (no template syntax to trip over)."""
    context: dict[str, str] = {"message": message}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(kind, "{message}", context)


def _printable(value: str) -> str:
    """Control characters could restyle a terminal or break a table: reject them at the door."""
    bad = first_control(value)
    if bad is not None:
        raise _fail("control_character", f"contains a control character ({bad})")
    if not value.strip():
        raise _fail("blank", "must not be blank")
    return value


Text = Annotated[str, AfterValidator(_printable)]
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


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise _fail("duration", str(exc)) from None
    return value


Duration = Annotated[Text, AfterValidator(_duration)]
Count = Annotated[int, Field(gt=0)]


def _empty() -> Any:
    """A list left out of the TOML: empty. A factory, not `= []`, which Pydantic deep-copies
    for every study (0.04 s of validating 10,000); the schema still shows the default."""
    return Field(default_factory=list, json_schema_extra={"default": []})


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, and loaded records never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Citation(StrictModel):
    authors: Annotated[list[Text], Field(min_length=1)]
    journal: Text
    volume: Text | None = None
    issue: Text | None = None
    pages: Text | None = None
    # \S lets ESC, BEL and C1 codes through; a DOI is printed and linked, so check it as text.
    doi: (
        Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$"), AfterValidator(_printable)]
        | None
    ) = None
    pmid: Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,9}$")] | None = None

    @model_validator(mode="after")
    def _doi_or_pmid(self) -> Citation:
        """A citation needs a DOI or a PMID so readers can find the paper."""
        if self.doi is None and self.pmid is None:
            raise _fail("no_identifier", "give a doi or a pmid (or both)")
        return self


class Design(StrictModel):
    kind: DesignTerm
    randomized: bool
    phase: Text | None = None
    blinding: Text | None = None
    comparator: Text | None = None
    prospective: bool | None = None
    centres: Count | None = None

    @model_validator(mode="after")
    def _randomized_matches_kind(self) -> Design:
        """`randomized` is true exactly when the design kind is rct."""
        if self.randomized != (self.kind == "rct"):
            flag = str(self.randomized).lower()
            raise _fail("randomized_kind", f"randomized = {flag} contradicts kind = {self.kind!r}")
        return self


class Arm(StrictModel):
    name: Text
    n: Count | None = None
    description: Text | None = None


class Intervention(StrictModel):
    cell_type: CellTypeTerm | None = None
    cell_source: CellSourceTerm | None = None
    tissue: TissueTerm | None = None
    dose: Text | None = None
    route: Text | None = None
    doses: Count | None = None


Direction = Literal["improved", "worsened", "no-difference", "mixed"]


class Outcome(StrictModel):
    endpoint: EndpointTerm
    measure: Text
    timepoint: Text
    result: Text
    p_value: Text | None = None
    direction: Direction | None = None


class Limitation(StrictModel):
    text: Text
    source: Literal["authors", "curator"]


class Study(StrictModel):
    id: Slug
    title: Text
    year: Annotated[int, Field(ge=1950, le=2100)]
    countries: list[Text] = _empty()
    institutions: list[Text] = _empty()
    registrations: list[Text]
    citation: Citation
    conditions: Annotated[list[DiseaseTerm], Field(min_length=1)]
    population: Text
    design: Design
    enrolled: Count | None = None
    arms: list[Arm] = _empty()
    intervention: Intervention = Intervention()
    follow_up: Duration | None = None
    outcomes: list[Outcome] = _empty()
    safety: Text | None = None
    limitations: Annotated[list[Limitation], Field(min_length=1)]
    sources: Annotated[list[Text], Field(min_length=1)]
    overlaps: list[Slug] = _empty()
    curation_notes: list[Text] = _empty()

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
        cell_type = self.intervention.cell_type
        return cell_type is not None and vocabulary.term("cell-type", cell_type).cell_free

    @cached_property
    def facets(self) -> Facets:
        """What filters and summaries read; the cache keeps a copy (see `stemrenal.facets`)."""
        return facets_of(self)


class RegistryFile(StrictModel):
    """One registry file: a list of `[[study]]` tables."""

    study: Annotated[list[Study], Field(min_length=1)]


def registry_json_schema() -> dict[str, Any]:
    """JSON Schema of a registry file, for editors (taplo / Even Better TOML)."""
    schema = RegistryFile.model_json_schema(mode="validation")
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "stemrenal study registry"
    return schema
