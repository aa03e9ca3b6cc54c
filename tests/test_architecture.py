"""The package's import rules, read from the source itself (CONTRIBUTING.md, "Layout").

Each rule is checked over every import statement of `stemrenal/`, including imports inside
functions. Imports under `if TYPE_CHECKING:` never run and count only for the rules that say so.
The second half shows that every rule can fail: each is run on a small tree that breaks it.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stemrenal"

CORE = ("errors", "text", "facets", "durations", "vocabulary", "models", "query")
REGISTRY_INTERNALS = ("cache", "cached", "locate", "read")


class Import(NamedTuple):
    importer: str  # dotted module name, e.g. stemrenal.output.writers
    imported: str  # dotted name as written, e.g. rich.console
    line: int
    lazy: bool  # inside a function: runs only when called
    typing_only: bool  # under `if TYPE_CHECKING:`: never runs


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _walk(node: ast.AST, lazy: bool, typing_only: bool) -> Iterator[tuple[ast.AST, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for inner in child.body:
                yield inner, lazy, True
                yield from _walk(inner, lazy, True)
            continue
        inside = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, inside, typing_only
        yield from _walk(child, inside, typing_only)


def imports(root: Path) -> list[Import]:
    """Every import in the package under `root`, with where and how it runs."""
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, lazy, typing_only in _walk(tree, False, False):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from stemrenal import registry` imports stemrenal.registry
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            found += [
                Import(module, name, getattr(node, "lineno", 0), lazy, typing_only)
                for name in names
            ]
    return found


def _is(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _top(importer: str) -> str:
    """The stage a module belongs to: stemrenal.output.writers -> output; core modules as is."""
    parts = importer.split(".")
    return parts[1] if len(parts) > 1 else ""


class Rule(NamedTuple):
    name: str
    broken_by: Callable[[Import], bool]


RULES = [
    Rule(
        "nothing imports the command line",
        lambda i: (
            _is(i.imported, "stemrenal.cli")
            and not _is(i.importer, "stemrenal.cli", "stemrenal.__main__")
        ),
    ),
    Rule(
        "Rich is imported only by output/writers.py, and only inside a function",
        lambda i: (
            _is(i.imported, "rich")
            and not i.typing_only
            and (i.importer != "stemrenal.output.writers" or not i.lazy)
        ),
    ),
    Rule(
        "nothing outside registry/ imports its cache, cached views, locator or reader",
        lambda i: (
            any(_is(i.imported, f"stemrenal.registry.{m}") for m in REGISTRY_INTERNALS)
            and not _is(i.importer, "stemrenal.registry")
        ),
    ),
    Rule(
        "the cached views never import Pydantic or the models",
        lambda i: (
            i.importer == "stemrenal.registry.cached"
            and _is(i.imported, "pydantic", "pydantic_core", "stemrenal.models")
        ),
    ),
    Rule(
        "the core (errors, text, facets, durations, vocabulary, models, query) imports no stage",
        lambda i: (
            _top(i.importer) in CORE
            and not i.typing_only
            and _is(i.imported, "stemrenal.registry", "stemrenal.output", "stemrenal.cite")
            and not _is(i.imported, "stemrenal.cli")
        ),  # covered by the first rule
    ),
    Rule(
        "the models never import query (the cycle that facets.py ended)",
        lambda i: i.importer == "stemrenal.models" and _is(i.imported, "stemrenal.query"),
    ),
    Rule(
        "output/ and cite/ never read the registry",
        lambda i: _top(i.importer) in {"output", "cite"} and _is(i.imported, "stemrenal.registry"),
    ),
    Rule(
        "Pydantic is imported at module level only by the models",
        lambda i: (
            _is(i.imported, "pydantic", "pydantic_core")
            and not i.lazy
            and not i.typing_only
            and i.importer != "stemrenal.models"
        ),
    ),
    Rule(
        "plotting and HTML libraries are imported only inside a function",
        lambda i: (
            _is(i.imported, "matplotlib", "jinja2", "html5lib") and not i.lazy and not i.typing_only
        ),
    ),
]


def violations(root: Path) -> list[str]:
    """Every broken rule, as "module:line: imports name: rule"."""
    return [
        f"{i.importer}:{i.line}: imports {i.imported}: {rule.name}"
        for i in imports(root)
        for rule in RULES
        if rule.broken_by(i)
    ]


def test_the_package_keeps_its_import_rules() -> None:
    assert violations(PACKAGE) == []


def test_the_checker_sees_the_whole_package() -> None:
    modules = {i.importer for i in imports(PACKAGE)}
    assert {"stemrenal.registry.cached", "stemrenal.output.writers", "stemrenal.cli.commands"} <= (
        modules
    )
    assert any(i.imported.startswith("rich") for i in imports(PACKAGE))


# ----------------------------------------------------------------------------- each rule can fail

BREAKS = {
    "nothing imports the command line": ("query.py", "from stemrenal.cli import cli\n"),
    "Rich is imported only by output/writers.py, and only inside a function": (
        "output/tables.py",
        "def f():\n    import rich\n",
    ),
    "nothing outside registry/ imports its cache, cached views, locator or reader": (
        "output/__init__.py",
        "def f():\n    from stemrenal.registry import cache\n",
    ),
    "the cached views never import Pydantic or the models": (
        "registry/cached.py",
        "def f():\n    from stemrenal.models import Study\n",
    ),
    "the core (errors, text, facets, durations, vocabulary, models, query) imports no stage": (
        "query.py",
        "def f():\n    from stemrenal.output import write\n",
    ),
    "the models never import query (the cycle that facets.py ended)": (
        "models.py",
        "from stemrenal.query import Filters\n",
    ),
    "output/ and cite/ never read the registry": (
        "cite/__init__.py",
        "def f():\n    from stemrenal import registry\n",
    ),
    "Pydantic is imported at module level only by the models": (
        "registry/read.py",
        "import pydantic\n",
    ),
    "plotting and HTML libraries are imported only inside a function": (
        "cli/commands.py",
        "import matplotlib.pyplot as plt\n",
    ),
}


def test_every_rule_has_a_breaking_example() -> None:
    assert set(BREAKS) == {rule.name for rule in RULES}


@pytest.mark.parametrize("rule", list(BREAKS), ids=lambda r: r[:40])
def test_each_rule_reports_a_tree_that_breaks_it(tmp_path: Path, rule: str) -> None:
    root = tmp_path / "stemrenal"
    for init in ("", "registry", "output", "cite", "cli"):
        (root / init).mkdir(parents=True, exist_ok=True)
        (root / init / "__init__.py").touch()
    where, source = BREAKS[rule]
    (root / where).write_text(textwrap.dedent(source), encoding="utf-8")
    found = violations(root)
    assert [v for v in found if v.endswith(rule)], found


def test_typing_only_imports_do_not_count(tmp_path: Path) -> None:
    root = tmp_path / "stemrenal"
    root.mkdir()
    (root / "__init__.py").touch()
    (root / "query.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rich\n", encoding="utf-8"
    )
    assert violations(root) == []
