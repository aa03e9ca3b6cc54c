"""The command line: the group and its exits, the shared options, the commands.

Nothing else in stemrenal imports this package.
"""

from stemrenal.cli import commands as _commands  # registers the commands on the group
from stemrenal.cli.group import cli, main, script

__all__ = ["cli", "main", "script"]
del _commands
