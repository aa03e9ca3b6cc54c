"""The command line: the group and its exits, the shared options, the commands.

Nothing else in stemrenal imports this package. Importing it loads nothing more: `script`,
the program, takes Ctrl-C over first and only then loads the commands and their libraries
(about 60 ms), so an interrupt at any moment ends in "Interrupted." and 130, not in a
traceback from the middle of an import. `cli` and `main` load the commands when first used.
"""

import os
import sys

TYPE_CHECKING = False  # no typing or __future__ import: each takes time before the guard
if TYPE_CHECKING:
    import signal as _signal
    from typing import Any, NoReturn

    from stemrenal.cli.group import cli, main
else:  # the C module behind `signal`, loaded with the interpreter: no import to wait for
    import _signal

__all__ = ["cli", "main", "script"]

#: Whether Ctrl-C raises KeyboardInterrupt (while a command runs: `StemrenalGroup.invoke`
#: catches it after `-o` has removed its unfinished file) or ends the program at once
#: (loading, parsing, the last flush: nothing to undo, and click would say "Aborted!", 1).
_raise_on_interrupt = False
#: Whether Ctrl-C was raised into the command (`group.run` reads it at the end).
_pending = False


def script() -> "NoReturn":
    """The `stemrenal` program (console script, `python -m stemrenal`)."""
    sys.unraisablehook = _unraisable
    try:
        # Started with Ctrl-C ignored (a background job), it stays ignored.
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _on_interrupt)
        from stemrenal.cli.group import run  # the commands load when one is asked for
    except KeyboardInterrupt:  # before the handler was in place
        interrupted()
    run()


def raise_on_interrupt(raising: bool) -> None:
    """Set whether Ctrl-C raises KeyboardInterrupt (see `_raise_on_interrupt`)."""
    global _raise_on_interrupt
    _raise_on_interrupt = raising


def interrupt_pending() -> bool:
    """Whether Ctrl-C was raised into the command, whatever became of it."""
    return _pending


def _on_interrupt(signum: int, frame: object) -> None:
    global _raise_on_interrupt, _pending
    if _raise_on_interrupt:
        _raise_on_interrupt = False  # a second Ctrl-C during the clean-up stops at once
        _pending = True
        raise KeyboardInterrupt
    interrupted()


def _unraisable(unraisable: "Any") -> None:
    """Python's report of an error it had to ignore, except Ctrl-C raised into a callback
    ("Exception ignored in..."): `_pending` holds that one, and the run ends as interrupted."""
    if not (_pending and isinstance(unraisable.exc_value, KeyboardInterrupt)):
        sys.__unraisablehook__(unraisable)


def interrupted() -> "NoReturn":
    """Say so and stop at once, with the exit code of Ctrl-C."""
    try:
        os.write(2, b"Interrupted.\n")
    finally:  # even when stderr cannot be written: the exit code still says it
        os._exit(130)


def __getattr__(name: str) -> "Any":
    """`cli` and `main`, with every command registered on the group."""
    if name in ("cli", "main"):
        from stemrenal.cli import group

        group.load_commands()
        value = globals()[name] = getattr(group, name)
        return value
    raise AttributeError(name)
