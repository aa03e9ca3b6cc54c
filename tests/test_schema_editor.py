"""`stemrenal schema` as editors use it: taplo (Even Better TOML) checks a registry with it.

taplo validates against JSON Schema Draft 4 only, so this runs the real taplo binary rather
than trusting that a newer-draft schema works there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli
from stemrenal.registry import bundled_path

from helpers import MINIMAL

# Installed beside the interpreter by `pip install -e '.[test]'`; not skipped when missing,
# because a silently skipped editor check is no check.
TAPLO = shutil.which("taplo", path=str(Path(sys.executable).parent)) or shutil.which("taplo")


@pytest.fixture
def schema(runner: CliRunner, tmp_path: Path) -> Path:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "stemrenal.schema.json"
    path.write_bytes(result.stdout_bytes)
    return path


def _taplo(schema: Path, registry: Path) -> subprocess.CompletedProcess[str]:
    assert TAPLO is not None, "taplo is a test dependency: pip install -e '.[test]'"
    return subprocess.run(
        [TAPLO, "check", "--schema", schema.as_uri(), str(registry)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(p.name for p in bundled_path().glob("*.toml")))
def test_bundled_registry_passes_taplo(schema: Path, name: str) -> None:
    result = _taplo(schema, bundled_path() / name)
    assert result.returncode == 0, result.stderr


def test_taplo_flags_an_alias_and_an_unknown_key(schema: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = MINIMAL.replace('["chronic-kidney-disease"]', '["CKD"]') + 'colour = "blue"\n'
    bad.write_text(text, encoding="utf-8")
    result = _taplo(schema, bad)
    assert result.returncode != 0
    assert '"CKD" is not one of' in result.stderr
    assert "colour" in result.stderr


def test_schema_directive_in_the_file_is_honoured(schema: Path, tmp_path: Path) -> None:
    """The README's `#:schema` line makes editors check the file without any setup."""
    bad = tmp_path / "directive.toml"
    text = f"#:schema {schema.as_uri()}\n" + MINIMAL.replace(
        '["chronic-kidney-disease"]', '["CKD"]'
    )
    bad.write_text(text, encoding="utf-8")
    assert TAPLO is not None, "taplo is a test dependency: pip install -e '.[test]'"
    result = subprocess.run(
        [TAPLO, "check", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert '"CKD" is not one of' in result.stderr
