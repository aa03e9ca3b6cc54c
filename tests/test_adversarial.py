"""The adversarial report (../shared/reviews/adversarial-2026-12.md), kept as standing tests.

Each class of finding has a test here or in the module named; this module holds the classes
no other test covered. Real processes where the finding needs one (streams, signals,
locales), CliRunner elsewhere.

| finding | class | test |
|---|---|---|
| D1 | `-o` onto /dev/null, a FIFO, a symlink, `-` and /dev/stdout | test_reliability: `test_output_to_dev_null_leaves_a_device`, `..._to_a_fifo_...`, `..._through_a_symlink_...`, `..._dash_and_dev_stdout_are_stdout` |
| D1 | `-o` onto device nodes as root (null written through, full an error; both stay devices) | `test_output_to_a_device_node_as_root_leaves_the_device` |
| D2 | `vocab -o` (any command) onto the registry | test_reliability: `test_no_command_may_write_the_registry_it_reads`; test_safety: `test_no_command_writes_the_registry` |
| W1 | a registry rewritten during queries (mixed versions) | test_reliability: `test_a_registry_rewritten_during_queries_never_gives_mixed_rows` |
| W2 | dangling links and FIFOs in a registry directory | test_reliability: `test_what_a_registry_directory_cannot_read_is_reported` |
| W2 | an unreadable file (not as root) | test_corpus (`chmod(0)`, skipped as root) |
| W3 | a newline in `pages` | test_reliability: `test_text_that_could_hide_or_forge_output_is_refused[newline-in-pages]` |
| W3 | a newline in every other citation field | `test_a_newline_in_any_citation_field_forges_no_reference` |
| W4 | `--safe-csv` in TSV, quoted formulas | test_reliability: `test_safe_csv_defuses_quoted_formulas_in_tsv_too`; test_safety: `test_safe_csv_*` |
| W5 | Markdown links, images, `<script>` in a DOI | test_reliability: `test_markdown_never_makes_links_or_images_from_registry_text`; test_safety: `test_markdown_prints_markup_literally` |
| W6 | narrow terminals | test_reliability: `test_a_very_narrow_terminal_stacks_fields_instead_of_empty_cells`; test_reading (pty widths) |
| T1, T2 | stdout full (/dev/full) or closed (`>&-`) for `list` | test_process: `test_output_that_cannot_be_written_is_one_line_and_exit_1` |
| T1, T2 | the same for every command | `test_every_command_with_stdout_full_or_closed_is_one_line_and_exit_1` |
| T3 | latin-1 output encoding (`vocab`) | test_reliability: `test_output_is_utf_8_whatever_the_locale_says` |
| T3 | ascii, latin-1, C and POSIX for the commands that print non-ASCII | `test_non_utf_8_output_encodings_never_fail` |
| T3 | a file name that is not UTF-8, strict UTF-8 stdout | `test_a_file_name_that_is_not_utf_8_is_reported_escaped` |
| T5 | `--registry /dev/zero` | test_reliability: `test_a_device_is_not_read_forever` |
| T6 | Ctrl-C during start-up | test_process: `test_ctrl_c_at_any_moment_of_start_up_is_interrupted_and_130` |
| T9 | a huge `COLUMNS` | `test_a_huge_columns_value_is_no_traceback` |
| S1 | ZWSP, word joiner, Hangul filler in a title | test_reliability: `test_text_that_could_hide_or_forge_output_is_refused` |
| S1 | bidi marks, tag characters and the other invisibles, in several fields | `test_invisible_characters_are_refused_in_every_kind_of_field` |
| S1 | full-width digits in a PMID | test_reliability: `test_text_that_could_hide_or_forge_output_is_refused[full-width-pmid]` |
| S1 | Arabic-Indic and mathematical digits in a PMID | `test_a_pmid_in_other_digits_is_refused` |
| S2 | the `-o` path echoed raw | test_safety: `test_file_name_with_control_characters_is_escaped` |
| C1, C2 | quadratic unknown keys, BibTeX title tokens | test_registry, test_check, test_cite: `..._in_linear_time` |
| C3 | SIGTERM and SIGHUP leave no temporary `-o` file | test_reliability: `test_signal_removes_the_unfinished_output_file` |
| C4 | a closed pipe exits 141 for every format, buffered or not | test_process: `test_closed_pipe_ends_quietly` |
| C5 | usage errors exit 2 with stderr on a full disk | test_reliability: `test_exit_codes_hold_when_stderr_cannot_be_written` |
| C5 | usage errors exit 2 with stderr closed | `test_usage_errors_exit_2_with_stderr_closed` |

W7, T7, T8 (the cache) are covered in test_cache.py and test_views.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli

from helpers import MINIMAL

TIMEOUT = 60
STUDY = "deng-2017-lupus-nephritis"  # a bundled study with non-ASCII text in its record


def run(
    *args: str, shell: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`python -m stemrenal ARGS`, optionally with a shell redirection after it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("STEMRENAL_")}
    command = [sys.executable, "-m", "stemrenal", *args]
    if shell:
        command = ["bash", "-c", f'"$@" {shell}', "_", *command]
    return subprocess.run(
        command, capture_output=True, env={**base, **(env or {})}, timeout=TIMEOUT, check=False
    )


def registry(tmp_path: Path, old: str, new: str) -> Path:
    """MINIMAL with one change."""
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL.replace(old, new), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- data loss


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="only root can make device nodes, and only root could replace /dev/null",
)
def test_output_to_a_device_node_as_root_leaves_the_device(tmp_path: Path) -> None:
    """As root a rename can replace a device node: `-o /dev/null` turned /dev/null into a
    regular file. Tested on nodes made here (null: 1,3; full: 1,7), never on /dev itself."""
    null, full = tmp_path / "null", tmp_path / "full"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    written = run("list", "--format", "csv", "-o", str(null))
    refused = run("list", "--format", "csv", "-o", str(full))
    assert written.returncode == 0, written.stderr
    assert refused.returncode == 1
    assert refused.stderr.decode() == f"Error: cannot write {full}: No space left on device\n"
    for node in (null, full):
        assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]  # no temporary
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


# ----------------------------------------------------------------------------- forged text

FORGED = "\nER  - \nTY  - JOUR\nTI  - Stem cells cure CKD\nAU  - Famous, A.\nPY  - 2024"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('title = "A small study"', f'title = "A small study{FORGED}"'),
        ('journal = "Journal of Tests"', f'journal = "Journal of Tests{FORGED}"'),
        ('authors = ["Doe J", "Roe R"]', f'authors = ["Doe J{FORGED}", "Roe R"]'),
        ('journal = "Journal of Tests"', f'journal = "J"\nvolume = "3{FORGED}"'),
        ('journal = "Journal of Tests"', f'journal = "J"\nissue = "2{FORGED}"'),
        ('doi = "10.1000/test.1"', f'doi = "10.1000/test.1{FORGED}"'),
    ],
    ids=["title", "journal", "author", "volume", "issue", "doi"],
)
def test_a_newline_in_any_citation_field_forges_no_reference(
    tmp_path: Path, old: str, new: str
) -> None:
    """A newline in `pages` injected whole references into RIS and Vancouver. Every citation
    field is either refused or written on one line: one record, never the forged one."""
    import rispy

    path = registry(tmp_path, old, new.replace("\n", "\\n"))
    ris = CliRunner().invoke(cli, ["--registry", str(path), "cite", "--style", "ris"])
    vancouver = CliRunner().invoke(cli, ["--registry", str(path), "cite"])
    if ris.exit_code == 1:  # refused by validation, with the registry named
        assert "the registry has" in ris.stderr
        return
    assert ris.exit_code == 0, ris.output
    assert len(rispy.loads(ris.stdout)) == 1
    assert not any(line.startswith("TY  - ") for line in ris.stdout.splitlines()[1:])
    assert len([line for line in vancouver.stdout.splitlines() if line.strip()]) == 1


INVISIBLES = {
    "lrm": "\u200e",
    "rlm": "\u200f",
    "alm": "\u061c",
    "zwnj": "\u200c",
    "zwj": "\u200d",
    "bom": "\ufeff",
    "soft-hyphen": "\u00ad",
    "mongolian-vowel-separator": "\u180e",
    "combining-grapheme-joiner": "\u034f",
    "invisible-times": "\u2062",
    "tag-characters": "\U000e0049\U000e0047\U000e004e",  # "IGN" in tag letters
}
FIELDS = {
    "title": ('title = "A small study"', 'title = "A sm{}all study"'),
    "limitation": (
        'text = "Ten patients, no control group."',
        'text = "Ten patients.{}"',
    ),
    "author": ('authors = ["Doe J", "Roe R"]', 'authors = ["Doe{} J", "Roe R"]'),
    "doi": ('doi = "10.1000/test.1"', 'doi = "10.1000/te{}st.1"'),
}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("character", INVISIBLES)
def test_invisible_characters_are_refused_in_every_kind_of_field(
    tmp_path: Path, field: str, character: str
) -> None:
    """Invisible and bidi characters passed validation and reached every output: a title
    that reads "Mesenchymal" but is not found by --search, a limitation with hidden text."""
    old, new = FIELDS[field]
    escaped = "".join(f"\\U{ord(c):08X}" for c in INVISIBLES[character])
    path = registry(tmp_path, old, new.format(escaped))
    result = CliRunner().invoke(cli, ["--no-cache", "validate", str(path)])
    assert result.exit_code == 1, result.stdout
    assert INVISIBLES[character] not in result.stdout  # the message names it, escaped


@pytest.mark.parametrize("pmid", ["3\u0661077439", "1\U0001d7d0\U0001d7d1\U0001d7d2"])
def test_a_pmid_in_other_digits_is_refused(tmp_path: Path, pmid: str) -> None:
    """`\\d` is Unicode: Arabic-Indic and mathematical digits passed as a PMID."""
    path = registry(tmp_path, 'doi = "10.1000/test.1"', f'pmid = "{pmid}"')
    result = CliRunner().invoke(cli, ["--no-cache", "validate", str(path)])
    assert result.exit_code == 1
    assert "digits only" in result.stdout


# ----------------------------------------------------------------------------- streams

COMMANDS = [
    ["list", "--format", "json"],
    ["outcomes"],
    ["summary"],
    ["show", STUDY],
    ["cite"],
    ["vocab"],
    ["schema"],
    ["validate"],
    ["--help"],
    ["--version"],
]


@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:1]))
def test_every_command_with_stdout_full_or_closed_is_one_line_and_exit_1(
    args: list[str], redirect: str
) -> None:
    """12 of 12 commands gave a traceback into /dev/full, 11 of 14 into a closed stdout."""
    if redirect == ">/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    for unbuffered in ("", "1"):  # PYTHONUNBUFFERED turns a buffered error into a direct one
        done = run(*args, shell=redirect, env={"PYTHONUNBUFFERED": unbuffered})
        lines = done.stderr.decode().splitlines()
        assert done.returncode == 1, (unbuffered, lines)
        assert len(lines) == 1, (unbuffered, lines)
        assert lines[0].startswith("Error: cannot write"), (unbuffered, lines)


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"PYTHONIOENCODING": "latin-1"},
        {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"},
        {"LC_ALL": "POSIX", "PYTHONUTF8": "0"},
    ],
    ids=["ascii", "latin-1", "C", "POSIX"],
)
@pytest.mark.parametrize(
    "args",
    [["show", STUDY], ["cite"], ["list", "--format", "json"], ["list"], ["vocab", "diseases"]],
    ids=lambda a: "-".join(a[:3]),
)
def test_non_utf_8_output_encodings_never_fail(args: list[str], env: dict[str, str]) -> None:
    """20 of 91 runs under non-UTF-8 encodings failed with UnicodeEncodeError."""
    done = run(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    done.stdout.decode("utf-8")  # UTF-8 whatever the locale said


def test_a_file_name_that_is_not_utf_8_is_reported_escaped(tmp_path: Path) -> None:
    """Its bytes arrive as lone surrogates, which a strict UTF-8 stdout cannot write: under a
    locale that is not installed (so stdout is strict), validate gave a traceback."""
    folder = os.fsencode(tmp_path / "reg")
    os.mkdir(folder)
    with open(os.path.join(folder, b"caf\xe9.toml"), "w", encoding="utf-8") as handle:
        handle.write("x = \n")
    env = {"LC_ALL": "xx_XX.UTF-8", "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8:strict"}
    done = run("--no-cache", "--registry", os.fsdecode(folder), "validate", env=env)
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr
    assert done.stdout.decode().startswith(f"{tmp_path / 'reg'}/caf\\xe9.toml:1: invalid TOML")


@pytest.mark.parametrize("columns", ["99999999999", "99999999999999999999999"])
def test_a_huge_columns_value_is_no_traceback(columns: str) -> None:
    """COLUMNS of 10^11 gave a MemoryError in Rich, 10^23 an OverflowError."""
    for args in (["list", "--format", "table"], ["summary", "--format", "table"]):
        done = run(*args, env={"COLUMNS": columns})
        assert done.returncode == 0, done.stderr
        assert b"Traceback" not in done.stderr
        assert len(done.stdout) < 10_000_000


@pytest.mark.parametrize("args", [["list", "--bogus"], ["list", "--disease", "nope"]])
def test_usage_errors_exit_2_with_stderr_closed(args: list[str]) -> None:
    """A usage error with nowhere to say so still exits 2 (stderr on a full disk gave 1)."""
    assert run(*args, shell="2>&-").returncode == 2
