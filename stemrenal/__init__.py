"""stemrenal: query the clinical evidence on stem-cell therapy in kidney disease.

Library API: `load_registry` reads and validates a registry, `select` filters it.
"""

TYPE_CHECKING = False  # neither typing nor __future__ is imported: each slows every start

__version__ = "0.1.0"

#: Bumped whenever the registry schema changes meaning (the validated-registry cache keys on
#: it). Kept here, not in `models`, so reading the cache never imports Pydantic.
SCHEMA_VERSION = "2"
__all__ = ["Filters", "Study", "load_registry", "select"]

if TYPE_CHECKING:
    from typing import Any

    from stemrenal.models import Study
    from stemrenal.query import Filters, select
    from stemrenal.registry import load as load_registry


def __getattr__(name: str) -> "Any":
    """Import lazily, so `import stemrenal` costs nothing until something is used."""
    if name == "load_registry":
        from stemrenal.registry import load

        return load
    if name in {"Filters", "select"}:
        from stemrenal import query

        return getattr(query, name)
    if name == "Study":
        from stemrenal.models import Study

        return Study
    raise AttributeError(name)
