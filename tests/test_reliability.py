"""Reliability at the edges (../shared/reviews/adversarial-2026-12.md): `-o` never replaces a
device, FIFO or symlink; no command writes a registry; invisible and line-breaking text is
refused where it could hide or forge output; Markdown never turns registry text into links."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli

from helpers import MINIMAL, SEED

DATA = Path(__file__).resolve().parent.parent / "data"


def stemrenal(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "STEMRENAL_REGISTRY"}
    return subprocess.run(
        [sys.executable, "-m", "stemrenal", *args],
        capture_output=True,
        timeout=60,
        check=False,
        env=env,
    )


# `-o` onto a character device: test_adversarial.py, on device nodes made in a temporary
# directory (as root); never on the machine's own /dev/null, which a regression would replace.


@pytest.mark.parametrize(
    ("target", "redirect"),
    [("/dev/stdout", '>> "$LOG"'), ("/dev/fd/3", '3>> "$LOG"'), ("/proc/self/fd/1", '>> "$LOG"')],
)
def test_output_to_an_open_descriptor_appends_where_the_shell_opened_it(
    tmp_path: Path, target: str, redirect: str
) -> None:
    """`-o /dev/stdout >> log` used to replace the log (a symlink to a regular file was
    followed and its target renamed over), losing every earlier line."""
    log = tmp_path / "log.txt"
    log.write_text("an earlier line\n", encoding="utf-8")
    script = f'"$@" -o {target} {redirect}'
    args = ["--registry", str(SEED), "list", "--format", "csv", "--columns", "id", "--limit", "1"]
    done = subprocess.run(
        ["bash", "-c", script, "_", sys.executable, "-m", "stemrenal", *args],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "LOG": str(log)},
    )
    assert done.returncode == 0, done.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["an earlier line", "id"]
    assert len(lines) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]


def test_output_to_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    done = stemrenal("--registry", str(SEED), "list", "--format", "csv", "-o", str(fifo))
    reader.join(timeout=30)
    assert done.returncode == 0, done.stderr
    assert received
    assert received[0].startswith(b"id,citation,")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_output_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared.csv"
    shared.write_text("old\n", encoding="utf-8")
    link = tmp_path / "mine.csv"
    link.symlink_to(shared)
    done = stemrenal("--registry", str(SEED), "list", "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    assert shared.read_text(encoding="utf-8").startswith("id,citation,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv", "shared.csv"]


def test_output_dash_and_dev_stdout_are_stdout() -> None:
    for target in ("-", "/dev/stdout"):
        done = stemrenal("--registry", str(SEED), "list", "--format", "csv", "-o", target)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(b"id,citation,")


@pytest.mark.parametrize("command", [["vocab"], ["list"], ["map", "--format", "tsv"], ["brief"]])
def test_no_command_may_write_the_registry_it_reads(command: list[str], tmp_path: Path) -> None:
    registry = tmp_path / "studies.toml"
    registry.write_text(MINIMAL, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--registry", str(registry), *command, "-o", str(registry)])
    assert result.exit_code == 2
    assert "part of the registry" in result.stderr
    assert registry.read_text(encoding="utf-8") == MINIMAL
    bundled = CliRunner().invoke(cli, ["vocab", "-o", str(DATA / "studies.toml")])
    assert bundled.exit_code == 2


def validate(tmp_path: Path, text: str) -> str:
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--no-cache", "validate", str(path)])
    assert result.exit_code == 1, result.stdout
    return result.stdout


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'journal = "Journal of Tests"',
            'journal = "J"\npages = "1-2\\nTY  - JOUR"',
            "must be one line",
        ),
        ('title = "A small study"', 'title = "A small\\u200b study"', "U+200B ZERO WIDTH SPACE"),
        ('title = "A small study"', 'title = "A small\\u2060study"', "WORD JOINER"),
        ('title = "A small study"', 'title = "\\u3164 hidden"', "HANGUL FILLER"),
        ('doi = "10.1000/test.1"', 'pmid = "２８４７８３９９"', "digits only"),
    ],
    ids=["newline-in-pages", "zero-width-space", "word-joiner", "hangul-filler", "full-width-pmid"],
)
def test_text_that_could_hide_or_forge_output_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert message in validate(tmp_path, MINIMAL.replace(old, new))


def test_markdown_never_makes_links_or_images_from_registry_text(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'title = "A small study"', 'title = "![x](https://evil.example/p.png) [y](z)"'
    )
    text = text.replace('doi = "10.1000/test.1"', 'doi = "10.1000/x)<script>alert(1)</script>"')
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    out = (
        CliRunner()
        .invoke(cli, ["--registry", str(path), "show", "doe-2020-ckd", "--format", "markdown"])
        .stdout
    )
    assert "<script>" not in out
    assert "![x](" not in out
    assert "\\[x\\]" in out
    link = next(line for line in out.splitlines() if line.startswith("- [doi:"))
    target = link[link.index("](") + 2 : -1]
    assert "(" not in target
    assert "<" not in target
    assert ")" not in target


# ----------------------------------------------------------------------------- reading


def test_what_a_registry_directory_cannot_read_is_reported(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "gone.toml").symlink_to(tmp_path / "nowhere.toml")
    os.mkfifo(tmp_path / "pipe.toml")
    done = stemrenal("--no-cache", "validate", str(tmp_path))
    assert done.returncode == 1
    out = done.stdout.decode()
    assert f"{tmp_path / 'gone.toml'}: dangling symbolic link" in out
    assert f"{tmp_path / 'pipe.toml'}: not a regular file" in out
    assert b"Traceback" not in done.stderr


def test_a_device_is_not_read_forever() -> None:
    done = stemrenal("--registry", "/dev/zero", "list", "--format", "csv")
    assert done.returncode == 1
    assert b"/dev/zero: more than" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("cache", ["--no-cache", "--cache"])
def test_a_registry_rewritten_during_queries_never_gives_mixed_rows(
    tmp_path: Path, cache: str
) -> None:
    """The adversarial report's harness, bounded: one writer rewriting the file in place
    (`cat >`-style, in chunks) while queries run; every answer is one whole version."""
    count = 150
    path = tmp_path / "studies.toml"
    pieces = [
        [
            MINIMAL.replace('id = "doe-2020-ckd"', f'id = "{p}-{n:04d}"').encode()
            for n in range(count)
        ]
        for p in ("aa", "bb")
    ]  # written a study at a time, so a reader caught midway sees valid, shorter TOML
    path.write_bytes(b"".join(pieces[0]))
    stop = threading.Event()

    def rewrite() -> None:
        turn = 0
        while not stop.is_set():
            turn ^= 1
            with open(path, "wb") as handle:  # truncates, then writes in pieces
                for piece in pieces[turn]:
                    handle.write(piece)
                    handle.flush()

    writer = threading.Thread(target=rewrite)
    writer.start()
    env = {k: v for k, v in os.environ.items() if k != "STEMRENAL_REGISTRY"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    outcomes = []
    try:
        for _ in range(12):
            args = ["--no-cache"] if cache == "--no-cache" else []
            done = subprocess.run(
                [sys.executable, "-m", "stemrenal", *args, "--registry", str(path), "list",
                 "--format", "tsv", "--columns", "id", "--no-header"],
                capture_output=True, timeout=60, check=False, env=env,
            )  # fmt: skip
            outcomes.append(done)
    finally:
        stop.set()
        writer.join()
    for done in outcomes:
        assert b"Traceback" not in done.stderr
        if done.returncode == 0:
            prefixes = {line[:2] for line in done.stdout.decode().split()}
            assert len(prefixes) == 1, prefixes  # never rows from both versions
            assert len(done.stdout.decode().split()) == count  # never a cut-short version
        else:
            assert done.returncode == 1
            assert b"Error:" in done.stderr


def test_output_is_utf_8_whatever_the_locale_says() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "LANG": "C.ISO-8859-1"}
    env.pop("STEMRENAL_REGISTRY", None)
    done = subprocess.run(
        [sys.executable, "-m", "stemrenal", "vocab", "diseases", "--format", "tsv"],
        capture_output=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "狼疮性肾炎" in done.stdout.decode("utf-8")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_removes_the_unfinished_output_file(tmp_path: Path, signame: str) -> None:
    import signal
    import time

    signum = getattr(signal, signame)

    target = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if k != "STEMRENAL_REGISTRY"}
    proc = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys, time; from stemrenal.output import files\n"
         "from stemrenal.cli import main\n"
         "real = files.open_output\n"
         "import contextlib\n"
         "@contextlib.contextmanager\n"
         "def slow(path):\n"
         "    with real(path) as s:\n"
         "        s.write('partial'); s.flush(); print('ready', flush=True, file=sys.stderr); time.sleep(30); yield s\n"
         "files.open_output = slow\n"
         f"sys.argv = ['stemrenal', 'list', '-o', {str(target)!r}]; main()")],
        stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    proc.stderr.readline()  # "ready": the temporary file exists
    assert any(p.name.startswith(".out.json.") for p in tmp_path.iterdir())
    proc.send_signal(signum)
    code = proc.wait(timeout=30)
    proc.stderr.close()
    time.sleep(0.1)
    assert code == 128 + signum
    assert list(tmp_path.iterdir()) == []


def test_a_very_narrow_terminal_stacks_fields_instead_of_empty_cells() -> None:
    import io

    from stemrenal import registry
    from stemrenal.output import Format, OutputOptions
    from stemrenal.output.tables import STUDIES
    from stemrenal.output.writers import write_table

    table = STUDIES.result(registry.load([SEED]), None).table(Format.TABLE)  # type: ignore[misc]
    out = io.StringIO()
    write_table(table, OutputOptions(width=30), out, terminal=True)
    text = out.getvalue()
    lines = text.splitlines()
    assert "╭" not in text  # no borders around nothing
    assert sum(1 for line in lines if line.startswith("study: ")) == 3
    assert "ranjbar-2022-lupus-nephritis" in text
    too_long = [line.strip() for line in lines if len(line) > 30]
    assert all(" " not in line for line in too_long)  # only an id too long to break


def test_safe_csv_defuses_quoted_formulas_in_tsv_too(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        MINIMAL.replace('title = "A small study"', "title = '\"=HYPERLINK(1)\"'"), encoding="utf-8"
    )
    out = (
        CliRunner()
        .invoke(
            cli,
            [
                "--registry",
                str(path),
                "list",
                "--columns",
                "title",
                "--format",
                "tsv",
                "--safe-csv",
            ],
        )
        .stdout
    )
    assert out.splitlines()[1] == '\'"=HYPERLINK(1)"'


def test_limit_in_registry_order_stops_early_and_keeps_the_order() -> None:
    first = (
        CliRunner().invoke(cli, ["list", "--limit", "3", "--columns", "id", "--no-header"]).stdout
    )
    every = CliRunner().invoke(cli, ["list", "--columns", "id", "--no-header"]).stdout
    assert first.split() == every.split()[:3]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["list", "--bogus"], 2),
        (["list", "--disease", "nope"], 2),
        (["--registry", "/dev/zero", "list"], 1),
    ],
)
def test_exit_codes_hold_when_stderr_cannot_be_written(args: list[str], code: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STEMRENAL_REGISTRY"}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "stemrenal", *args], stderr=full, stdout=subprocess.DEVNULL,
            timeout=60, check=False, env=env,
        )  # fmt: skip
    assert done.returncode == code
