"""`python -m stemrenal`."""

from stemrenal.cli import script

script()
