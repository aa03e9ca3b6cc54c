"""The README's examples are real runs: every `$ stemrenal ...` in a console block whose output
is shown in full prints exactly that today (a changed registry or a changed column shows up
here, not in a reader's terminal). Terminal captures, elided outputs (a `...` line) and
commands that write files or read files the README does not ship are left to the eye."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = Path(sys.executable).parent


def examples() -> list[tuple[str, str]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL):
        lines = block.rstrip("\n").split("\n")
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        wrote = False  # after a command that wrote a file, the rest of the block reads it
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            command, expected = lines[start][2:], lines[start + 1 : end]
            if " -o " in command:
                wrote = True
            if not command.startswith("stemrenal ") or not expected:
                continue
            if "..." in expected or wrote or "bad.toml" in command:
                continue
            if expected[0].startswith("╭"):  # a terminal capture
                continue
            found.append((command, "\n".join(expected)))
    return found


EXAMPLES = examples()


def test_the_readme_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 10


def test_the_readme_says_how_many_studies_the_registry_holds() -> None:
    from stemrenal import registry

    said = re.search(r"holds (\d+) studies", README.read_text(encoding="utf-8"))
    assert said is not None
    assert int(said.group(1)) == len(registry.open_registry().studies)


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_it_shows(command: str, expected: str) -> None:
    tools = [word for word in ("jq",) if f"| {word}" in command]
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("STEMRENAL_REGISTRY", None)
    done = subprocess.run(
        command,
        shell=True,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=README.parent,
    )
    assert (done.stdout + done.stderr).rstrip("\n") == expected
