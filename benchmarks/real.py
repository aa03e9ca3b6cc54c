"""Benchmark stemrenal on real-size studies against csvgrep, sqlite3 and jq (issue 21).

The bundled registry's studies (about 7 KB of TOML each: outcomes, limitations, notes)
replicated under new ids to each size, overlaps renamed with them, so every copy is a valid
study with the shape of a curated one (bench.py's synthetic studies are 1.1 KB).

    .venv/bin/python benchmarks/real.py                        # 1k, 10k and 50k studies
    .venv/bin/python benchmarks/real.py --sizes 1000 --repeat 3  # a quick look

Each comparison is one interleaved run of the pair (ours, theirs, ours, ...) after an
untimed warm-up each, in fresh child processes (bench.py's `run`, `measure`, `child_env`);
medians and their ratios; peak memory is the child's own ru_maxrss.

- warm query: `list --disease lupus-nephritis --format csv` against `csvgrep -r` on the CSV
  export (the same rows) and against the `sqlite3` command line on an indexed table of the
  same rows (a `conditions` term table with an index, as a person would build it);
- JSON: warm `list --format json` against `jq -c .` on that JSON;
- summary: warm `summary --format json` against `sqlite3` GROUP BY over the same dimensions
  (an unfiltered summary is read as stored with the cache; a filtered one, also timed, is
  counted from the selected studies);
- cold: the query on a file changed before each run against `tomli.loads` of the same file
  as a process; peak memory against the file's size;
- startup: `list --format csv` and `--help` on the bundled registry against
  `python -c 'import click'`.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Case, changer, child_env, finish, machine, measure, mib, run

TERM = "lupus-nephritis"
_PARSE_ONLY = "import sys, tomli; tomli.loads(open(sys.argv[1], encoding='utf-8').read())"
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "studies.toml"

#: The summary's dimensions as SQL over the exported rows (`conditions` and `comparators`
#: hold several terms, so they are read from their term tables).
_SUMMARY_SQL = """
SELECT 'disease', term, count(*) FROM conditions GROUP BY term
UNION ALL SELECT 'cell-source', cell_source, count(*) FROM studies GROUP BY cell_source
UNION ALL SELECT 'cell-type', cell_type, count(*) FROM studies GROUP BY cell_type
UNION ALL SELECT 'tissue', tissue, count(*) FROM studies GROUP BY tissue
UNION ALL SELECT 'design', design, count(*) FROM studies GROUP BY design
UNION ALL SELECT 'comparator', term, count(*) FROM comparators GROUP BY term
UNION ALL SELECT 'risk-of-bias', risk_of_bias, count(*) FROM studies GROUP BY risk_of_bias
"""


def write_registry(path: Path, size: int) -> None:
    """`size` studies: the bundled ones in turn, copy k's ids (and the ids they name) with
    the suffix -ck."""
    text = BUNDLED.read_text(encoding="utf-8")
    head, *blocks = re.split(r"(?m)^(?=\[\[study\]\]\s*$)", text)
    ids_in = [re.search(r'(?m)^id = "([^"]+)"', block).group(1) for block in blocks]  # type: ignore[union-attr]
    ids = sorted(ids_in, key=len, reverse=True)
    named = re.compile('"(' + "|".join(map(re.escape, ids)) + ')"')
    kept = {f"{ids_in[i % len(blocks)]}-c{i // len(blocks)}" for i in range(size)}
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for index in range(size):
            copy, block = divmod(index, len(blocks))
            suffix = f"-c{copy}"
            renamed = named.sub(lambda m, end=suffix: f'"{m.group(1)}{end}"', blocks[block])
            out.write(_LISTED.sub(lambda m: _only(m, kept), renamed))


#: The keys that name other studies; in a last, partial copy some of those are left out.
_LISTED = re.compile(r"(?m)^(overlaps|distinct_from) = \[(.*)\]$")


def _only(match: re.Match[str], kept: set[str]) -> str:
    named = re.findall(r'"([^"]+)"', match.group(2))
    return f"{match.group(1)} = [{', '.join(f'{n!r}'.replace(chr(39), chr(34)) for n in named if n in kept)}]"


def indexed_table(exported: Path, database: Path) -> None:
    """The exported rows as a table, with term tables for the multi-valued columns, indexed."""
    with exported.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    header, body = rows[0], rows[1:]
    db = sqlite3.connect(database)
    columns = ", ".join(f'"{name}" TEXT' for name in header)
    db.execute(f"CREATE TABLE studies ({columns})")
    db.executemany(f"INSERT INTO studies VALUES ({', '.join('?' * len(header))})", body)
    for table, column in (("conditions", "conditions"), ("comparators", "comparators")):
        at = header.index(column)
        db.execute(f"CREATE TABLE {table} (id TEXT, term TEXT)")
        db.executemany(
            f"INSERT INTO {table} VALUES (?, ?)",
            [(row[0], term) for row in body for term in row[at].split(", ") if term],
        )
        db.execute(f"CREATE INDEX {table}_term ON {table} (term, id)")
    db.execute("CREATE INDEX studies_id ON studies (id)")
    db.commit()
    db.close()


def same_rows(ours: Path, theirs: Path) -> bool:
    def rows(path: Path) -> list[list[str]]:
        with path.open(encoding="utf-8", newline="") as stream:
            return sorted(csv.reader(stream))

    return rows(ours) == rows(theirs)


def say(line: str) -> None:
    """One line of the report, printed at once: a long run that fails keeps what it measured."""
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each pair")
    parser.add_argument("--cold-repeat", type=int, default=3, help="timed cold runs")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    bin_dir = Path(sys.executable).parent
    ours = [sys.executable, "-m", "stemrenal"]
    tools = {
        name: shutil.which(name, path=str(bin_dir)) or shutil.which(name)
        for name in ("csvgrep", "sqlite3", "jq")
    }
    missing = [name for name, found in tools.items() if found is None]
    if missing:
        sys.exit(f"not found: {', '.join(missing)} (csvgrep: pip install -e '.[bench]')")
    csvgrep, sqlite_cli, jq = (str(tools[n]) for n in ("csvgrep", "sqlite3", "jq"))

    workdir = Path(tempfile.mkdtemp(prefix="stemrenal-real-"))
    env = child_env(workdir)
    env["STEMRENAL_MAX_FILE_MB"] = "4096"  # 50,000 real-size studies are 350 MB in one file
    for line in (f"machine: {machine()}", f"medians of {args.repeat} interleaved runs a pair", ""):
        say(line)

    def row(name: str, size: str, runs: Case, ratio: str) -> None:
        say(f"{name:<58} {size:>7} {runs.runs.median:>8.3f} {ratio:>16} {mib(runs.runs):>8.0f}")

    say(f"{'command':<58} {'studies':>7} {'median s':>8} {'ratio':>16} {'peak MiB':>8}")
    try:
        floor = Case("click", [sys.executable, "-c", "import click"])
        startup = Case("startup", [*ours, "list", "--format", "csv"])
        helped = Case("help", [*ours, "--help"])
        measure([floor, startup, helped], env, args.repeat * 3)
        row("python -c 'import click'", "-", floor, "1.00 x click")
        for case, name in ((startup, "list --format csv (bundled)"), (helped, "--help")):
            row(name, "bundled", case, f"{case.runs.median / floor.runs.median:.2f} x click")
        for size in sizes:
            print(f"{size:,} studies", file=sys.stderr)
            registry = workdir / f"real-{size}.toml"
            write_registry(registry, size)
            megabytes = registry.stat().st_size / 2**20
            exported, as_json = workdir / f"real-{size}.csv", workdir / f"real-{size}.json"
            with exported.open("wb") as out:
                run([*ours, "--registry", str(registry), "list", "--format", "csv"], env, out)
            with as_json.open("wb") as out:
                run([*ours, "--registry", str(registry), "list", "--format", "json"], env, out)
            database = workdir / f"real-{size}.db"
            indexed_table(exported, database)
            query = ["--registry", str(registry), "list", "--disease", TERM, "--format", "csv"]
            by_term = (
                f"SELECT * FROM studies WHERE id IN "
                f"(SELECT id FROM conditions WHERE term = '{TERM}')"
            )
            warm = Case("warm", [*ours, *query])
            grep = Case(
                "csvgrep",
                [csvgrep, "-c", "conditions", "-r", f"(^|, ){TERM}($|, )", str(exported)],
            )
            sql = Case("sqlite3", [sqlite_cli, "-csv", "-header", str(database), by_term])
            measure([warm, grep, sql], env, args.repeat)
            checked = {}
            for case in (warm, grep, sql):
                target = workdir / f"{case.name}.csv"
                with target.open("wb") as out:
                    run(case.argv, env, out)
                checked[case.name] = target
            agree = same_rows(checked["warm"], checked["csvgrep"]) and same_rows(
                checked["warm"], checked["sqlite3"]
            )
            say("")
            row(f"list --disease {TERM} --format csv, warm", f"{size:,}", warm, "")
            row("  csvgrep -r on the CSV export", "", grep,
                f"{warm.runs.median / grep.runs.median:.2f} x csvgrep")  # fmt: skip
            row("  sqlite3 on an indexed table", "", sql,
                f"{warm.runs.median / sql.runs.median:.1f} x sqlite3")  # fmt: skip
            if not agree:
                say("  !! the three selected different rows")

            dump = Case("json", [*ours, "--registry", str(registry), "list", "--format", "json"])
            jq_case = Case("jq", [jq, "-c", ".", str(as_json)])
            summary = Case(
                "summary", [*ours, "--registry", str(registry), "summary", "--format", "json"]
            )
            filtered = Case(
                "filtered",
                [*ours, "--registry", str(registry), "summary", "--disease", TERM, "--format",
                 "json"],
            )  # fmt: skip
            grouped = Case("group-by", [sqlite_cli, str(database), _SUMMARY_SQL])
            measure([dump, jq_case], env, args.repeat)
            measure([summary, grouped, filtered], env, args.repeat)
            row("list --format json, warm", f"{size:,}", dump,
                f"{dump.runs.median / jq_case.runs.median:.2f} x jq -c .")  # fmt: skip
            row("  jq -c . on that JSON", "", jq_case, "")
            row("summary --format json, warm", f"{size:,}", summary,
                f"{summary.runs.median / grouped.runs.median:.2f} x GROUP BY")  # fmt: skip
            row("  sqlite3 GROUP BY, the same dimensions", "", grouped, "")
            row(f"  summary --disease {TERM} (counted, not stored)", "", filtered,
                f"{filtered.runs.median / grouped.runs.median:.2f} x GROUP BY")  # fmt: skip

            changed = workdir / f"real-{size}-cold.toml"
            shutil.copyfile(registry, changed)
            cold = Case("cold", [*ours, *query[:1], str(changed), *query[2:]], changer(changed))
            parse = Case(
                "tomli",
                [sys.executable, "-c", _PARSE_ONLY, str(changed)],
            )  # fmt: skip
            measure([cold, parse], env, args.cold_repeat)
            row("  same query, cold (file changed before each run)", "", cold,
                f"{cold.runs.median / parse.runs.median:.2f} x tomli")  # fmt: skip
            row("  tomli.loads of the same file, as a process", "", parse, "")
            say(
                f"  file {megabytes:.0f} MiB; cold peak {mib(cold.runs) / megabytes:.1f} x the "
                f"file, tomli alone {mib(parse.runs) / megabytes:.1f} x"
            )
    finally:
        finish(workdir, args.keep)


if __name__ == "__main__":
    main()
