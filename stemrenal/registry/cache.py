"""A cache of validated registry files, so a large registry is parsed and checked once.

Each clean registry file (one with no problems) gets one SQLite database (stdlib `sqlite3`)
in the user's cache directory, named from the file's resolved path:

- `meta`, one row: the key (this module's `FORMAT`, the stemrenal and schema versions, a
  checksum of the code and vocabulary that decide validity, the installed Pydantic, tomli
  and toml-rs), the file's resolved path, its stat (device, inode, size, mtime_ns, ctime_ns), when
  that stat was taken, the SHA-256 of its content, the number of studies and whether they
  are consistent alone (ids unique, every overlap one of them: then a query on this file
  alone reads no id it does not print), and for such a file its `query.summarise` (what
  `summary` without filters and `about` print, read instead of counting every study again)
  with a CRC-32;
- `study`, one row per study in file order: its id, overlaps, facets (`facets.Facets`, what
  filters and summaries read) and its validated record (the `Study` JSON its own model
  wrote, computed fields included), its light record (the same with only the fields that
  tables read by default, `cached.LIGHT`: half the text to parse for a `list`), each of the
  three with a CRC-32 (the facets' covers the id too); the scalar facets also as columns;
- `term` (facet, term, row), indexed: for every term facet (`facets.TERM_FILTERS`), the
  studies that hold each term; `outcome` (row, endpoint, primary, comparison).

A warm query checks `meta` and selects the rows holding the terms it asks for through the
`term` index; `cached.CachedFile` builds read-only stand-ins for those rows from their
facets, and reads their records only when they are printed, without importing Pydantic.
`query` then applies every filter to what came back, so what a filter means is defined once.

**When a cache is current.** The key and the path must match. Then, as git does for its
index: a stat equal to the stored one proves the content unchanged, without reading it, unless
the file is "racily clean" (modified within `_RACY_NS` of when its stat was taken, when a
second write could leave the same stat); a changed or racy stat means hashing the content,
and a cache whose stored SHA-256 still matches is current (its stat is then brought up to
date). So an unchanged file costs one `stat`, and a stale cache is never served.

**What is trusted.** Only a cache directory and files that are this user's own, with no
group or other write permission, and regular files (not links, FIFOs or devices): anything
else is ignored and never written into. Each value read is checked against its CRC, and
facets against their shape (`cached`), so a damaged database is a miss, not a crash. The
CRC guards against accidents, not an adversary: whoever can write your cache directory can
also edit your registry.

The cache is an optimisation only. A missing, stale, damaged, foreign, unreadable or
unwritable cache is a miss: never an error, never a message. A database is written under a
temporary name and renamed over the old one, so concurrent processes never see half of one;
a `Writer` takes the studies one at a time, so a file of studies alone is cached as it is
validated (`read._streamed`) and never held whole.
"""

from __future__ import annotations

import contextlib
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import sqlite3
    from typing import Self

    from stemrenal.facets import Facets
    from stemrenal.models import Study
    from stemrenal.query import Summary
    from stemrenal.registry.cached import CachedFile

#: Set to anything but "" or "0" to bypass the cache (as `--no-cache` does).
ENV_VAR = "STEMRENAL_NO_CACHE"

#: Bumped when the layout of a cache database changes.
FORMAT = 6

#: The stemrenal files whose content decides whether a registry file is valid, or what the
#: cache holds for it (`facets` defines the facets, `cached` reads them back).
_CODE = (
    "registry/cache.py", "registry/cached.py", "registry/read.py", "registry/parse.py",
    "appraisal.py",
    "durations.py", "facets.py", "models.py", "query.py", "text.py", "vocabulary.py",
    "vocabulary.toml",
)  # fmt: skip

#: The packages that parse and validate a registry file: a different install is a miss
#: (toml_rs, the `fast` extra, whether installed or not).
_PARSERS = ("pydantic", "pydantic_core", "tomli", "toml_rs")

