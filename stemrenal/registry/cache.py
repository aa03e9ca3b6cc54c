"""A cache of validated registry files, so a large registry is parsed and checked once.

Each clean registry file (one with no problems) gets one cache file in the user's cache
directory:

1. a header line that must match byte for byte: the file's resolved path, size, mtime and
   SHA-256, the stemrenal and schema versions, a fingerprint of the code and vocabulary that
   decide validity, and the installed Pydantic and tomli (their dist-info names and the stat
   of their modules), so any change to the file, to stemrenal or to the parser and validator
   is a miss;
2. the number of studies, the length of the index and a CRC-32 of everything after this line;
3. the index: every study's id, the overlaps, and where each of the pieces below lies;
4. one line per term facet (`facets.TERM_FILTERS`): for each term, the rows of the studies
   that hold it (a posting list);
5. the `facets.Facets` of every study (what filters and summaries read), as one JSON array;
6. the records: each study as its own model serialised it (`Study` JSON, computed fields
   included), one per line.

A warm query reads the index, narrows the studies to those holding the terms it asks for by
their posting lists, and builds `cached.CachedStudy` objects for those only, parsing their
facets and then the records of the studies it prints, without importing Pydantic: that is
what makes a warm run on a large registry about as fast as `csvgrep` on the same rows. A
query with no term filter parses the facets of all studies at once. The library's
`registry.check` validates each record again with Pydantic and returns real `Study` models.

The data were validated before they were written, and the file is checked whole against its
CRC before any of it is used, so a damaged (truncated, overwritten, bit-flipped) cache file is
a miss. (A cache file of 1 MiB or more is mapped, not read: the CRC pass touches each page
once and nothing is copied but what is parsed. Mapped files are replaced, never rewritten in
place; another program truncating one in place while a query reads it would end that query
with SIGBUS.) The CRC guards against accidents, not an adversary: whoever can write to your
cache directory can also edit your registry or your shell's start-up files.

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
from stat import S_ISREG
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import mmap

    from stemrenal.models import Study
    from stemrenal.registry.cached import CachedFile

#: Set to anything but "" or "0" to bypass the cache (as `--no-cache` does).
ENV_VAR = "STEMRENAL_NO_CACHE"

#: Bumped when the layout of a cache file changes.
FORMAT = 3

#: The stemrenal files whose content decides whether a registry file is valid, or what the
#: cache holds for it (`facets` defines the facets, `cached` reads them back).
_CODE = (
    "registry/cache.py", "registry/cached.py", "registry/read.py", "appraisal.py",
    "durations.py", "facets.py", "models.py", "text.py", "vocabulary.py", "vocabulary.toml",
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


def bypass() -> None:
    """From now on in this run, neither read nor write the cache (a registry with its own
    vocabulary: its files' validity depends on more than their own bytes)."""
    _bypass.set(True)


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

    __slots__ = ("file", "header", "sha256")

    def __init__(self, file: Path, header: bytes, sha256: str) -> None:
        self.file = file
        self.header = header
        self.sha256 = sha256


def entry(path: Path) -> Entry | None:
    """The cache entry for ``path`` as it is now; None when caching is off or it can't be read.

    Hashes the file in pieces rather than reading it whole: on a hit its content is never
    needed. Only a regular file has an entry: a FIFO or a device can be read once, and that
    read is the parser's. Imports neither Pydantic nor tomli: a warm run never needs them.
    """
    if not enabled():
        return None
    folder = directory()
    if folder is None:
        return None
    import stemrenal

    try:
        resolved = path.resolve()
        if not S_ISREG(os.stat(resolved).st_mode):  # stat, not open: opening a FIFO reads it
            return None
        with open(resolved, "rb", buffering=0) as stream:
            stat = os.fstat(stream.fileno())
            digest = _sha256(stream, stat.st_size)
        header = {
            "format": FORMAT,
            "stemrenal": stemrenal.__version__,
            "schema": stemrenal.SCHEMA_VERSION,
            "code": _code_fingerprint(),
            "parsers": _parsers(),
            "path": str(resolved),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": digest,
        }
        name = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:32]
        line = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        return Entry(folder / f"{name}.json", line, digest)
    except (OSError, RuntimeError, ValueError):  # e.g. a symlink loop, an undecodable name
        return None


def _sha256(stream: BinaryIO, size: int) -> str:
    """`hashlib.file_digest` (Python 3.11+), in the few lines it takes.

    The buffer is no larger than the file: a directory of small registry files is hashed
    file by file, and zeroing 1 MiB for each was most of a warm run's time per file.
    """
    digest = hashlib.sha256()
    buffer = bytearray(min(size + 1, 1 << 20))
    view = memoryview(buffer)
    while size := stream.readinto(buffer):  # type: ignore[attr-defined]  # raw FileIO
        digest.update(view[:size])
    return digest.hexdigest()


