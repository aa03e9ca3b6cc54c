"""Domain errors and exit codes, defined once so the CLI translates them in one place."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    """Every exit status the tool uses (README: "Errors and exit codes")."""

    OK = 0
    DATA = 1
    USAGE = 2
    INTERRUPTED = 130


#: Characters that could restyle a terminal or break a message onto a second line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

#: Longest id or key shown in a message (a valid id has at most 120 characters).
_LONGEST_NAME = 160


def visible(text: str, longest: int | None = None) -> str:
    """Text fit for a one-line message: control characters escaped (as \\x1b), long text cut."""
    if longest is not None and len(text) > longest:
        text = text[: longest - 3] + "..."
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def quoted(value: object, longest: int = 60) -> str:
    """A value quoted for a message, cut short: a hostile registry can hold a megabyte."""
    shown = repr(value)
    return shown if len(shown) <= longest + 2 else shown[:longest] + "..."


class Problem(NamedTuple):
    """One thing wrong with a registry, located as precisely as the TOML text allows."""

    file: str
    line: int | None
    study: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [visible(where)]
        if self.study:
            parts.append(f"study {visible(self.study, _LONGEST_NAME)}")
        if self.field:
            parts.append(visible(self.field, _LONGEST_NAME))
        parts.append(visible(self.message))
        return ": ".join(parts)


class StemrenalError(Exception):
    """Base class: every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.DATA


class RegistryError(StemrenalError):
    """The registry could not be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        count = len(problems)
        lines.append(f"{count} problem{'s' if count != 1 else ''} found")
        super().__init__("\n".join(lines))


class UsageProblem(StemrenalError):
    """The user asked for something that cannot be (unknown id, term, column...)."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, option: str | None = None) -> None:
        self.option = option
        super().__init__(message)


class UnknownTermError(UsageProblem):
    """A term that is not in the vocabulary, with the closest canonical terms."""

    def __init__(self, kind: str, text: str, suggestions: list[str]) -> None:
        self.kind = kind
        self.text = text
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} term {text!r}.{hint}", option=f"--{kind}")


class OutputError(StemrenalError):
    """The output file could not be written."""
