"""A cache of validated registry files, so a large registry is parsed and checked once.

Each clean registry file (one with no problems) gets one cache file in the user's cache
directory:

1. a header line that must match byte for byte: the file's resolved path, size, mtime and
   SHA-256, the stemrenal and schema versions, a fingerprint of the code and vocabulary that
   decide validity, and the installed Pydantic and tomli (their dist-info names and the stat
   of their modules), so any change to the file, to stemrenal or to the parser and validator
   is a miss;
2. the number of studies, the length of the index and a CRC-32 of everything after this line;
3. the index: one row per study with its id, overlaps, where its record lies, and its
   `query.Facets` (what filters and summaries read);
4. the records: each study as its own model serialised it (`Study` JSON, computed fields
   included), one per line.

A warm query reads the index only and parses the records of the studies it prints, as
`views.CachedStudy` objects, without importing Pydantic: that is what makes a warm run on a
large registry about as fast as `csvgrep` on the same rows. The library's `registry.check`
validates each record again with Pydantic and returns real `Study` models.

The data were validated before they were written, and the file is checked whole against its
CRC before any of it is used, so a damaged (truncated, overwritten, bit-flipped) cache file is
a miss. The CRC guards against accidents, not an adversary: whoever can write to your cache
directory can also edit your registry or your shell's start-up files.

The cache is an optimisation only. A missing, stale, corrupt, unreadable or unwritable cache
is a miss: never an error, never a message. Writes go to a temporary file that replaces the
cache file in one rename, so concurrent processes never see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stemrenal.models import Study
    from stemrenal.views import CachedStudy

#: Set to anything but "" or "0" to bypass the cache (as `--no-cache` does).
ENV_VAR = "STEMRENAL_NO_CACHE"

#: Bumped when the layout of a cache file changes.
FORMAT = 2

#: The stemrenal files whose content decides whether a registry file is valid, or what the
#: cache holds for it (`query` defines the facets, `views` reads them back).
_CODE = (
    "cache.py", "durations.py", "models.py", "query.py", "registry.py", "views.py",
    "vocabulary.py", "vocabulary.toml",
)  # fmt: skip

#: The packages that parse and validate a registry file: a different install is a miss.
_PARSERS = ("pydantic", "pydantic_core", "tomli")

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
    """The cache entry for ``path`` whose content is ``raw``; None when caching is off.

    Imports neither Pydantic nor tomli: a warm run never needs them.
    """
    if not enabled():
        return None
    folder = directory()
    if folder is None:
        return None
    import stemrenal

    try:
        resolved = path.resolve()
        stat = resolved.stat()
        header = {
            "format": FORMAT,
            "stemrenal": stemrenal.__version__,
            "schema": stemrenal.SCHEMA_VERSION,
            "code": _code_fingerprint(),
            "parsers": _parsers(),
            "path": str(resolved),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        name = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:32]
        line = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        return Entry(folder / f"{name}.json", line)
    except (OSError, RuntimeError, ValueError):  # e.g. a symlink loop, an undecodable name
        return None


def load_views(where: Entry) -> tuple[CachedStudy, ...] | None:
    """The cached studies as read-only views, or None on any miss; never imports Pydantic."""
    from stemrenal.query import Facets
    from stemrenal.views import CachedStudy

    try:
        with open(where.file, "rb") as stream:
            if stream.readline() != where.header:  # stale: do not read the rest
                return None
            data = stream.read()
        end = data.index(b"\n")
        count, index_length, crc = (int(part) for part in data[:end].split(b" "))
        body = end + 1
        if zlib.crc32(memoryview(data)[body:]) != crc:
            return None
        base = body + index_length
        rows = json.loads(data[body:base])
        width = 4 + len(Facets._fields)
        if len(rows) != count or any(len(row) != width for row in rows):
            return None
        if rows and rows[-1][3] + base != len(data) - 1:
            return None
        return tuple(
            CachedStudy(row[0], row[1], Facets._make(row[4:]), data, base + row[2], base + row[3])
            for row in rows
        )
    except (OSError, ValueError, TypeError):  # absent, unreadable, garbage, a directory
        return None


def load(where: Entry) -> tuple[Study, ...] | None:
    """The cached studies validated again as `Study` models, or None on any miss."""
    from stemrenal.models import Study
    from stemrenal.views import DamagedCache

    views = load_views(where)
    if views is None:
        return None
    computed = tuple(Study.model_computed_fields)
    studies: list[Study] = []
    try:
        for view in views:
            record = view.model_dump()
            for name in computed:  # derived again by the model; strict models refuse them
                record.pop(name, None)
            studies.append(Study.model_validate(record))
    except (ValueError, DamagedCache):  # pydantic's ValidationError is a ValueError
        return None
    return tuple(studies)


def store(where: Entry, studies: Sequence[Study]) -> None:
    """Write the studies atomically; any failure leaves the cache as it was, silently."""
    import tempfile

    import pydantic_core

    from stemrenal.models import Study

    to_json = Study.__pydantic_serializer__.to_json
    tmp: str | None = None
    try:
        records: list[bytes] = []
        rows: list[list[object]] = []
        offset = 0
        for study in studies:
            record = to_json(study) + b"\n"
            records.append(record)
            rows.append([study.id, study.overlaps, offset, offset + len(record) - 1, *study.facets])
            offset += len(record)
        index = pydantic_core.to_json(rows) + b"\n"
        crc = zlib.crc32(index)
        for record in records:
            crc = zlib.crc32(record, crc)
        where.file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=where.file.parent)
        with os.fdopen(fd, "wb") as stream:
            stream.write(where.header)
            stream.write(b"%d %d %d\n" % (len(records), len(index), crc))
            stream.write(index)
            stream.writelines(records)
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


@cache
def _parsers() -> list[list[object]]:
    """Where each parser package is installed, with its version and when it was installed.

    The first ``sys.path`` entry holding the package, as the import system would find it;
    its dist-info names (which carry the version) and the mtime of the package directory.
    Found without importing anything: a warm run never loads the parsers themselves.
    """
    found: list[list[object]] = []
    for name in _PARSERS:
        for base in sys.path:
            package = os.path.join(base or os.curdir, name)
            if os.path.isdir(package):
                prefix = name + "-"
                infos = sorted(
                    entry
                    for entry in os.listdir(base or os.curdir)
                    if entry.startswith(prefix) and entry.endswith((".dist-info", ".egg-info"))
                )
                found.append([name, package, os.stat(package).st_mtime_ns, infos])
                break
        else:
            found.append([name])
    return found
