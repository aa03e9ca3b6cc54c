"""Writing registry text for curators: a study as TOML, a skeleton to fill, a draft from a
citation export, and files rewritten in one layout with canonical terms (`fmt`).

The libraries (tomlkit, rispy, nbib, bibtexparser, defusedxml) are the `curate` extra and are
imported only here, by the commands that write registry text.
"""

from __future__ import annotations

from stemrenal.errors import UsageProblem

INSTALL = "pip install 'stemrenal[curate]'"


def need(module: str) -> None:
    """A one-line usage error naming the install command when the curate extra is missing."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise UsageProblem(f"this needs the curate extra ({module}): {INSTALL}") from None
