"""Paths and sample registry text shared by the test modules (import from here, not conftest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "data"
GOLDEN = HERE / "golden"
SEED = DATA / "seed.toml"
SHARED = HERE.parent.parent / "shared"
TOML_TEST_INVALID = SHARED / "testdata" / "toml-test" / "invalid"

# A minimal valid study; tests change one thing at a time.
MINIMAL = """
[[study]]
id = "doe-2020-ckd"
title = "A small study"
year = 2020
registrations = []
conditions = ["chronic-kidney-disease"]
population = "CKD stage 3-4"
enrolled = 10
follow_up = "6 months"
sources = ["https://example.org/abstract"]

[study.citation]
authors = ["Doe J", "Roe R"]
journal = "Journal of Tests"
doi = "10.1000/test.1"

[study.design]
kind = "single-arm"
randomized = false
comparator_classes = ["none"]

[[study.arms]]
name = "cells"
n = 10

[study.intervention]
cell_type = "msc"
cell_source = "autologous"
tissue = "bone-marrow"

[[study.outcomes]]
endpoint = "egfr"
measure = "eGFR, ml/min/1.73 m2"
timepoint = "6 months"
result = "30 to 31"
direction = "no-difference"
comparison = "within-group"

[[study.limitations]]
text = "Ten patients, no control group."
source = "curator"
"""


def run_program(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m stemrenal ARGS` in a child process, its output captured as text.

    For the tests that bound a cost: the timeout is far beyond the linear cost and far below
    the quadratic one it replaced, so the test fails on the old code without timing anything.
    """
    return subprocess.run(
        [sys.executable, "-m", "stemrenal", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
