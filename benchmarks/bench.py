"""Benchmark stemrenal against the floor set by its dependencies and against csvkit's csvgrep.

Run from the checkout with the bench extra installed (``pip install -e '.[dev,bench]'``):

    .venv/bin/python benchmarks/bench.py                       # 3, 1k, 10k and 100k studies
    .venv/bin/python benchmarks/bench.py --sizes 3,1000 --repeat 3 --pair-repeat 5 \
        --startup-repeat 5                                         # a quick look

Every command runs in a fresh child process; wall time is the median over its runs,
interleaved with the command it is compared with so that a busy machine slows both alike:
--startup-repeat runs of the floor and startup pair, --pair-repeat of the warm query and
csvgrep, --repeat of the slow cold and --no-cache runs. The fastest run is shown too. Ratios
are of medians. Peak memory is the child's own ru_maxrss (from os.wait4), the largest over the
runs. Children write bytecode to a private pycache and use a private XDG_CACHE_HOME, so they
start like an installed program and never touch the user's cache.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

FLOOR = """\
import click, tomli
from pydantic import BaseModel


class A(BaseModel):
    x: int
"""

#: What the scale runs filter on; about one synthetic study in nine has it.
TERM = "lupus-nephritis"


# ----------------------------------------------------------------------------- registries


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def study_toml(index: int, rng: random.Random, terms: dict[str, list[str]]) -> str:
    """One valid synthetic study, in the shape of the bundled ones but shorter."""
    conditions = rng.sample(terms["disease"], rng.choice((1, 1, 2)))
    kind = rng.choice(terms["design"])
    sizes = [rng.randint(5, 80) for _ in range(rng.randint(1, 2))]
    months = rng.choice((3, 6, 12, 18, 24, 36))
    controlled = kind in {"rct", "non-randomized-controlled"}  # no draw: same files as before
    lines = [
        "[[study]]",
        f'id = "synthetic-{index:06d}"',
        f"title = {_q(f'Synthetic study {index} of cell therapy in {conditions[0]}')}",
        f"year = {rng.randint(2000, 2025)}",
        'countries = ["Nowhere"]',
        "registrations = []",
        f"conditions = {json.dumps(conditions)}",
        f"population = {_q(f'Adults with {conditions[0]}, synthetic cohort {index % 97}')}",
        f"enrolled = {sum(sizes)}",
        f'follow_up = "{months} months"',
        'sources = ["https://example.org/synthetic"]',
        "",
        "[study.citation]",
        f'authors = ["Author{index % 311} A", "Coauthor{index % 17} B"]',
        'journal = "Journal of Synthetic Nephrology"',
        f'doi = "10.1000/synthetic.{index}"',
        "",
        "[study.design]",
        f'kind = "{kind}"',
        f"randomized = {'true' if kind == 'rct' else 'false'}",
        f'comparator_classes = ["{"usual-care" if controlled else "none"}"]',
        "",
    ]
    for number, n in enumerate(sizes, 1):
        lines += ["[[study.arms]]", f'name = "arm {number}"', f"n = {n}", ""]
    lines += [
        "[study.intervention]",
        f'cell_type = "{rng.choice(terms["cell-type"])}"',
        f'cell_source = "{rng.choice(terms["cell-source"])}"',
        f'tissue = "{rng.choice(terms["tissue"])}"',
        "",
    ]
    for _ in range(rng.randint(1, 3)):
        lines += [
            "[[study.outcomes]]",
            f'endpoint = "{rng.choice(terms["endpoint"])}"',
            'measure = "Synthetic measure"',
            f'timepoint = "{months} months"',
            'result = "Synthetic result, no real data"',
            'direction = "no-difference"',
            f'comparison = "{"between-groups" if controlled else "within-group"}"',
            "",
        ]
    lines += [
        "[[study.limitations]]",
        'text = "Synthetic study generated for benchmarking."',
        'source = "curator"',
        "",
    ]
    return "\n".join(lines) + "\n"


def write_registry(path: Path, size: int) -> None:
    """A registry of `size` valid studies; the same seed gives the same file."""
    from stemrenal import vocabulary

    terms = {kind: [t.id for t in vocabulary.terms(kind)] for kind in vocabulary.kinds()}
    rng = random.Random(size)
    with path.open("w", encoding="utf-8") as out:
        out.write("# Synthetic registry for benchmarks/bench.py: no real data.\n\n")
        for index in range(size):
            out.write(study_toml(index, rng, terms))


# ----------------------------------------------------------------------------- running


@dataclass
class Runs:
    """Wall times (s) and peak memory (KiB) of one command's runs."""

    wall: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def run(argv: Sequence[str], env: dict[str, str], stdout: IO[bytes] | None = None) -> Runs:
    """One run in a fresh child; wall time and that child's own peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err.decode(errors='replace')}")
    return Runs([wall], [usage.ru_maxrss])


@dataclass
class Case:
    """A command to time; `before` runs untimed before each run (e.g. to change a file)."""

    name: str
    argv: list[str]
    before: Callable[[int], None] | None = None
    runs: Runs = field(default_factory=Runs)


def measure(cases: Sequence[Case], env: dict[str, str], repeat: int) -> None:
    """Run every case `repeat` times, interleaved, after one untimed warm-up run each."""
    for case in cases:
        if case.before:
            case.before(-1)
        run(case.argv, env)
    for number in range(repeat):
        for case in cases:
            if case.before:
                case.before(number)
            result = run(case.argv, env)
            case.runs.wall += result.wall
            case.runs.rss += result.rss


def child_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMRENAL_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env["XDG_CACHE_HOME"] = str(workdir / "xdg-cache")
    return env


def changer(path: Path) -> Callable[[int], None]:
    """Make the registry "changed" before a cold run: a new comment line, so a new hash."""

    def change(number: int) -> None:
        with path.open("a", encoding="utf-8") as out:
            out.write(f"# changed for cold run {number} at {time.time_ns()}\n")

    return change


def same_rows(ours: Path, theirs: Path) -> bool:
    """stemrenal's and csvgrep's output hold the same rows (line endings aside)."""

    def rows(path: Path) -> list[list[str]]:
        with path.open(encoding="utf-8", newline="") as stream:
            return list(csv.reader(stream))

    return rows(ours) == rows(theirs)


# ----------------------------------------------------------------------------- the table


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def mib(runs: Runs) -> float:
    return max(runs.rss) / 1024


def report(
    floor: Case, startup: Case, scale: dict[int, dict[str, Case]], rows_agree: dict[int, bool]
) -> str:
    """One table of medians, ratios and peak memory, then the issue's targets, met or not."""
    first = next(iter(scale.values()), {})
    pair, slow = (len(first[key].runs.wall) if first else 0 for key in ("warm", "cold"))
    header = f"{'command':<52} {'studies':>8} {'median s':>9} {'min s':>6} {'ratio':>13}"
    runs = (
        f"medians of interleaved runs: startup {len(floor.runs.wall)}, warm and csvgrep {pair},"
        f" cold and --no-cache {slow}"
    )
    lines = [
        f"machine: {machine()}",
        f"{runs}; peak memory: largest over the runs",
        "",
        f"{header} {'peak MiB':>9}",
        "-" * 102,
    ]

    def row(name: str, size: str, runs: Runs, ratio: str) -> None:
        lines.append(
            f"{name:<52} {size:>8} {runs.median:>9.3f} {min(runs.wall):>6.3f} {ratio:>13} "
            f"{mib(runs):>9.0f}"
        )

    row("floor: click, tomli and one pydantic model", "-", floor.runs, "1.00 x floor")
    startup_ratio = startup.runs.median / floor.runs.median
    row(
        "list --format csv (bundled registry)",
        "bundled",
        startup.runs,
        f"{startup_ratio:.2f} x floor",
    )
    labels = {
        "warm": "list --disease TERM --format csv, warm cache",
        "cold": "  same, cold: first run on a changed file",
        "nocache": "  same, --no-cache",
        "csvgrep": "csvgrep -c conditions -m TERM (same rows, CSV)",
    }
    for size, cases in scale.items():
        grep = cases["csvgrep"].runs.median
        lines.append("")
        for key, label in labels.items():
            runs = cases[key].runs
            row(label, f"{size:,}", runs, f"{runs.median / grep:.2f} x csvgrep")
        if not rows_agree[size]:
            lines.append("  !! stemrenal and csvgrep selected different rows")
    lines += ["", f"TERM = {TERM}", "", "targets:"]
    lines.append(f"  1. startup <= 1.25 x floor: {startup_ratio:.2f} {_met(startup_ratio <= 1.25)}")
    if 10_000 in scale:
        ten = scale[10_000]
        ratio = ten["warm"].runs.median / ten["csvgrep"].runs.median
        lines.append(f"  2. warm 10k <= 1.0 x csvgrep: {ratio:.2f} {_met(ratio <= 1.0)}")
    if 10_000 in scale and 100_000 in scale:
        growth = scale[100_000]["warm"].runs.median / scale[10_000]["warm"].runs.median
        peak = mib(scale[100_000]["warm"].runs)
        lines.append(
            f"     warm 10k -> 100k at most x10 (linear): x{growth:.2f} {_met(growth <= 10)}"
        )
        lines.append(f"     peak memory, warm, 100k < 1024 MiB: {peak:.0f} MiB {_met(peak < 1024)}")
    if 10_000 in scale:
        cold = scale[10_000]["cold"].runs.median
        lines.append(f"  3. cold 10k < 2.5 s: {cold:.2f} s {_met(cold < 2.5)}")
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ----------------------------------------------------------------------------- main