#: A file modified less than this before its stat was taken is "racily clean": a later write
#: within the filesystem's timestamp granularity (2 s on FAT, a clock tick elsewhere) could
#: leave the same stat, so its content is hashed again until the stat is older than this.
_RACY_NS = 2_000_000_000

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


def directory() -> str | None:
    """``$XDG_CACHE_HOME/stemrenal``, else ``~/.cache/stemrenal``; None when there is no home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):
        return os.path.join(base, "stemrenal")
    home = os.path.expanduser("~")
    if not os.path.isabs(home):  # no HOME and no password entry
        return None
    return os.path.join(home, ".cache", "stemrenal")


def _owned(info: os.stat_result, kind: int) -> bool:
    """This user's own, of the kind asked for (directory, regular file), writable by no one
    else: what the cache may read or write into."""
    import stat

    return (
        stat.S_IFMT(info.st_mode) == kind
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


class Stamp(NamedTuple):
    """What changes when a file is rewritten, and when it was seen (not compared)."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    taken_ns: int

    def same(self, other: Stamp | None) -> bool:
        return other is not None and self[:5] == other[:5]


def stamp(path: str | os.PathLike[str]) -> Stamp | None:
    """The stat of a regular file, taken now; None for a pipe or device (read once) or a file
    that cannot be seen."""
    import stat
    import time

    taken = time.time_ns()
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Stamp(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, taken)


class Entry(NamedTuple):
    """Where one registry file's studies are cached, and what must match for a hit."""

    file: str  # the database
    path: str  # the registry file, resolved
    key: str  # versions and checksums of what decides validity
    seen: Stamp  # the file's stat, taken when the entry was made


def entry(path: str | os.PathLike[str]) -> Entry | None:
    """The cache entry for ``path``; None when caching is off or there is nowhere to cache.

    Only a regular file has an entry: a FIFO or a device can be read once, and that read is
    the parser's. Imports neither Pydantic nor tomli (a warm run never needs them), nor hashlib.
    """
    if not enabled():
        return None
    folder = directory()
    if folder is None:
        return None
    try:
        resolved = os.path.realpath(path)
        seen = stamp(resolved)  # stat, not open: opening a FIFO reads it
        if seen is None:
            return None
        name = os.fsencode(resolved)
        file = os.path.join(folder, f"{zlib.crc32(name):08x}{zlib.adler32(name):08x}.sqlite")
        return Entry(file, resolved, _key(), seen)
    except (OSError, ValueError):  # e.g. an undecodable name
        return None


def _trusted(where: Entry) -> bool:
    """The database and its directory are this user's own and nobody else's to write."""
    import stat

    try:
        return _owned(os.lstat(os.path.dirname(where.file)), stat.S_IFDIR) and _owned(
            os.lstat(where.file), stat.S_IFREG
        )
    except OSError:
        return False


def _connect(file: str, *, write: bool = False) -> sqlite3.Connection:
    import sqlite3

    quoted = file.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    mode = "rw" if write else "ro"
    return sqlite3.connect(f"file:{quoted}?mode={mode}", uri=True, check_same_thread=False)


_META = (
    "key, path, device, inode, size, mtime_ns, ctime_ns, taken_ns, sha256, kinds, count, alone, "
    "summary, summary_crc"
)


def load_views(
    where: Entry, wanted: Sequence[str] = ("study",), digest: str | None = None
) -> CachedFile | None:
    """The cached studies as a lazy sequence of views, or None on any miss; never imports Pydantic.

    A file that also holds records of another kind (trials, exclusions) is cached for its
    studies alone (none, for a trials file): a hit only when no other kind is `wanted`.
    `digest` is the SHA-256 of the content a caller has just read and cached (`Writer.finish`):
    the database written from it is current for that caller without hashing the file again.
    """
    import sqlite3

    from stemrenal.registry.cached import CachedFile

    if not _trusted(where):
        return None
    connection = None
    try:
        connection = _connect(where.file)
        meta = connection.execute(f"SELECT {_META} FROM meta").fetchall()
        fresh = len(meta) == 1 and (
            _current(where, meta[0]) if digest is None else _written(where, meta[0], digest)
        )
        if not fresh or not _holds(meta[0][9], wanted):
            connection.close()
            return None
        alone, summary = meta[0][11] == 1, meta[0][12:14]
        return CachedFile(connection, meta[0][10], where.file, alone=alone, summary=summary)
    except (sqlite3.Error, OSError, ValueError, TypeError, IndexError):
        if connection is not None:
            connection.close()
        return None


