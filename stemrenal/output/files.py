"""Where output goes: stdout, or a file written atomically.

click's ``File(atomic=True)`` replaces the target even when the command fails, so stemrenal
writes to a temporary file beside the target and renames it only on success.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from stemrenal.errors import OutputError

if TYPE_CHECKING:
    from pathlib import Path


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None) -> Iterator[TextIO]:
    """Yield stdout, or a temporary file that replaces ``path`` only if the block succeeds."""
    descriptor = None if path is None else _descriptor(os.fspath(path))
    if path is None or str(path) == "-" or descriptor == 1:
        yield from _stdout()
        return
    from pathlib import Path  # only a file needs it: a query to stdout does not import it

    if descriptor is not None:  # /dev/stderr, /dev/fd/3: what the shell opened, as it is
        yield from _through(Path(path), descriptor)
        return
    import stat
    import tempfile  # only a file needs it, not stdout

    try:
        mode = os.stat(path).st_mode  # follows a symlink
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):  # a device, FIFO or /dev/stdout: through
        yield from _through(Path(path))
        return
    # A symlink is followed: its target is replaced, the link stays a link.
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        _keep_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # a full disk, a lost mount: one line, not a traceback
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def _stdout() -> Iterator[TextIO]:
    if sys.stdout is None:  # closed before the program started (`>&-`, some cron setups)
        raise OutputError("cannot write to standard output: standard output is closed")
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head`): handled where the program ends
        raise
    except OSError as exc:  # a full disk behind `>`, a lost device: one line, exit 1
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


#: The names of the standard streams' descriptors.
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def _descriptor(path: str) -> int | None:
    """The open descriptor a path names (/dev/stdout, /dev/fd/N, /proc/self/fd/N), if any.

    What it leads to was opened by the shell, perhaps to append (`-o /dev/stdout >> log`):
    opening it again would truncate a regular file, and replacing it would lose the log.
    So it is written as it is, through the descriptor itself.
    """
    name = os.path.normpath(path)
    if name in _STANDARD:
        return _STANDARD[name]
    for prefix in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        number = name[len(prefix) :]
        if name.startswith(prefix) and number.isdigit():
            return int(number)
    return None


def _through(target: Path, descriptor: int | None = None) -> Iterator[TextIO]:
    """Write straight into a node that is not a regular file (never replace /dev/null), or
    into an open descriptor, at its own offset and with its own flags (a duplicate shares
    them: an appending descriptor keeps appending)."""
    from stemrenal.text import escape_controls

    shown = escape_controls(str(target))
    try:
        if descriptor is None:
            stream = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
        else:
            stream = os.fdopen(os.dup(descriptor), "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with stream:
            yield stream
    except BrokenPipeError:  # the reader left: the program ends quietly, as for stdout
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None


def _keep_mode(target: Path, tmp: str) -> None:
    """A replaced file keeps its permissions; a new one gets the usual umask-based mode."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def page(text: str, stream: TextIO) -> None:
    """Text for a person at a terminal: through $PAGER (else `less`, with LESS=FRX unless set)
    when it is taller than the screen, else straight out. The caller prints its notice after,
    outside the pager."""
    import shutil

    rows = shutil.get_terminal_size().lines
    if text.count("\n") < rows - 1 or os.environ.get("PAGER") == "":
        stream.write(text)
        return
    import shlex
    import subprocess

    command = shlex.split(os.environ.get("PAGER") or "less")
    env = {**os.environ}
    env.setdefault("LESS", "FRX")  # keep colours, quit when done, leave the screen as it was
    try:
        pager = subprocess.Popen(command, stdin=subprocess.PIPE, env=env, encoding="utf-8")
    except OSError:  # no such pager: the text, unpaged
        stream.write(text)
        return
    assert pager.stdin is not None
    try:
        pager.stdin.write(text)
        pager.stdin.close()
    except (BrokenPipeError, OSError):  # the reader quit the pager early: that is fine
        pass
    pager.wait()