def finish(workdir: Path, keep: bool) -> None:
    """Remove the working directory (registries, exports, the cache), or say where it is."""
    if keep:
        print(f"kept {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="3,1000,10000,100000", help="comma-separated study counts"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="timed runs of the cold and --no-cache runs (default 5)",
    )
    parser.add_argument(
        "--pair-repeat",
        type=int,
        default=21,
        help="timed runs of the warm query and csvgrep, the pair target 2 compares (default 21)",
    )
    parser.add_argument(
        "--startup-repeat",
        type=int,
        default=21,
        help="timed runs of floor and startup (default 21)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    bin_dir = Path(sys.executable).parent
    stemrenal = [sys.executable, "-m", "stemrenal"]
    csvgrep = shutil.which("csvgrep", path=str(bin_dir)) or shutil.which("csvgrep")
    if csvgrep is None:
        sys.exit("csvgrep not found: pip install -e '.[bench]'")

    workdir = Path(tempfile.mkdtemp(prefix="stemrenal-bench-"))
    env = child_env(workdir)
    try:
        print(f"working in {workdir}", file=sys.stderr)
        floor = Case("floor", [sys.executable, "-c", FLOOR])
        startup = Case("startup", [*stemrenal, "list", "--format", "csv"])
        print("startup: floor and bundled registry", file=sys.stderr)
        measure([floor, startup], env, args.startup_repeat)

        scale: dict[int, dict[str, Case]] = {}
        agree: dict[int, bool] = {}
        for size in sizes:
            print(f"{size:,} studies: generating", file=sys.stderr)
            registry = workdir / f"registry-{size}.toml"
            write_registry(registry, size)
            exported = workdir / f"registry-{size}.csv"
            with exported.open("wb") as out:
                run([*stemrenal, "--registry", str(registry), "list", "--format", "csv"], env, out)
            query = ["list", "--disease", TERM, "--format", "csv"]
            cold_copy = workdir / f"registry-{size}-cold.toml"
            shutil.copyfile(registry, cold_copy)
            cases = {
                "warm": Case("warm", [*stemrenal, "--registry", str(registry), *query]),
                "cold": Case(
                    "cold", [*stemrenal, "--registry", str(cold_copy), *query], changer(cold_copy)
                ),
                "nocache": Case(
                    "nocache", [*stemrenal, "--no-cache", "--registry", str(registry), *query]
                ),
                "csvgrep": Case(
                    "csvgrep", [csvgrep, "-c", "conditions", "-m", TERM, str(exported)]
                ),
            }
            print(f"{size:,} studies: timing", file=sys.stderr)
            # The pair the warm target compares takes a fraction of a second a run: many runs,
            # interleaved, so that a busy moment of a shared machine does not decide the ratio.
            measure([cases["warm"], cases["csvgrep"]], env, args.pair_repeat)
            measure([cases["cold"], cases["nocache"]], env, args.repeat)
            ours, theirs = workdir / "ours.csv", workdir / "theirs.csv"
            with ours.open("wb") as out:
                run(cases["warm"].argv, env, out)
            with theirs.open("wb") as out:
                run(cases["csvgrep"].argv, env, out)
            agree[size] = same_rows(ours, theirs)
            scale[size] = cases
        print(report(floor, startup, scale, agree))
    finally:
        finish(workdir, args.keep)


if __name__ == "__main__":
    main()
