"""`python -m stemrenal`."""

import os

try:
    from stemrenal.cli import script
except KeyboardInterrupt:  # while `stemrenal.cli` loads, before `script` takes Ctrl-C over
    try:
        os.write(2, b"Interrupted.\n")
    finally:  # even when stderr cannot be written: the exit code still says it
        os._exit(130)

script()
