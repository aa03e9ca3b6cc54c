"""Golden output of the three seed studies: the CSV columns and JSON shape users script against.

A change here is a change to a public format. Regenerate deliberately with
`pytest tests/test_golden.py --update-golden`, then read the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli

from helpers import GOLDEN, SEED

CASES = {
    "list.csv": ["list", "--format", "csv"],
    "list.json": ["list", "--format", "json"],
    "outcomes.csv": ["outcomes", "--format", "csv"],
    "outcomes.json": ["outcomes", "--format", "json"],
    "summary.json": ["summary", "--format", "json"],
}


def _shape(value: object) -> object:
    """Keys and types without values, so a shape change is named separately from a data change."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = []
        for item in value:
            shape = _shape(item)
            if shape not in shapes:
                shapes.append(shape)
        return shapes
    return type(value).__name__


@pytest.mark.parametrize("name", CASES)
def test_golden_output(runner: CliRunner, update_golden: bool, name: str) -> None:
    result = runner.invoke(cli, ["--registry", str(SEED), *CASES[name]])
    assert result.exit_code == 0, result.output
    golden: Path = GOLDEN / name
    if update_golden:
        golden.write_bytes(result.stdout_bytes)
    assert golden.exists(), f"missing {golden}; run pytest --update-golden"
    expected = golden.read_bytes()
    if name.endswith(".json"):
        got, want = json.loads(result.stdout_bytes), json.loads(expected)
        assert _shape(got) == _shape(want), "the JSON shape changed"
        assert got == want
    else:
        assert result.stdout_bytes.splitlines()[0] == expected.splitlines()[0], "columns changed"
        assert result.stdout_bytes == expected


def test_csv_header_names_the_evidence_columns() -> None:
    header = (GOLDEN / "list.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    for column in ("id", "citation", "doi", "pmid", "limitations", "design", "n", "follow_up"):
        assert column in header


def test_json_records_carry_registry_keys_and_follow_up_months() -> None:
    records = json.loads((GOLDEN / "list.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == [
        "dubsky-2019-dkd-limb-ischaemia",
        "ranjbar-2022-lupus-nephritis",
        "shao-2021-chronic-renal-failure",
    ]
    for record in records:
        assert {"citation", "design", "limitations", "sources", "follow_up_months"} <= set(record)
