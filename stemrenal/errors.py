"""Domain errors and exit codes, defined once so the CLI translates them in one place."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from stemrenal.text import escape_controls, plural


class ExitCode(IntEnum):
    """Every failing exit status the tool uses (README: "Errors and exit codes")."""

    DATA = 1
    USAGE = 2
    INTERRUPTED = 130
    PIPE = 141  # the reader closed the pipe (`| head`): 128 + SIGPIPE, the shell's convention


#: Longest id or key shown in a message (a valid id has at most 120 characters).
_LONGEST_NAME = 160


class Problem(NamedTuple):
    """One thing wrong with a registry, located as precisely as the TOML text allows."""

    file: str
    line: int | None
    study: str | None  # the record's id (a study's, or a trial's...)
    field: str | None
    message: str
    record: str = "study"  # what kind of record `study` names: study, trial, excluded, claim

    def __str__(self) -> str:
        # A file name that is not UTF-8 arrives with its bytes as lone surrogates, which no
        # strict UTF-8 stream can write: show each byte as \xNN instead.
        name = self.file.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        where = f"{name}:{self.line}" if self.line else name
        parts = [escape_controls(where)]
        if self.study:
            parts.append(f"{self.record} {escape_controls(self.study, _LONGEST_NAME)}")
        if self.field:
            parts.append(escape_controls(self.field, _LONGEST_NAME))
        parts.append(escape_controls(self.message))
        return ": ".join(parts)


class StemrenalError(Exception):
    """Base class: every error the library raises on purpose."""


class RegistryError(StemrenalError):
    """The registry could not be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], what: str = "registry") -> None:
        self.problems = problems
        self.what = what  # "registry", or the other file that was read ("claims file")
        lines = [str(p) for p in problems]
        lines.append(f"{plural(len(problems), 'problem')} found")
        super().__init__("\n".join(lines))


class UsageProblem(StemrenalError):
    """The user asked for something that cannot be (unknown id, term, column...)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        self.option = option
        super().__init__(message)


class OutputError(StemrenalError):
    """The output file could not be written."""
