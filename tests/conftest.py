"""Shared fixtures: an isolated environment for every test, a CliRunner, registry writers."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite tests/golden/* from current output."
    )


@pytest.fixture(autouse=True)
def isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's registry, cache or colour settings.

    Each test gets its own empty cache directory, outside `tmp_path` so tests that list
    `tmp_path` see only their own files.
    """
    monkeypatch.delenv("STEMRENAL_REGISTRY", raising=False)
    monkeypatch.delenv("STEMRENAL_NO_CACHE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_registry(tmp_path: Path) -> Callable[..., Path]:
    """Write TOML text (dedented) to a file under tmp_path and return its path."""

    def write(text: str, name: str = "registry.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
