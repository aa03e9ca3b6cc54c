"""The real program in a real process: closed pipes, Ctrl-C, another working directory.

`CliRunner` cannot close a pipe under the program or deliver a signal, so these run
`python -m stemrenal` as users do. No timing assertions: waits only bound a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stemrenal.cli import cli

from helpers import MINIMAL, SEED

FORMATS = ("tsv", "csv", "json", "jsonl", "markdown", "table")
COMMAND = (sys.executable, "-m", "stemrenal")
TIMEOUT = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMRENAL_")}
    env.update(extra)
    return env


def _python(script: str) -> subprocess.CompletedProcess[bytes]:
    """`python -c SCRIPT` in a child, its output captured."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def big_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough studies that any format's output overflows a pipe buffer (64 KiB)."""
    path = tmp_path_factory.mktemp("big") / "big.toml"
    assert 'id = "doe-2020-ckd"' in MINIMAL
    studies = [MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{i}"') for i in range(600)]
    path.write_text("\n".join(studies), encoding="utf-8")
    return path


def _close_early(args: list[str], registry: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    """Read one line, close the pipe, and collect what the program said about it."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [*COMMAND, "--registry", str(registry), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=_env(**env),
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        code = proc.wait(timeout=TIMEOUT)
        stderr.seek(0)
        return subprocess.CompletedProcess(proc.args, code, first, stderr.read())


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_closed_pipe_ends_quietly(big_registry: Path, fmt: str, unbuffered: str) -> None:
    """Every format's output is larger than the pipe, so the program is blocked writing when
    the reader leaves: it exits 141 (128 + SIGPIPE), whatever the format. Unbuffered
    (PYTHONUNBUFFERED, -u), a large write was cut short without an error: markdown lost the
    rest of its output and exited 0."""
    result = _close_early(["list", "--format", fmt], big_registry, PYTHONUNBUFFERED=unbuffered)
    assert result.stdout, "the reader got its first line"
    assert result.stderr == b""
    assert result.returncode == 141


def test_closed_pipe_on_outcomes(big_registry: Path) -> None:
    result = _close_early(["outcomes", "--format", "csv"], big_registry)
    assert result.stderr == b""


def test_shell_pipeline_into_head(big_registry: Path) -> None:
    """`stemrenal list | head -1` in a real shell prints one line and no traceback."""
    command = " ".join([*COMMAND, "--registry", str(big_registry), "list", "|", "head", "-1"])
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, env=_env(), timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("id\t")
    assert b"Traceback" not in result.stderr
    assert b"BrokenPipe" not in result.stderr


def test_small_output_into_closed_pipe(tmp_path: Path) -> None:
    """Output smaller than the pipe buffer fails only at exit; that flush must be quiet too."""
    command = " ".join([*COMMAND, "--registry", str(SEED), "list", "--format", "json"])
    result = subprocess.run(
        ["sh", "-c", f"{command} | true"],
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert b"Traceback" not in result.stderr
    assert b"Exception ignored" not in result.stderr


def _wait_for_reader(fifo: Path, proc: subprocess.Popen[bytes]) -> int:
    """Open the FIFO's write end once the program is blocked opening it for reading."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"program ended early: {proc.returncode}")
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
    pytest.fail("program never opened the registry")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
@pytest.mark.parametrize("command", [["validate"], ["list", "--format", "csv"]])
def test_ctrl_c_exits_130_with_one_line(tmp_path: Path, command: list[str]) -> None:
    """The program blocks reading a FIFO registry; SIGINT then arrives mid-read."""
    fifo = tmp_path / "registry.toml"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [*COMMAND, "--registry", str(fifo), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(STEMRENAL_NO_CACHE="1"),
    )
    writer = _wait_for_reader(fifo, proc)
    try:
        time.sleep(0.2)  # let the reader move from open() into read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        os.close(writer)
    assert proc.returncode == 130
    assert err.decode().splitlines() == ["Interrupted."]
    assert out == b""


#: The installed console script (`stemrenal.cli:script`), beside this interpreter.
SCRIPT = Path(sys.executable).with_name("stemrenal")
ENTRIES = {
    "python -m": COMMAND,
    "console script": (str(SCRIPT),),
}
#: From the signal handler's first moments (about 20 ms here) through the imports (to about
#: 80 ms) into the command itself (a warm `list` ends at about 150 ms).
DELAYS_MS = (0, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150)
PACKAGE = str(Path(__file__).resolve().parent.parent / "stemrenal")


@pytest.mark.parametrize("entry", ENTRIES, ids=list(ENTRIES))
def test_ctrl_c_at_any_moment_of_start_up_is_interrupted_and_130(entry: str) -> None:
    """SIGINT at 0 to 150 ms after start: the program finished, or printed only
    "Interrupted." and exited 130; never a traceback from stemrenal's code.

    The imports used to run unguarded: Ctrl-C in their first 60 ms gave a KeyboardInterrupt
    traceback (30 of 30 at 10, 30 and 50 ms). Before the package's first line runs, Python's
    own start-up answers Ctrl-C as it does for every Python program (`_python_start_up`); no
    frame of stemrenal can be in that, and the test holds it to that.
    """
    if entry == "console script" and not SCRIPT.exists():
        pytest.skip(f"no console script at {SCRIPT}")
    command = [*ENTRIES[entry], "list", "--format", "csv"]
    subprocess.run(command, capture_output=True, env=_env(), timeout=TIMEOUT, check=True)
    outcomes = []
    for delay in DELAYS_MS:
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
        )
        time.sleep(delay / 1000)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
        outcomes.append((delay, proc.returncode, err.decode(errors="replace")))
    wrong = [
        f"{delay} ms: exit {code}\n{stderr}"
        for delay, code, stderr in outcomes
        if stderr != {0: "", 130: "Interrupted.\n"}.get(code) and not _python_start_up(code, stderr)
    ]
    assert not wrong, "\n".join(wrong)
    assert any(code == 130 for _, code, _ in outcomes), outcomes  # the guard was exercised


def _python_start_up(code: int, stderr: str) -> bool:
    """What Python does with Ctrl-C before the package's first line: end by the signal with
    nothing said (no handler yet), fail to start ("Fatal Python error"), print its own
    traceback (site, runpy, the console script's `import re` and `from stemrenal.cli import
    script`), or print one "Exception ignored" in an import callback and carry on."""
    if (code == -signal.SIGINT and not stderr) or stderr.startswith("Fatal Python error"):
        return True
    ours = PACKAGE in stderr or "Interrupted." in stderr
    return not ours and code in (-signal.SIGINT, 1, 0) and "KeyboardInterrupt" in stderr


def test_ctrl_c_ignored_at_start_stays_ignored() -> None:
    """A background job started with SIGINT ignored keeps it so (POSIX shells rely on it):
    the program's own handler is set only over Python's default one."""
    proc = subprocess.Popen(
        [*COMMAND, "list", "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, err) == (0, b"")
    assert out.startswith(b"id,")


def test_runs_from_another_directory(tmp_path: Path) -> None:
    """The bundled registry is found by the package, not by the working directory."""
    result = subprocess.run(
        [*COMMAND, "validate"],
        capture_output=True,
        cwd=tmp_path,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("ok: ")


def test_piped_output_is_plain(tmp_path: Path) -> None:
    """Off a terminal: TSV by default, no escape codes, no box drawing, nothing on stderr."""
    result = subprocess.run(
        [*COMMAND, "--registry", str(SEED), "list"],
        capture_output=True,
        cwd=tmp_path,
        env=_env(),
        timeout=TIMEOUT,
        check=True,
    )
    text = result.stdout.decode()
    assert text.startswith("id\t")
    assert "\x1b" not in text
    assert not set(text) & set("│─┃━┏┓└┘")
    assert result.stderr == b""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell: str) -> None:
    """What the README's `eval "$(_STEMRENAL_COMPLETE=bash_source stemrenal)"` runs."""
    result = subprocess.run(
        [*COMMAND],
        capture_output=True,
        env=_env(_STEMRENAL_COMPLETE=f"{shell}_source"),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_STEMRENAL_COMPLETE" in result.stdout.decode()


def test_bash_completes_vocabulary_terms_and_study_ids() -> None:
    def complete(words: str) -> list[str]:
        result = subprocess.run(
            [*COMMAND],
            capture_output=True,
            env=_env(
                _STEMRENAL_COMPLETE="bash_complete",
                COMP_WORDS=words,
                COMP_CWORD=str(len(words.split()) - 1),
            ),
            timeout=TIMEOUT,
            check=True,
        )
        return [line.split(",", 1)[1] for line in result.stdout.decode().splitlines()]

    assert complete("stemrenal list --disease lup") == ["lupus-nephritis"]
    assert complete("stemrenal show ranjbar") == ["ranjbar-2022-lupus-nephritis"]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["validate"], 0),
        (["list", "--format", "csv", "--disease", "no-such-disease"], 2),
        (["show", "no-such-study"], 2),
    ],
)
def test_the_program_exits_with_click_status_and_all_output(args: list[str], status: int) -> None:
    """`main` leaves with os._exit (no interpreter teardown): nothing may be lost by it."""
    result = subprocess.run(
        [*COMMAND, *args], capture_output=True, env=_env(), timeout=TIMEOUT, check=False
    )
    with_runner = CliRunner().invoke(cli, args, prog_name="stemrenal")
    assert result.returncode == status == with_runner.exit_code
    assert result.stdout.decode() == with_runner.stdout
    assert result.stderr.decode() == with_runner.stderr


def test_a_large_output_is_written_whole_before_the_program_exits(tmp_path: Path) -> None:
    registry = tmp_path / "big.toml"
    registry.write_text(
        "\n".join(MINIMAL.replace('"doe-2020-ckd"', f'"doe-2020-ckd-{i}"') for i in range(300)),
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    for extra in ([], ["-o", str(target)]):
        result = subprocess.run(
            [*COMMAND, "--registry", str(registry), "list", "--format", "jsonl", *extra],
            capture_output=True,
            env=_env(XDG_CACHE_HOME=str(tmp_path / "cache")),
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        text = target.read_text(encoding="utf-8") if extra else result.stdout.decode()
        assert len(text.splitlines()) == 300
        assert text.endswith("}\n")


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [("None", 0, ""), ("3", 3, ""), ("'stopped'", 1, "stopped\n")],
)
def test_leaving_keeps_what_sys_exit_means(code: str, status: int, stderr: str) -> None:
    script = f"import sys\nfrom stemrenal.cli.group import _leave\nsys.stdout.write('kept')\n_leave({code})\n"
    result = _python(script)
    assert (result.returncode, result.stdout, result.stderr.decode()) == (status, b"kept", stderr)


@pytest.mark.parametrize(
    ("args", "closed"),
    [
        (["--help"], "2>&-"),
        (["list", "--format", "csv", "--limit", "2"], "2>&-"),
        (["validate"], "2>&-"),
    ],
)
def test_a_stream_closed_before_the_start_is_no_failure(args: list[str], closed: str) -> None:
    """Cron and daemons start programs with stderr closed: Python makes it None. (With stdout
    closed the output is lost: one line and exit 1, test_adversarial.py.)"""
    script = f'"$@" {closed}; echo "status $?" >&3'
    result = subprocess.run(
        ["bash", "-c", f"exec 3>&1; {script}", "_", *COMMAND, *args],
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )
    out = result.stdout.decode()
    assert out.endswith("status 0\n"), (out, result.stderr.decode())
    assert "Traceback" not in out + result.stderr.decode()
    if closed == "2>&-" and args[0] == "list":
        assert len(out.splitlines()) == 4  # header, two studies, the status line


@pytest.mark.parametrize(
    ("redirect", "message"),
    [
        (">&-", "Error: cannot write to standard output: standard output is closed"),
        (">/dev/full", "Error: cannot write to standard output: No space left on device"),
    ],
    ids=["stdout-closed", "disk-full"],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_1(redirect: str, message: str) -> None:
    if redirect == ">/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    script = f'"$@" {redirect}; echo "status $?" >&3'
    result = subprocess.run(
        ["bash", "-c", f"exec 3>&1; {script}", "_", *COMMAND, "list"],
        capture_output=True,
        env=_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.stdout.decode() == "status 1\n"
    assert result.stderr.decode().splitlines() == [message]


def test_a_caller_of_main_keeps_its_system_exit(tmp_path: Path) -> None:
    """Only the program leaves with os._exit; code that calls `main` gets SystemExit back."""
    log = tmp_path / "log.txt"
    script = (
        "import sys\nfrom stemrenal.cli import main\n"
        f"log = open({str(log)!r}, 'w')\nlog.write('before|')\n"
        "sys.argv = ['stemrenal', 'vocab', 'designs']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    log.write(f'exited {exc.code}|')\n"
        "log.write('after')\n"
    )
    result = _python(script)
    assert result.returncode == 0, result.stderr
    assert log.read_text(encoding="utf-8") == "before|exited 0|after"
    assert b"rct" in result.stdout
