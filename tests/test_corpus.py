"""Hostile registries through the CLI: every bad input is exit 1 (data) or 2 (usage), one
located line per problem, never a traceback.

Each case runs twice: `stemrenal validate PATH...` (problems on stdout, then a count) and
`stemrenal --registry PATH... list` (problems on stderr, then one `Error:` line). The toml-test
invalid corpus is run in test_registry.py; this file holds the registry-level faults.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stemrenal.cli import cli

from helpers import MINIMAL

REGISTRY = "registry.toml"

#: (file name, line, text the message must contain). The line is a number, a snippet whose
#: first line is found in the file (1-based), or None for a problem with no line.
Expected = tuple[str, int | str | None, str]


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes]
    problems: tuple[Expected, ...]
    paths: tuple[str, ...] = (REGISTRY,)
    dirs: tuple[str, ...] = ()


def edit(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


def one(text: str | bytes, line: int | str | None, message: str) -> Case:
    return Case({REGISTRY: text}, ((REGISTRY, line, message),))


CASES: dict[str, Case] = {
    # wrong types
    "year-is-a-string": one(
        edit("year = 2020", 'year = "2020"'),
        'year = "2020"',
        "study doe-2020-ckd: year: Input should be a valid integer (got '2020')",
    ),
    "boolean-is-a-string": one(
        edit("randomized = false", 'randomized = "no"'),
        'randomized = "no"',
        "design.randomized: Input should be a valid boolean (got 'no')",
    ),
    "list-is-a-string": one(
        edit('conditions = ["chronic-kidney-disease"]', 'conditions = "chronic-kidney-disease"'),
        "conditions =",
        "conditions: Input should be a valid list",
    ),
    "enrolled-is-a-float": one(
        edit("enrolled = 10", "enrolled = 10.0"),
        "enrolled = 10.0",
        "enrolled: Input should be a valid integer (got 10.0)",
    ),
    "table-is-a-string": one(
        edit(
            '[study.intervention]\ncell_type = "msc"\ncell_source = "autologous"\n'
            'tissue = "bone-marrow"\n',
            "",
        ).replace("enrolled = 10\n", 'enrolled = 10\nintervention = "msc"\n'),
        'intervention = "msc"',
        "intervention: Input should be a valid dictionary or instance of Intervention",
    ),
    # missing required keys
    "missing-population": one(
        edit('population = "CKD stage 3-4"\n', ""),
        "[[study]]",
        "population: required key is missing",
    ),
    "missing-citation-table": one(
        edit('[study.citation]\nauthors = ["Doe J", "Roe R"]\n', "").replace(
            'journal = "Journal of Tests"\ndoi = "10.1000/test.1"\n', ""
        ),
        "[[study]]",
        "citation: required key is missing",
    ),
    "missing-limitations": one(
        edit('[[study.limitations]]\ntext = "Ten patients, no control group."\n', "").replace(
            'source = "curator"\n', ""
        ),
        "[[study]]",
        "limitations: required key is missing",
    ),
    "missing-outcome-result": one(
        edit('result = "30 to 31"\n', ""),
        "[[study.outcomes]]",
        "outcomes[0].result: required key is missing",
    ),
    # unknown keys
    "unknown-study-key": one(
        edit("enrolled = 10", 'enrolled = 10\ncolour = "red"'),
        'colour = "red"',
        "colour: unknown key (not part of the registry format)",
    ),
    "unknown-nested-key": one(
        edit("randomized = false", "randomized = false\nblinded = true"),
        "blinded = true",
        "design.blinded: unknown key (not part of the registry format)",
    ),
    "unknown-top-level-key": one(
        "version = 2\n" + MINIMAL, "version = 2", "version: unknown top-level key; use [[study]]"
    ),
    "study-is-not-tables": one("study = 3\n", None, "`study` must be [[study]] tables"),
    # counts
    "zero-enrolled": one(
        edit("enrolled = 10", "enrolled = 0"),
        "enrolled = 0",
        "enrolled: Input should be greater than 0",
    ),
    "negative-enrolled": one(
        edit("enrolled = 10", "enrolled = -3"),
        "enrolled = -3",
        "enrolled: Input should be greater than 0",
    ),
    "zero-arm-size": one(
        edit("n = 10", "n = 0"), "n = 0", "arms[0].n: Input should be greater than 0"
    ),
    "arms-do-not-add-up": one(
        edit("enrolled = 10", "enrolled = 12"),
        "[[study.arms]]",
        "arms: the arms' n add up to 10, but enrolled is 12",
    ),
    # duplicate ids
    "duplicate-id-within-a-file": Case(
        {REGISTRY: MINIMAL + MINIMAL},
        ((REGISTRY, 44, f"study doe-2020-ckd: id: duplicate id; first used at {{{REGISTRY}}}:2"),),
    ),
    "duplicate-id-across-files": Case(
        {"a.toml": MINIMAL, "b.toml": MINIMAL},
        (("b.toml", "[[study]]", "id: duplicate id; first used at {a.toml}:2"),),
        paths=("a.toml", "b.toml"),
    ),
    "duplicate-id-across-files-in-a-directory": Case(
        {"dir/a.toml": MINIMAL, "dir/sub/b.toml": MINIMAL},
        (("dir/sub/b.toml", "[[study]]", "duplicate id; first used at {dir/a.toml}:2"),),
        paths=("dir",),
    ),
    "overlap-names-no-study": one(
        edit("enrolled = 10", 'enrolled = 10\noverlaps = ["nobody-1999-x"]'),
        "overlaps =",  # the key's own line, not the study's
        "overlaps: names unknown study 'nobody-1999-x'",
    ),
    # vocabulary
    "unknown-disease": one(
        edit('"chronic-kidney-disease"', '"kidney-stones"'),
        "conditions =",
        "conditions[0]: unknown disease term 'kidney-stones'",
    ),
    "unknown-cell-type": one(
        edit('cell_type = "msc"', 'cell_type = "magic"'),
        'cell_type = "magic"',
        "intervention.cell_type: unknown cell-type term 'magic'",
    ),
    "alias-instead-of-term": one(
        edit('endpoint = "egfr"', 'endpoint = "eGFR"'),
        'endpoint = "eGFR"',
        "outcomes[0].endpoint: 'eGFR' is an alias; the registry uses the canonical endpoint "
        "term 'egfr'",
    ),
    "unknown-direction": one(
        edit('direction = "no-difference"', 'direction = "better"'),
        'direction = "better"',
        "outcomes[0].direction: Input should be 'improved', 'worsened', 'no-difference' or "
        "'mixed' (got 'better')",
    ),
    # follow-up that cannot be read
    "follow-up-in-words": one(
        edit('follow_up = "6 months"', 'follow_up = "half a year"'),
        'follow_up = "half a year"',
        "follow_up: cannot read duration 'half a year': use a number and a unit",
    ),
    "follow-up-without-unit": one(
        edit('follow_up = "6 months"', 'follow_up = "6"'),
        'follow_up = "6"',
        "follow_up: cannot read duration '6'",
    ),
    "follow-up-negative": one(
        edit('follow_up = "6 months"', 'follow_up = "-6 months"'),
        'follow_up = "-6 months"',
        "follow_up: cannot read duration '-6 months'",
    ),
    "follow-up-is-a-number": one(
        edit('follow_up = "6 months"', "follow_up = 6"),
        "follow_up = 6",
        "follow_up: Input should be a valid string (got 6)",
    ),
    "follow-up-too-large": one(
        edit('follow_up = "6 months"', f'follow_up = "{"9" * 400} days"'),
        "follow_up =",
        "follow_up: cannot read duration '999",
    ),
    # files
    "empty-file": one("", None, "no [[study]] tables found"),
    "comment-only-file": one("# nothing yet\n", None, "no [[study]] tables found"),
    "invalid-toml": one(
        edit('title = "A small study"', 'title = "A small study'),
        'title = "A small study',
        "invalid TOML: ",
    ),
    "not-utf8-latin1": one(
        edit("A small study", "Caf\xe9 study").encode("latin-1"),
        "title =",
        "not valid UTF-8 (byte 0xe9); save as UTF-8",
    ),
    "not-utf8-utf16": one(MINIMAL.encode("utf-16"), 1, "not valid UTF-8 (byte 0xff)"),
    "directory-without-toml": Case(
        {"dir/notes.txt": "not a registry\n", "dir/.hidden/a.toml": MINIMAL},
        (("dir", None, "no *.toml files in directory"),),
        paths=("dir",),
    ),
    "empty-directory": Case(
        {}, (("dir", None, "no *.toml files in directory"),), ("dir",), ("dir",)
    ),
    "directory-named-like-toml": Case(
        {"x.toml/notes.txt": "x\n"},
        (("x.toml", None, "no *.toml files in directory"),),
        ("x.toml",),
    ),
    "every-file-reported": Case(
        {"a.toml": "", "b.toml": edit("enrolled = 10", "enrolled = 0")},
        (
            ("a.toml", None, "no [[study]] tables found"),
            ("b.toml", "enrolled = 0", "enrolled: Input should be greater than 0"),
        ),
        paths=("a.toml", "b.toml"),
    ),
}


def build(case: Case, root: Path) -> list[str]:
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name in case.dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    return [str(root / p) for p in case.paths]


def line_of(case: Case, name: str, where: int | str | None) -> int | None:
    if not isinstance(where, str):
        return where
    content = case.files[name]
    text = content.decode("latin-1") if isinstance(content, bytes) else content
    first = where.splitlines()[0]
    return next(n for n, line in enumerate(text.splitlines(), 1) if first in line)


def expected_patterns(case: Case, root: Path) -> list[str]:
    """One regex per problem: `^FILE:LINE: ` (or `^FILE: `), then the message text."""
    patterns = []
    for name, where, message in case.problems:
        line = line_of(case, name, where)
        location = f"{root / name}:{line}: " if line else f"{root / name}: "
        # `{name}` in a message stands for that file's full path.
        text = re.sub(r"\{([^}]+)\}", lambda m: str(root / m.group(1)), message)
        patterns.append("^" + re.escape(location) + r"(.*: )?" + re.escape(text))
    return patterns


def assert_located(lines: list[str], patterns: list[str]) -> None:
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.match(pattern, line), (line, pattern)


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def count_line(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''} found"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_validate_reports_each_problem_on_one_located_line(
    runner: CliRunner, tmp_path: Path, case: Case
) -> None:
    paths = build(case, tmp_path)
    result = runner.invoke(cli, ["validate", *paths])
    assert_no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == count_line(len(case.problems))
    assert_located(lines[:-1], expected_patterns(case, tmp_path))
    assert result.stderr == ""


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_query_refuses_a_bad_registry_with_each_problem_on_one_located_line(
    runner: CliRunner, tmp_path: Path, case: Case
) -> None:
    paths = build(case, tmp_path)
    options = [arg for path in paths for arg in ("--registry", path)]
    result = runner.invoke(cli, [*options, "list"])
    assert_no_traceback(result)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    n = len(case.problems)
    again = "".join(f" --registry {path}" for path in paths)  # the hint repeats them
    assert lines[-1] == (
        f"Error: the registry has {n} problem{'s' if n != 1 else ''}; "
        f"run `stemrenal{again} validate` for the full list"
    )
    assert_located(lines[:-1], expected_patterns(case, tmp_path))


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{missing}"],
        ["--registry", "{missing}", "list"],
        ["--registry", "{missing}", "validate"],
        ["--registry", "{ok}", "--registry", "{missing}", "summary"],
    ],
    ids=["validate", "list", "registry-then-validate", "one-of-two"],
)
def test_missing_path_is_a_usage_error_naming_it(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "nowhere" / "studies.toml"
    ok = tmp_path / "ok.toml"
    ok.write_text(MINIMAL, encoding="utf-8")
    argv = [a.format(missing=missing, ok=ok) for a in args]
    result = runner.invoke(cli, argv)
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [errors[0]]
    assert f"'{missing}' does not exist." in errors[0]


def test_missing_path_from_the_environment_is_a_usage_error(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv("STEMRENAL_REGISTRY", str(missing))
    result = runner.invoke(cli, ["list"])
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert f"'{missing}' does not exist." in result.stderr


# ----------------------------------------------------------------------------- unreadable files
#
# Two ways to make a read fail, because permissions do not bind for root (CI containers often
# run as root): chmod 000, skipped under root; and /proc/self/mem, a regular file that every
# user (root included) can open but whose first bytes cannot be read (EIO). Both reach the
# loader's real OSError branch: nothing is monkeypatched.


def unreadable_by_permissions(tmp_path: Path) -> Path:
    if sys.platform == "win32" or os.geteuid() == 0:
        pytest.skip("permissions do not stop root (or Windows) from reading a file")
    path = tmp_path / "locked.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    path.chmod(0)
    return path


def unreadable_by_io_error(tmp_path: Path) -> Path:
    mem = Path("/proc/self/mem")
    if not mem.is_file():
        pytest.skip("needs Linux /proc")
    link = tmp_path / "mem.toml"
    link.symlink_to(mem)
    return link


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (unreadable_by_permissions, "Permission denied"),
        (unreadable_by_io_error, "Input/output error"),
    ],
    ids=["chmod-000", "io-error"],
)
@pytest.mark.parametrize("via", ["validate", "list"])
def test_unreadable_file_is_one_data_error(
    runner: CliRunner, tmp_path: Path, make: object, reason: str, via: str
) -> None:
    assert callable(make)
    path = make(tmp_path)
    try:
        args = ["validate", str(path)] if via == "validate" else ["--registry", str(path), via]
        result = runner.invoke(cli, args)
    finally:
        if not path.is_symlink():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert_no_traceback(result)
    assert result.exit_code == 1, result.output
    out = result.stdout if via == "validate" else result.stderr
    assert out.splitlines()[0] == f"{path}: cannot read file: {reason}"


def test_unreadable_file_beside_good_ones_still_reports_the_rest(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = unreadable_by_io_error(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(edit("enrolled = 10", "enrolled = 0"), encoding="utf-8")
    result = runner.invoke(cli, ["validate", str(path), str(bad)])
    assert result.exit_code == 1
    assert sorted(result.stdout.splitlines()[:2]) == sorted(
        [
            f"{path}: cannot read file: Input/output error",
            f"{bad}:9: study doe-2020-ckd: enrolled: Input should be greater than 0",
        ]
    )  # sorted by file and line
    assert result.stdout.splitlines()[2] == "2 problems found"


# ----------------------------------------------------------------------------- the big file


FIFTY_MB = 50 * 1024 * 1024


@pytest.mark.parametrize("via", ["validate", "list"])
def test_big_file_50mb_is_read_and_its_fault_located(
    runner: CliRunner, tmp_path: Path, via: str
) -> None:
    """The big-file case: 50 MB of comment lines, then a study whose `year` is a 1 MB string.

    It must load in seconds, point at the right line half a million lines down, and not echo
    the megabyte back.
    """
    comment = "# " + "x" * 97 + "\n"
    lines = FIFTY_MB // len(comment)
    study = edit("year = 2020", f'year = "{"y" * 1_000_000}"')
    path = tmp_path / "big.toml"
    with path.open("w", encoding="utf-8") as f:
        f.write(comment * lines)
        f.write(study)
    assert path.stat().st_size > FIFTY_MB
    year_line = lines + next(n for n, s in enumerate(study.splitlines(), 1) if s[:4] == "year")
    args = ["validate", str(path)] if via == "validate" else ["--registry", str(path), via]
    try:
        result = runner.invoke(cli, args)
    finally:
        path.unlink()  # pytest keeps recent tmp_paths; do not leave 50 MB behind
    assert_no_traceback(result)
    assert result.exit_code == 1
    out = result.stdout if via == "validate" else result.stderr
    first = out.splitlines()[0]
    assert first.startswith(
        f"{path}:{year_line}: study doe-2020-ckd: year: Input should be a valid integer (got 'yyy"
    )
    assert len(out) < 1000


MEGABYTE = "q" * 1_000_000


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"6 months"', f'"{MEGABYTE}"'),
        ('"chronic-kidney-disease"', f'"{MEGABYTE}"'),
        ('"doe-2020-ckd"', f'"{MEGABYTE}"'),
        ("enrolled = 10", f"enrolled = 10\n{MEGABYTE} = 1"),
        ('source = "curator"', f'source = "{MEGABYTE}"'),
        ("A small study", MEGABYTE + "\\u001b"),
    ],
    ids=["follow-up", "disease-term", "id", "key", "literal", "text-with-escape"],
)
def test_megabyte_value_gives_a_short_located_message(
    runner: CliRunner, write_registry: Callable[..., Path], old: str, new: str
) -> None:
    """A hostile value is named in a few dozen characters, fast, on the line that holds it."""
    text = edit(old, new)
    path = write_registry(text)
    result = runner.invoke(cli, ["validate", str(path)])
    assert_no_traceback(result)
    assert result.exit_code == 1
    line = next(n for n, s in enumerate(text.splitlines(), 1) if new.splitlines()[-1] in s)
    assert re.match(rf"^{re.escape(str(path))}:{line}: ", result.stdout), result.stdout[:300]
    assert len(result.stdout) < 1000, result.stdout[:300]
