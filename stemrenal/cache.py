"""A cache of validated registry files, so a large registry is parsed and checked once.

Each clean registry file (one with no problems) gets one cache file in the user's cache
directory: a header line that must match exactly, the number of studies, then one study per
line as JSON. The header holds the file's resolved path, size, mtime and SHA-256 plus the
stemrenal and schema versions, a fingerprint of the code and vocabulary that decide validity
and the versions of pydantic-core and tomli, so any change to the file, to stemrenal, to the
vocabulary or to the parser and validator is a miss. On a hit
each study is validated again by Pydantic's compiled JSON validator: what comes out of the
cache passed the same model as what comes out of TOML, and a damaged cache cannot smuggle in
an invalid study. Skipping that check would be faster but not safe (see benchmarks/README.md).

The cache is an optimisation only. A missing, stale, corrupt, unreadable or unwritable cache
is a miss: never an error, never a message. Writes go to a temporary file that replaces the
cache file in one rename, so concurrent processes never see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stemrenal.models import Study

#: Set to anything but "" or "0" to bypass the cache (as `--no-cache` does).
ENV_VAR = "STEMRENAL_NO_CACHE"

#: Bumped when the layout of a cache file changes.
FORMAT = 1

#: The stemrenal files whose content decides whether a registry file is valid.
_CODE = ("cache.py", "durations.py", "models.py", "registry.py", "vocabulary.py", "vocabulary.toml")

_bypass: ContextVar[bool] = ContextVar("stemrenal_cache_bypass", default=False)


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Within the block, neither read nor write the cache (the `--no-cache` option)."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def enabled() -> bool:
    """False under `--no-cache` or with STEMRENAL_NO_CACHE set."""
    return not _bypass.get() and os.environ.get(ENV_VAR, "") in {"", "0"}


def directory() -> Path | None:
    """``$XDG_CACHE_HOME/stemrenal``, else ``~/.cache/stemrenal``; None when there is no home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):
        return Path(base) / "stemrenal"
    try:
        return Path.home() / ".cache" / "stemrenal"
    except (RuntimeError, KeyError):  # no HOME and no password entry
        return None


class Entry:
    """Where one registry file's studies are cached, and the header that proves them current.

    A plain class: a dataclass would cost more import time than this whole module.
    """

    __slots__ = ("file", "header")

    def __init__(self, file: Path, header: bytes) -> None:
        self.file = file
        self.header = header


def entry(path: Path, raw: bytes) -> Entry | None:
    """The cache entry for ``path`` whose content is ``raw``; None when caching is off."""
    if not enabled():
        return None
    folder = directory()
    if folder is None:
        return None
    import pydantic_core
    import tomli

    from stemrenal import __version__
    from stemrenal.models import SCHEMA_VERSION

    try:
        resolved = path.resolve()
        stat = resolved.stat()
        header = {
            "format": FORMAT,
            "stemrenal": __version__,
            "schema": SCHEMA_VERSION,
            "code": _code_fingerprint(),
            "pydantic_core": pydantic_core.__version__,
            "tomli": tomli.__version__,
            "path": str(resolved),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        name = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:32]
        return Entry(folder / f"{name}.json", pydantic_core.to_json(header) + b"\n")
    except (OSError, RuntimeError, ValueError):  # e.g. a symlink loop, an undecodable name
        return None


def load(where: Entry) -> tuple[Study, ...] | None:
    """The cached studies, or None on any miss: absent, stale, unreadable or damaged."""
    from stemrenal.models import Study

    try:
        with open(where.file, "rb") as stream:
            if stream.readline() != where.header:
                return None
            count = int(stream.readline())
            # One study per line, validated one at a time: no second copy of the whole file.
            studies = tuple(Study.model_validate_json(line) for line in stream)
    except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
        return None
    return studies if len(studies) == count else None


def store(where: Entry, studies: Sequence[Study]) -> None:
    """Write the studies atomically; any failure leaves the cache as it was, silently.

    Only the keys the TOML gave are written (`exclude_unset`): the file is smaller, and a
    reloaded study has the same set fields as one read from TOML (all fields set would cost
    about 2 KiB more memory a study). `round_trip` leaves out computed fields, which the
    strict models would refuse as unknown keys.
    """
    import tempfile

    from stemrenal.models import Study

    to_json = Study.__pydantic_serializer__.to_json
    tmp: str | None = None
    try:
        lines = [to_json(s, round_trip=True, exclude_unset=True) + b"\n" for s in studies]
        where.file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=where.file.parent)
        with os.fdopen(fd, "wb") as stream:
            stream.write(where.header)
            stream.write(b"%d\n" % len(lines))
            stream.writelines(lines)
        os.replace(tmp, where.file)
        tmp = None
    except (OSError, ValueError):
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@cache
def _code_fingerprint() -> str:
    """SHA-256 of the code and vocabulary that decide validity: a change there is a miss."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return digest.hexdigest()
