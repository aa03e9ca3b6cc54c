"""`python -m stemrenal`."""

from stemrenal.cli import main

main()