def load_views(where: Entry) -> CachedFile | None:
    """The cached studies as a lazy sequence of views, or None on any miss; never imports Pydantic."""
    from stemrenal.registry.cached import CachedFile

    try:
        with open(where.file, "rb") as stream:
            data: bytes | mmap.mmap = _contents(stream)
        header = len(where.header)
        if data[:header] != where.header:  # stale: read no further
            return None
        end = data.find(b"\n", header)
        count, index_length, crc = (int(part) for part in data[header:end].split(b" "))
        if zlib.crc32(memoryview(data)[end + 1 :]) != crc:
            return None
        base = end + 1 + index_length
        index = json.loads(data[end + 1 : base])
        if index["count"] != count or data[-1:] != b"\n":
            return None
        return CachedFile(data, base, index)
    except (OSError, ValueError, TypeError, KeyError, IndexError):  # absent, unreadable, garbage
        return None


#: Cache files from this size up are mapped, smaller ones read. A map keeps a file descriptor
#: open while it lives; a registry directory of many small files would run out of them.
_MAP_FROM = 1 << 20


def _contents(stream: BinaryIO) -> bytes | mmap.mmap:
    """A large cache file mapped, not read: the records are most of it and a query reads few of
    them; the checksum touches each page once. Cache files are replaced, never rewritten in
    place, so the mapping cannot change under a reader. Out of maps or descriptors: read it."""
    import mmap

    if os.fstat(stream.fileno()).st_size >= _MAP_FROM:
        with contextlib.suppress(OSError):
            return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    return stream.read()


def load(where: Entry) -> tuple[Study, ...] | None:
    """The cached studies validated again as `Study` models, or None on any miss."""
    from stemrenal.models import Study
    from stemrenal.registry.cached import DamagedCache

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


def store(where: Entry, studies: Sequence[Study], raw: bytes) -> None:
    """Write the studies validated from `raw` atomically; any failure leaves the cache as it was.

    `entry` hashed the file before it was read again for parsing: if it changed in between,
    `raw` is not the content the entry is keyed by, and nothing is written.
    """
    if hashlib.sha256(raw).hexdigest() != where.sha256:
        return
    import tempfile

    import pydantic_core

    from stemrenal.facets import TERM_FILTERS, facet_terms
    from stemrenal.models import Study

    to_json = Study.__pydantic_serializer__.to_json
    if not studies:  # a clean file has studies; an empty one is not worth a cache file
        return
    tmp: str | None = None
    try:
        records: list[bytes] = []
        rows: list[bytes] = []
        overlaps: list[list[object]] = []
        postings: dict[str, dict[str, list[int]]] = {t.facet: {} for t in TERM_FILTERS}
        for number, study in enumerate(studies):
            records.append(to_json(study))
            facets = study.facets
            rows.append(pydantic_core.to_json(facets))
            if study.overlaps:
                overlaps.append([number, study.overlaps])
            for facet, terms in postings.items():
                for term in dict.fromkeys(facet_terms(getattr(facets, facet))):
                    terms.setdefault(term, []).append(number)
        # After the index: one line of postings per facet, the facets of all studies as
        # one JSON array, then one record per line; the index says where each piece lies.
        blocks = [pydantic_core.to_json(terms) + b"\n" for terms in postings.values()]
        spans = _spans(blocks, 0)
        facets_at = spans[-1][1] + 2  # past the last newline and the array's "["
        blocks.append(b"[" + b",".join(rows) + b"]\n")
        records_at = facets_at - 1 + len(blocks[-1])
        blocks += [record + b"\n" for record in records]
        index = {
            "count": len(records),
            "ids": [study.id for study in studies],
            "overlaps": overlaps,
            "postings": dict(zip(postings, spans, strict=True)),
            "facets": _starts(rows, facets_at),
            "records": _starts(records, records_at),
        }
        head = pydantic_core.to_json(index) + b"\n"
        crc = zlib.crc32(head)
        for block in blocks:
            crc = zlib.crc32(block, crc)
        where.file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=where.file.parent)
        with os.fdopen(fd, "wb") as stream:
            stream.write(where.header)
            stream.write(b"%d %d %d\n" % (len(records), len(head), crc))
            stream.write(head)
            stream.writelines(blocks)
        os.replace(tmp, where.file)
        tmp = None
    except (OSError, ValueError):
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _spans(lines: Sequence[bytes], at: int) -> list[tuple[int, int]]:
    """Where each line lies, without its newline, when the first starts at `at`."""
    spans = []
    for line in lines:
        spans.append((at, at + len(line) - 1))
        at += len(line)
    return spans


def _starts(items: Sequence[bytes], at: int) -> list[int]:
    """Where each item starts when they follow `at` one separator apart, and where the next
    would: item i lies at [starts[i], starts[i + 1] - 1)."""
    starts = [at]
    for item in items:
        starts.append(starts[-1] + len(item) + 1)
    return starts


@cache
def _code_fingerprint() -> str:
    """SHA-256 of the code and vocabulary that decide validity: a change there is a miss."""
    here = Path(__file__).parent.parent
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
