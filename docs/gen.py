"""Generated parts of the docs, run by cog (`cog -r README.md docs/cli-reference.md`).

`.ci/run` runs `cog --check` on both files, so the CLI reference and the module layout in the
README can never drift from the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cog  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "stemrenal"


def _help(args: list[str]) -> str:
    from click.testing import CliRunner

    from stemrenal.cli import cli

    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=88, prog_name="stemrenal")
    assert result.exit_code == 0, result.output
    return result.output


def cli_reference() -> None:
    """Every command's --help, in the order `stemrenal --help` lists them."""
    from stemrenal.cli import cli

    cog.outl("```console\n$ stemrenal --help\n" + _help([]).rstrip() + "\n```\n")
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        cog.outl(f"## stemrenal {name}\n")
        cog.outl(f"```console\n$ stemrenal {name} --help\n" + _help([name]).rstrip() + "\n```\n")


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n")[0].split())


def layout() -> None:
    """The package tree, one line per module: its path and the first line of its docstring."""
    lines = []
    for path in sorted(PACKAGE.rglob("*.py"), key=lambda p: (p.parent != PACKAGE, str(p))):
        rel = path.relative_to(ROOT)
        lines.append(f"- `{rel}`: {_summary(path)}")
    cog.outl("\n".join(lines))


def output(command: str) -> None:
    """What a command prints, pasted as it is (e.g. a Markdown table rendered in the README):
    `cog --check` then fails when the registry or the code changes what it prints."""
    import shlex

    from click.testing import CliRunner

    from stemrenal.cli import cli

    args = shlex.split(command)
    assert args[0] == "stemrenal", command
    result = CliRunner().invoke(cli, args[1:], prog_name="stemrenal")
    assert result.exit_code == 0, result.output
    cog.out(result.stdout)
