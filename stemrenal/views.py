"""Read-only stand-ins for validated studies, built from the cache without importing Pydantic.

A warm run of a query command must not rebuild 10,000 `Study` models to print a few hundred
rows (see benchmarks/README.md). A `CachedStudy` answers every attribute a `Study` has, read
from the JSON that Study's own serializer wrote when it was validated, so the schema is
described once, in `models`. It answers `id`, `overlaps` and `facets` from the cache's index
and parses its record only when something else is asked for: filtering 10,000 studies reads
none of them. tests/test_views.py holds both to the same answers, attribute by attribute.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stemrenal.errors import StemrenalError

if TYPE_CHECKING:
    from stemrenal.query import Facets


class Node:
    """One validated model's JSON object, read by attribute as the model itself is read.

    The decoded dict becomes the instance's own ``__dict__`` (no copy), so reading a field is
    a plain attribute lookup.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__ = data

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The same plain data `BaseModel.model_dump` gives (the models hold only JSON types)."""
        return {key: _plain(value) for key, value in self.__dict__.items()}

    def __repr__(self) -> str:
        return f"Node({self.__dict__!r})"


def _plain(value: Any) -> Any:
    if isinstance(value, Node):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class DamagedCache(StemrenalError):
    """A record the cache's checksum vouched for would not parse: never expected."""


class CachedStudy:
    """A validated study as the cache holds it; its record is parsed on first use.

    Parsing copies the record's fields onto the instance, so every later read is a plain
    attribute lookup.
    """

    def __init__(
        self,
        study_id: str,
        overlaps: list[str],
        facets: Facets,
        records: bytes,
        start: int,
        end: int,
    ) -> None:
        self.id = study_id
        self.overlaps = overlaps
        self.facets = facets
        self._records = records
        self._start = start
        self._end = end
        self._parsed = False

    def __getattr__(self, name: str) -> Any:
        """Called only for what the instance does not hold yet: the record's fields."""
        if name.startswith("__") or self._parsed:  # copy and pickle probe for dunders
            raise AttributeError(name)
        self.__dict__.update(self._parse(Node).__dict__)
        self._parsed = True
        return getattr(self, name)

    @property
    def cell_free(self) -> bool:
        return self.facets.cell_free

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The study as `Study.model_dump(mode="json")` gives it: the record itself."""
        data: dict[str, Any] = self._parse(None)
        return data

    def _parse(self, hook: Any) -> Any:
        try:
            return json.loads(self._records[self._start : self._end], object_hook=hook)
        except ValueError:
            raise DamagedCache(
                f"the cached copy of study {self.id!r} is damaged; "
                "run again with --no-cache, or delete the stemrenal cache directory"
            ) from None

    def __repr__(self) -> str:
        return f"CachedStudy(id={self.id!r})"