def _holds(stored: object, wanted: Sequence[str]) -> bool:
    """The file's other kinds of record (stored as JSON) are none of those wanted."""
    import json

    kinds = json.loads(stored) if isinstance(stored, str) else None
    if not isinstance(kinds, list):
        raise TypeError("the kinds are not a list")
    return not (set(kinds) - {"study"}) & set(wanted)


def _current(where: Entry, meta: tuple[Any, ...]) -> bool:
    """The stored key, path and content are this file's now (see the module's docstring)."""
    if meta[0] != where.key or meta[1] != where.path:
        return False
    now = where.seen
    stored = Stamp(*meta[2:8])
    if stored.same(now) and stored.mtime_ns < stored.taken_ns - _RACY_NS:
        return True
    if now.size != stored.size or _sha256(where.path) != meta[8]:
        return False
    if now.mtime_ns < now.taken_ns - _RACY_NS:  # no longer racy: trust the stat from now on
        with (
            contextlib.suppress(Exception),
            contextlib.closing(_connect(where.file, write=True)) as connection,
            connection,
        ):
            connection.execute(
                "UPDATE meta SET device=?, inode=?, size=?, mtime_ns=?, ctime_ns=?, taken_ns=?",
                tuple(now),
            )
    return True


def _written(where: Entry, meta: tuple[Any, ...], digest: str) -> bool:
    """The database holds what this process wrote for this file: its key, path and digest."""
    return bool(meta[0] == where.key and meta[1] == where.path and meta[8] == digest)


