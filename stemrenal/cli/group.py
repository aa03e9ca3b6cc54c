"""The command group and how the program ends: every error becomes an exit code here.

Domain errors and Ctrl-C are translated once, in `StemrenalGroup.invoke`; `main` and
`run` are the entry points (a caller in-process, and the program itself once
`stemrenal.cli.script` has taken Ctrl-C over). The commands load when one is asked for.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
from typing import Any, NoReturn, TextIO, cast

import click

from stemrenal.cli import interrupt_pending, interrupted, raise_on_interrupt

#: `errors.ExitCode.PIPE` and `.INTERRUPTED`, for the paths that run without a command
#: (`--help`, `--version`), which load neither `errors` nor `text` (tests/test_cli.py).
_PIPE = 141
_INTERRUPTED = 130


def _begin() -> None:
    """What every command starts with: UTF-8 streams, and what an earlier command in this
    process read from the cache forgotten (see `_damaged_cache`)."""
    _utf8_streams()
    loaded = sys.modules.get("stemrenal.registry")
    if loaded is not None:
        loaded.forget_cache_read()


def _damaged_cache(exc: Exception) -> Exception:
    """What a value of the wrong shape in a cached record becomes: one line, exit 1, and the
    cache entries read removed (so the next run reads the registry afresh). The records read
    are validated again first: when they are valid, the error is a bug, and stays the
    exception it was."""
    from stemrenal import registry
    from stemrenal.text import escape_controls

    if not registry.blame_cache():
        return exc
    return click.ClickException(
        f"the cached copy of the registry is damaged ({type(exc).__name__}: "
        f"{escape_controls(str(exc), 120)}); it was removed: run the command again"
    )


#: Every command and the first paragraph of its help, so that `stemrenal --help` (and shell
#: completion of a command name) lists them without loading them: loading the commands and
#: their options is most of what the program does before a command runs. tests/test_cli.py
#: holds this table to the commands themselves.
SUMMARIES = {
    "about": "Say how the registry was built and what it holds: scope, searches, criteria, counts.",
    "brief": "Write a one-page plain-language brief for patients and families: what was studied, "
    "what the controlled trials found (null results included), what is known about safety, "
    "what remains uncertain and why, the terms explained, and the studies cited.",
    "check": "Check an article's claims against the registry: each claim beside what the "
    "registry records, with its source and a verdict (agrees, contradicts, not-in-sources).",
    "cite": "Cite the named studies in the order given, or every study the filters select.",
    "evidence": "Summarise the evidence per endpoint: what controlled comparisons found, kept "
    "apart from before/after results, with risk of bias and the certainty of the evidence.",
    "fmt": "Rewrite registry files in one layout, with canonical terms instead of aliases.",
    "import": "Draft a study from a citation export: RIS, PubMed .nbib or XML, CSL-JSON or BibTeX.",
    "list": "List the studies that match, one row each, with citation and limitations.",
    "map": "Map the evidence: diseases by cell type (or source, tissue, class).",
    "new": "Print a complete, commented [[study]] to fill in, for one design.",
    "outcomes": "List reported outcomes, one row each; --endpoint also narrows the rows.",
    "rob": "List risk-of-bias judgements domain by domain, one study per row, for one tool.",
    "safety": "List reported adverse events (deaths, serious events, infections...), one row each.",
    "schema": "Print the registry's JSON Schema, for editors that check TOML as you type.",
    "show": "Show one study in full: design, arms, outcomes, safety, limitations and citation.",
    "summary": "Count studies and participants by disease, cell source, cell type, tissue and "
    "design.",
    "trials": "List registered trials, above all those never reported: status, dates, enrolment.",
    "validate": "Check registry files; print every problem as FILE:LINE: study ID: field: message.",
    "vocab": "List the accepted terms, with labels and aliases (English and Chinese).",
}


def load_commands() -> None:
    """Register every command on the group (`commands` does so as it is imported)."""
    from stemrenal.cli import commands

    del commands


class StemrenalGroup(click.Group):
    """Translates domain errors and Ctrl-C into exit codes, once, for every command, and
    loads the commands only when one is asked for (`SUMMARIES`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(SUMMARIES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            load_commands()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `--help`, from `SUMMARIES`: as click writes it from the
        commands (each shortened by click itself, from a stand-in), without loading them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=SUMMARIES.get(name, "")).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        # A command is one short pass that makes many objects and almost no cyclic garbage:
        # the cyclic collector would only rescan the loaded registry (a third of the time of
        # a warm query on 10,000 studies). Reference counting still frees what is dropped.
        from stemrenal.errors import RegistryError, StemrenalError, UsageProblem
        from stemrenal.text import plural

        gc_was_enabled = gc.isenabled()
        gc.disable()
        _begin()
        try:
            raise_on_interrupt(True)  # for the program (`cli.script`): cleaned up, then here
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(_INTERRUPTED) from None
        except BrokenPipeError:  # the reader left: stop quietly, with the shell's code
            _quiet_stdout()
            raise click.exceptions.Exit(_PIPE) from None
        except RegistryError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            found = f"the {exc.what} has {plural(len(exc.problems), 'problem')}"
            if exc.what == "registry":
                import shlex

                paths = ctx.find_root().params.get("registry") or ()
                where = "".join(f" --registry {shlex.quote(p)}" for p in paths)
                found += f"; run `stemrenal{where} validate` for the full list"
            raise click.ClickException(found) from None
        except UsageProblem as exc:
            hint = [exc.option] if exc.option else None
            raise (
                click.BadParameter(str(exc), param_hint=hint)
                if hint
                else click.UsageError(str(exc))
            ) from None
        except StemrenalError as exc:
            raise click.ClickException(str(exc)) from None
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise _damaged_cache(exc) from None
        finally:
            raise_on_interrupt(False)
            if gc_was_enabled:
                gc.enable()


def _utf8_streams() -> None:
    """Output is UTF-8 whatever the locale says (PYTHONIOENCODING=ascii, a Latin-1 terminal):
    registry text is Chinese and English, and one encoding everywhere beats a traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and encoding not in ("utf-8", "utf8"):
            with contextlib.suppress(OSError, ValueError):
                reconfigure(encoding="utf-8")


def _quiet_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


# ----------------------------------------------------------------------------- the group


@click.group(cls=StemrenalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--registry",
    type=click.Path(exists=True, dir_okay=True, readable=False),
    multiple=True,
    envvar="STEMRENAL_REGISTRY",
    metavar="PATH",
    help="Registry file or directory of *.toml (repeatable). Default: $STEMRENAL_REGISTRY "
    "(paths separated by the OS path separator), else the bundled registry.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read and validate every registry file afresh; neither read nor write the cache of "
    "validated files. Same as STEMRENAL_NO_CACHE=1.",
)
@click.version_option(package_name="stemrenal", prog_name="stemrenal")
@click.pass_context
def cli(ctx: click.Context, registry: tuple[str, ...], no_cache: bool) -> None:
    """What does the clinical evidence on stem-cell therapy in kidney disease show?

    Every result comes with its study's design, size, follow-up, citation and limitations.
    stemrenal informs; it gives no medical advice.

    \b
    Examples:
      stemrenal list --disease lupus
      stemrenal outcomes --endpoint proteinuria --format csv -o proteinuria.csv
      stemrenal show ranjbar-2022-lupus-nephritis
    """
    ctx.obj = tuple(registry)
    if no_cache:
        from stemrenal.registry import without_cache

        ctx.with_resource(without_cache())


def _on_signal(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does: the temporary file of an unfinished
    `-o` is removed on the way out (`output.files`), and the exit code is 128 + the signal."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point for a caller in-process: Ctrl-C before click takes over still exits 130."""
    import signal

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            with contextlib.suppress(ValueError, OSError):  # not the main thread: leave it be
                signal.signal(getattr(signal, name), _on_signal)
    if sys.stderr is not None and not isinstance(sys.stderr, _Unfailing):
        sys.stderr = cast(TextIO, _Unfailing(sys.stderr))
    try:
        cli(prog_name="stemrenal")
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("Interrupted.\n")
        sys.exit(_INTERRUPTED)


class _Unfailing:
    """stderr that cannot fail: messages are best effort, the exit code is what counts. A
    usage error with stderr on a full disk still exits 2, not 1 from a failed write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def run() -> NoReturn:
    """The `stemrenal` program, once loaded (`stemrenal.cli.script`): `main`, then leave.

    Only the program itself leaves this way: a caller of `main` keeps its SystemExit.
    Ctrl-C raised into a command may come out as another error (Python wraps what a class's
    `__set_name__` raises in RuntimeError) or be swallowed where Python ignores errors (an
    import's weakref callback): either way the run ends as interrupted, once unwound.
    """
    code: object = 0
    _buffered_stdout()
    if sys.stdout is None:  # closed before the start (`>&-`): writing fails, in one line
        sys.stdout = _Closed()
    try:
        main()
    except SystemExit as exc:  # click's standalone mode always ends this way
        code = exc.code
    except BrokenPipeError:  # help or --version into a pipe whose reader left
        _quiet_stdout()
        code = _PIPE
    except OSError as exc:  # outside a command only the output can fail: help, --version
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(f"Error: cannot write to standard output: {exc.strerror or exc}\n")
        code = 1
    except BaseException:
        if not interrupt_pending():
            raise
    if interrupt_pending() and code != _INTERRUPTED:
        interrupted()
    _leave(code)


def _leave(code: object) -> NoReturn:
    """Exit at once, as `sys.exit(code)` would, without tearing the interpreter down.

    Everything a command wrote is flushed here and its files are closed already; what is left
    is freeing every object one by one and a last garbage collection, which cost a warm query
    on 10,000 studies about 12 ms (8% of its run) for nothing. So: flush, then `os._exit`.
    Nothing on the way registers an atexit handler (stemrenal, click and Rich have none).
    A stream closed before the program started is None here, as Python leaves it.
    """
    streams = [stream for stream in (sys.stdout, sys.stderr) if stream is not None]
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr and the status is 1
        status = 1
        if sys.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f"{code}\n")
    for stream in streams:
        try:
            stream.flush()
        except BrokenPipeError:  # the reader left before the last of the output
            status = status or _PIPE
        except (OSError, ValueError):  # a closed stream: nothing more can be said
            status = status or 1
    os._exit(status)


class _Closed(io.TextIOBase):
    """Standard output closed before the program started: every write fails as a write to a
    closed descriptor does (click would otherwise drop help and --version silently)."""

    def write(self, text: str) -> int:
        raise OSError(9, "standard output is closed")  # EBADF


def _buffered_stdout() -> None:
    """Put a buffer under stdout when Python runs unbuffered (PYTHONUNBUFFERED, -u).

    Unbuffered, a text write goes straight to the file descriptor, and one the kernel takes
    only part of (a pipe whose reader left, a disk that filled up) is cut short with no error:
    `list --format markdown | head -c 10` lost the rest and exited 0, where every line-by-line
    format exits 141. Through a buffer every write is whole or an error. The program flushes
    when it leaves (`_leave`), so nothing is held back at the end.
    """
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    if isinstance(stream, io.TextIOWrapper) and isinstance(raw, io.FileIO):
        _UNBUFFERED.append(stream)  # kept: collecting it would close the descriptor
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(raw),
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=stream.line_buffering,
        )


_UNBUFFERED: list[TextIO] = []
