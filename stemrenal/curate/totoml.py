"""A study as registry TOML (`show --format toml`): what `validate` reads back unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stemrenal.models import Study


def _value(value: Any) -> Any:
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.table()
        for key, item in value.items():
            table.add(key, _value(item))
        return table
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        tables = tomlkit.aot()
        for item in value:
            tables.append(_value(item))
        return tables
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(value)
        if len(value) > 1 and sum(len(str(v)) for v in value) > 60:
            array.multiline(True)
        return array
    return value


def record(study: Study) -> dict[str, Any]:
    """The study's registry keys: what the file holds (defaults and computed values left out)."""
    from stemrenal.models import Study

    lazy: Any = study  # may be the cache's read-only stand-in (typed as a Study)
    if not isinstance(lazy, Study):  # then the model, rebuilt from its record
        data = lazy.model_dump(mode="json")
        data.pop("follow_up_months", None)
        study = Study.model_validate(data)
    return study.model_dump(mode="json", exclude_defaults=True, exclude={"follow_up_months"})


def study_toml(study: Study) -> str:
    """One `[[study]]` table, in the model's key order."""
    import tomlkit

    document = tomlkit.document()
    tables = tomlkit.aot()
    tables.append(_value(record(study)))
    document.add("study", tables)
    return tomlkit.dumps(document)