def _sha256(path: str) -> str | None:
    """The file's SHA-256, read in pieces (on a hit its content is never needed whole)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while piece := stream.read(1 << 20):
                digest.update(piece)
    except OSError:
        return None
    return digest.hexdigest()


def load(where: Entry, wanted: Sequence[str] = ("study",)) -> tuple[Study, ...] | None:
    """The cached studies validated again as `Study` models, or None on any miss."""
    from stemrenal.registry.cached import DamagedCache

    views = load_views(where, wanted)
    if views is None:
        return None
    try:
        return _validated(views)
    except (ValueError, DamagedCache):  # pydantic's ValidationError is a ValueError
        return None
    finally:
        views.close()


def blame() -> bool:
    """Whether a cached record read in this run is invalid, as a command that failed on a
    value of the wrong shape suspects; if so, every entry read is removed (the next run reads
    the registry afresh). Each record read is validated again: only a failing command pays.
    """
    cached = sys.modules.get("stemrenal.registry.cached")
    if cached is None or not cached.opened():
        return False
    try:
        for file in cached.opened():
            _validated(file)
    except (ValueError, cached.DamagedCache):
        cached.discard_opened()
        return True
    return False


def _validated(views: CachedFile) -> tuple[Study, ...]:
    """Every record of a cached file as a `Study`: ValueError (pydantic's ValidationError)
    or DamagedCache when one is not valid."""
    from stemrenal.models import Study

    computed = tuple(Study.model_computed_fields)
    studies: list[Study] = []
    for record in views.records():
        for name in computed:  # derived again by the model; strict models refuse them
            record.pop(name, None)
        studies.append(Study.model_validate(record))
    return tuple(studies)


_SCHEMA = """
CREATE TABLE meta (key TEXT, path TEXT, device INTEGER, inode INTEGER, size INTEGER,
    mtime_ns INTEGER, ctime_ns INTEGER, taken_ns INTEGER, sha256 TEXT, kinds TEXT,
    count INTEGER, alone INTEGER, summary TEXT, summary_crc INTEGER);
CREATE TABLE study (row INTEGER PRIMARY KEY, id TEXT NOT NULL, overlaps TEXT,
    facets TEXT NOT NULL, facets_crc INTEGER NOT NULL,
    record TEXT NOT NULL, record_crc INTEGER NOT NULL,
    light TEXT NOT NULL, light_crc INTEGER NOT NULL,
    year INTEGER, design TEXT, randomized INTEGER, enrolled INTEGER, follow_up_months REAL,
    cell_source TEXT, cell_type TEXT, tissue TEXT, risk_of_bias TEXT);
CREATE INDEX study_id ON study (id);
CREATE TABLE term (facet TEXT, term TEXT, row INTEGER,
    PRIMARY KEY (facet, term, row)) WITHOUT ROWID;
CREATE TABLE outcome (row INTEGER, endpoint TEXT, is_primary INTEGER, comparison TEXT);
CREATE INDEX outcome_endpoint ON outcome (endpoint);
"""


def store(
    where: Entry,
    studies: Sequence[Study],
    raw: bytes,
    seen: Stamp,
    kinds: Sequence[str] = ("study",),
) -> None:
    """Write the studies validated from `raw` (see `Writer`); any failure leaves the cache as
    it was.

    `seen` is the file's stat before `raw` was read (the reader checked it unchanged after).
    `kinds` are the kinds of record the file holds: a trials file is kept as holding no
    studies, so a query never parses it again (see `load_views`).
    """
    import sqlite3

    writer = Writer.begin(where, len(raw))
    if writer is None:
        return
    with writer, contextlib.suppress(OSError, ValueError, sqlite3.Error):
        for study in studies:
            writer.add(study)
        writer.finish(raw, seen, kinds)


class _Brief(NamedTuple):
    """What the summary and the cross-file checks read of a study written: kept for every
    study while the studies themselves go as they are written."""

    id: str
    overlaps: list[str]
    facets: Facets


class Writer:
    """One registry file's database, written a study at a time in one transaction under a
    temporary name, and renamed over the old one by `finish`; leaving the `with` block
    without it removes the temporary file. A file of studies is written as its studies are
    validated (`read._streamed`), so no more than a batch of them is held at once.
    """

    #: Rows written to SQLite at a time.
    _BATCH = 256

    def __init__(self, tmp: str, db: sqlite3.Connection, where: Entry) -> None:
        self._tmp: str | None = tmp
        self._db = db
        self._where = where
        self._rows: list[tuple[Any, ...]] = []
        self._terms: list[tuple[str, str, int]] = []
        self._outcomes: list[tuple[int, str, int, str]] = []
        self._briefs: list[_Brief] = []

    @classmethod
    def begin(cls, where: Entry, size: int) -> Writer | None:
        """A writer for the database of a file of `size` bytes, or None where the cache
        cannot be written (a directory not this user's own, a full disk...)."""
        import sqlite3
        import stat
        import tempfile

        folder = os.path.dirname(where.file)
        tmp = None
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not _owned(os.lstat(folder), stat.S_IFDIR):  # someone else's: never write into it
                return None
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".sqlite", dir=folder)
            os.close(fd)
            db = sqlite3.connect(tmp)
            try:
                db.execute(f"PRAGMA page_size = {_page_size(size)}")
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                db.executescript(_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
        except (OSError, ValueError, sqlite3.Error):
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return None
        return cls(tmp, db, where)

    def add(self, study: Study) -> None:
        import orjson

        from stemrenal.facets import TERM_FILTERS, facet_terms
        from stemrenal.registry.cached import LIGHT

        number = len(self._briefs)
        f = study.facets
        facets = orjson.dumps(list(f)).decode()
        # Byte for byte what JSON Lines output writes for the study (`output.json`).
        dump = study.model_dump(mode="json")
        record = orjson.dumps(dump).decode()
        light = orjson.dumps({name: dump[name] for name in LIGHT}).decode()
        overlaps = orjson.dumps(study.overlaps).decode() if study.overlaps else None
        self._rows.append((
            number, study.id, overlaps, facets, _crc(study.id + "\n" + facets), record, _crc(record),
            light, _crc(light), f.year, f.design, int(f.randomized), f.enrolled, f.follow_up_months,
            f.cell_source, f.cell_type, f.tissue, f.risk_of_bias,
        ))  # fmt: skip
        for t in TERM_FILTERS:
            self._terms += [(t.facet, term, number) for term in facet_terms(getattr(f, t.facet))]
        self._outcomes += [(number, e, int(p), c) for e, p, c in f.outcomes]
        self._briefs.append(_Brief(study.id, list(study.overlaps), f))
        if len(self._rows) >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany(f"INSERT INTO study VALUES ({', '.join('?' * 18)})", self._rows)
        self._db.executemany("INSERT OR IGNORE INTO term VALUES (?, ?, ?)", self._terms)
        self._db.executemany("INSERT INTO outcome VALUES (?, ?, ?, ?)", self._outcomes)
        self._rows, self._terms, self._outcomes = [], [], []

    def finish(self, raw: bytes, seen: Stamp, kinds: Sequence[str] = ("study",)) -> str:
        """Put the database in place: the file's content was `raw`, its stat `seen` before
        it was read. Returns the content's SHA-256 (see `load_views`)."""
        import hashlib
        from typing import cast

        import orjson

        from stemrenal.query import summarise

        self._flush()
        digest = hashlib.sha256(raw).hexdigest()
        stored = orjson.dumps(sorted(kinds)).decode()
        briefs = self._briefs
        ids = {brief.id for brief in briefs}
        alone = len(ids) == len(briefs) and all(o in ids for b in briefs for o in b.overlaps)
        # summarise reads a study's id, overlaps and facets only (tests/test_views.py).
        studies = cast("Sequence[Study]", briefs)
        counted = _summary_text(summarise(studies)) if alone and briefs else None
        meta = (
            *(self._where.key, self._where.path, *seen, digest, stored, len(briefs), int(alone)),
            *(counted, None if counted is None else _crc(counted)),
        )
        self._db.execute(f"INSERT INTO meta VALUES ({', '.join('?' * 14)})", meta)
        self._db.commit()
        self._db.close()
        assert self._tmp is not None
        os.replace(self._tmp, self._where.file)
        self._tmp = None
        return digest

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever happened, nothing half-written stays behind."""
        self._db.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)


def _summary_text(summary: Summary) -> str:
    """A `query.Summary` as the cache stores it: its fields by name (`cached` reads it back)."""
    import orjson

    return orjson.dumps({**summary._asdict(), "rows": [list(row) for row in summary.rows]}).decode()


#: Registry files larger than this (in bytes) get databases of 64 KiB pages (see `_page_size`).
_LARGE_FILE = 4 * 1024 * 1024


def _page_size(size: int) -> int:
    """SQLite's page size for the database of a registry file of `size` bytes: the default
    4 KiB for small files (a database is a few pages per table), 64 KiB for large ones, whose
    records (7 KB of JSON each for curated studies) would otherwise spill onto chains of
    overflow pages: a cold 10k write took 0.2-0.5 s less, warm reads the same or faster."""
    return 65536 if size > _LARGE_FILE else 4096


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


@cache
def _key() -> str:
    """What decides validity besides the file: versions, the code, the parsers installed."""
    import json

    import stemrenal

    parts = [FORMAT, stemrenal.__version__, stemrenal.SCHEMA_VERSION, _code(), _parsers()]
    return json.dumps(parts, separators=(",", ":"))


def _code() -> int:
    """CRC-32 of the code and vocabulary that decide validity: a change there is a miss.

    A checksum, not a cryptographic hash: it detects an edit or an upgrade, and costs no
    hashlib import on a warm run.
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    crc = 0
    for name in _CODE:
        with open(os.path.join(here, name), "rb") as stream:
            crc = zlib.crc32(name.encode() + b"\0" + stream.read() + b"\0", crc)
    return crc


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
