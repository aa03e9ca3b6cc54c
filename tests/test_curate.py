"""The curator's workflow: new, import, show --format toml, fmt, validate --strict, messages
for people, and a registry's own vocabulary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli
from click.testing import CliRunner

from stemrenal import registry
from stemrenal.cli import cli
from stemrenal.models import Study

from helpers import MINIMAL

CITATIONS = Path(__file__).parent / "fixtures" / "citations"
BUNDLED = registry.open_registry()
DENG = next(s for s in BUNDLED.studies if s.id == "deng-2017-lupus-nephritis")
DATA = Path(__file__).resolve().parent.parent / "data"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


# ----------------------------------------------------------------------------- import


@pytest.mark.parametrize("suffix", ["nbib", "ris", "xml", "json", "bib"])
def test_import_reproduces_the_citation_block(suffix: str) -> None:
    result = run("import", str(CITATIONS / f"deng-2017.{suffix}"), "--design", "rct")
    assert result.exit_code == 0, result.output
    draft = tomli.loads(result.stdout)["study"][0]
    assert draft["citation"] == DENG.citation.model_dump(exclude_none=True)
    assert draft["title"] == DENG.title
    assert draft["year"] == DENG.year
    assert draft["design"]["kind"] == "rct"


def test_an_imported_draft_fails_until_filled(tmp_path: Path) -> None:
    target = tmp_path / "deng.toml"
    assert run("import", str(CITATIONS / "deng-2017.nbib"), "-o", str(target)).exit_code == 0
    result = run("--no-cache", "validate", str(target))
    assert result.exit_code == 1
    assert "not filled in yet" in result.stdout
    assert "citation" not in " ".join(
        line for line in result.stdout.splitlines() if "not filled in" in line
    )  # the citation came from the export


def test_import_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("some notes\n", encoding="utf-8")
    result = run("import", str(odd))
    assert result.exit_code == 2
    assert "cannot tell what" in result.stderr
    broken = tmp_path / "broken.xml"
    broken.write_text("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", encoding="utf-8")
    result = run("import", str(broken))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_new_and_import_never_replace_a_file(tmp_path: Path) -> None:
    target = tmp_path / "kept.toml"
    target.write_text("keep me", encoding="utf-8")
    result = run("new", "--design", "rct", "-o", str(target))
    assert result.exit_code == 2
    assert target.read_text(encoding="utf-8") == "keep me"


# ----------------------------------------------------------------------------- new


@pytest.mark.parametrize(
    "design", ["rct", "non-randomized-controlled", "single-arm", "case-series"]
)
def test_a_skeleton_names_every_unfilled_key(design: str, tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    assert run("new", "--design", design, "-o", str(target)).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert text.count("#") > 20  # commented: what each key means and where to find it
    result = run("--no-cache", "validate", str(target))
    assert result.exit_code == 1
    unfilled = [line for line in result.stdout.splitlines() if "not filled in yet" in line]
    fields = {line.split(": ")[2] for line in unfilled}
    assert {"id", "title", "population", "enrolled", "citation.authors[0]"} <= fields
    if design in ("rct", "non-randomized-controlled"):
        assert "risk_of_bias.overall" in fields


# ----------------------------------------------------------------------------- show --format toml


@pytest.mark.parametrize("study", BUNDLED.studies, ids=lambda s: s.id)
def test_every_bundled_study_round_trips_through_toml(study: Study) -> None:
    result = run("show", study.id, "--format", "toml")
    assert result.exit_code == 0, result.output
    (back,) = tomli.loads(result.stdout)["study"]
    rebuilt = Study.model_validate(back)
    original = Study.model_validate(
        {k: v for k, v in study.model_dump(mode="json").items() if k != "follow_up_months"}
    )
    assert rebuilt == original


# ----------------------------------------------------------------------------- fmt

WITH_ALIASES = (
    "# my studies: a comment that must survive\n"
    + MINIMAL.replace(
        'conditions = ["chronic-kidney-disease"]', 'conditions = ["CKD"]  # typed fast'
    )
    .replace('cell_type = "msc"', 'cell_type = "MSC"')
    .replace('endpoint = "egfr"', 'endpoint = "eGFR"')
    + "\n\n\n"
)


def test_fmt_fixes_aliases_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(WITH_ALIASES, encoding="utf-8")
    assert run("--no-cache", "validate", str(path)).exit_code == 1
    check = run("fmt", "--check", str(path))
    assert check.exit_code == 1
    assert path.read_text(encoding="utf-8") == WITH_ALIASES  # --check changes nothing
    result = run("fmt", str(path))
    assert result.exit_code == 0, result.output
    assert "'CKD' -> 'chronic-kidney-disease'" in result.stdout
    text = path.read_text(encoding="utf-8")
    assert "# my studies: a comment that must survive" in text
    assert "# typed fast" in text
    assert 'cell_type = "msc"' in text
    assert not text.endswith("\n\n")
    assert run("--no-cache", "validate", str(path)).exit_code == 0
    assert run("fmt", "--check", str(path)).exit_code == 0


def test_fmt_leaves_a_file_it_cannot_parse_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[study]\nid = 1\n", encoding="utf-8")
    result = run("fmt", str(path))
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == "[[study]\nid = 1\n"
    assert "left unchanged" in result.stderr


def test_fmt_says_which_file_is_not_utf8_and_formats_the_others(tmp_path: Path) -> None:
    """A file in another encoding was a traceback; now one FILE:LINE message, the file
    untouched, and the rest of the files still formatted."""
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[[study]]\nid = "caf\xe9"\n')
    tidy = tmp_path / "tidy.toml"
    tidy.write_text('[[study]]\nid = "x"   \n', encoding="utf-8")
    result = run("fmt", str(latin), str(tidy))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{latin}:2: not valid UTF-8 (byte 0xe9); save as UTF-8" in result.stderr
    assert latin.read_bytes() == b'[[study]]\nid = "caf\xe9"\n'
    assert tidy.read_text(encoding="utf-8") == '[[study]]\nid = "x"\n'


def test_the_bundled_registry_is_formatted_and_fmt_keeps_its_data(tmp_path: Path) -> None:
    assert run("fmt", "--check", str(DATA)).exit_code == 0
    copy = tmp_path / "studies.toml"
    copy.write_text((DATA / "studies.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert run("fmt", str(copy)).exit_code == 0
    assert copy.read_text(encoding="utf-8") == (DATA / "studies.toml").read_text(encoding="utf-8")
    assert [s.id for s in registry.load([copy])] == [
        s.id for s in registry.load([DATA / "studies.toml"])
    ]


# ----------------------------------------------------------------------------- strict


def test_the_bundled_registry_passes_strict_with_no_warnings() -> None:
    result = run("--no-cache", "validate", "--strict", str(DATA))
    assert result.exit_code == 0, result.stdout
    assert "warning" not in result.stdout
    assert "strict" in result.stdout


def nanjing_again() -> str:
    text = (DATA / "studies.toml").read_text(encoding="utf-8")
    start = text.index('id = "liang-2010-sle-pilot"')
    end = text.index("[[study]]", start)
    block = "[[study]]\n" + text[start:end]
    block = block.replace('id = "liang-2010-sle-pilot"', 'id = "liang-2011-sle-again"')
    lines = block.splitlines()
    out, skipping = [], False
    for line in lines:  # drop the overlaps array, however it is laid out
        if line.startswith("overlaps = ["):
            skipping = not line.rstrip().endswith("]")
            continue
        if skipping:
            skipping = not line.strip().startswith("]")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def test_a_duplicate_nanjing_cohort_without_overlaps_is_warned(tmp_path: Path) -> None:
    copy = tmp_path / "again.toml"
    copy.write_text(nanjing_again(), encoding="utf-8")
    result = run("--no-cache", "validate", "--strict", str(DATA / "studies.toml"), str(copy))
    assert result.exit_code == 1
    warned = [line for line in result.stdout.splitlines() if "warning" in line]
    assert any("liang-2011-sle-again" in line and "liang-2010-sle-pilot" in line for line in warned)
    assert all("drum tower" in line or "nanjing" in line for line in warned)
    plain = run("--no-cache", "validate", str(DATA / "studies.toml"), str(copy))
    assert plain.exit_code == 0  # not strict: shape only


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (('source = "curator"', 'source = "authors"'), "limitations", "curator"),
        (('sources = ["https://example.org/abstract"]', 'sources = ["http://47.251.13.51:8081/1"]'),
         "sources", "canonical record"),
        (('kind = "single-arm"', 'kind = "rct"'), "risk_of_bias", "needs [study.risk_of_bias]"),
    ],
)  # fmt: skip
def test_strict_content_rules(
    tmp_path: Path, change: tuple[str, str], field: str, message: str
) -> None:
    text = MINIMAL.replace(*change)
    if "rct" in change[1]:  # a controlled trial: a control arm, and no risk of bias given
        text = (
            text.replace("randomized = false", "randomized = true")
            .replace('comparator_classes = ["none"]', 'comparator_classes = ["placebo"]')
            .replace(
                'name = "cells"\nn = 10',
                'name = "cells"\nn = 5\nrole = "cells"\n\n'
                '[[study.arms]]\nname = "placebo"\nn = 5\nrole = "control"',
            )
        )
    path = tmp_path / "one.toml"
    path.write_text(text, encoding="utf-8")
    result = run("--no-cache", "validate", "--strict", str(path))
    assert result.exit_code == 1
    assert any(f": {field}: " in line and message in line for line in result.stdout.splitlines())


def test_validate_json_for_ci(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(MINIMAL.replace('source = "curator"', 'source = "authors"'), encoding="utf-8")
    result = run("--no-cache", "validate", "--strict", "--format", "json", str(path))
    problems = json.loads(result.stdout)
    assert result.exit_code == 1
    assert {p["field"] for p in problems} >= {"limitations", "sources"}
    assert all(p["file"] == str(path) and p["id"] == "doe-2020-ckd" for p in problems)
    assert [p["line"] for p in problems] == sorted(p["line"] for p in problems)


# ----------------------------------------------------------------------------- messages


def test_messages_say_what_to_write_in_line_order(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace('id = "doe-2020-ckd"', 'id = "Doe 2020"')
        .replace("enrolled = 10", "enrolmend = 10")
        .replace('doi = "10.1000/test.1"', 'doi = "https://doi.org/10.1000/test.1"')
        .replace("[[study.outcomes]]", "[study.outcomes]")
    )
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    lines = run("--no-cache", "validate", str(path)).stdout.splitlines()[:-1]
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers)
    joined = "\n".join(lines)
    assert "e.g. deng-2017-lupus-nephritis" in joined
    assert "did you mean 'enrolled'?" in joined
    assert "drop any https://doi.org/ or doi: prefix" in joined
    assert "[[study.outcomes]] table (double brackets)" in joined
    assert "String should match pattern" not in joined


def test_a_failed_query_points_at_the_registry_it_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace("year = 2020", 'year = "x"'), encoding="utf-8")
    result = run("--registry", str(path), "list")
    assert f"run `stemrenal --registry {path} validate`" in result.stderr


def test_follow_up_as_reported(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(
        MINIMAL.replace(
            'follow_up = "6 months"',
            'follow_up = "17.2 months"\nfollow_up_reported = "mean 17.2 ± 9.5 months"',
        ),
        encoding="utf-8",
    )
    assert run("--no-cache", "validate", str(path)).exit_code == 0
    shown = json.loads(
        run("--registry", str(path), "show", "doe-2020-ckd", "--format", "json").stdout
    )
    assert shown["follow_up_reported"] == "mean 17.2 ± 9.5 months"


# ----------------------------------------------------------------------------- local vocabulary

LOCAL = """[[disease]]
id = "iga-nephropathy"
label = "IgA nephropathy"
aliases = ["IgAN", "IgA肾病"]
"""


def test_a_registry_can_bring_its_own_terms(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "vocabulary.toml").write_text(LOCAL, encoding="utf-8")
    (folder / "studies.toml").write_text(
        MINIMAL.replace(
            'conditions = ["chronic-kidney-disease"]', 'conditions = ["iga-nephropathy"]'
        ),
        encoding="utf-8",
    )
    code = (
        "import sys; from stemrenal.cli import main; "
        f"sys.argv = ['stemrenal', '--registry', {str(folder)!r}, *sys.argv[1:]]; main()"
    )

    def stemrenal(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    assert stemrenal("validate").returncode == 0
    listed = stemrenal("list", "--disease", "IgA肾病", "--columns", "id", "--format", "tsv")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["id", "doe-2020-ckd"]


def test_a_local_term_may_not_shadow_a_bundled_one(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "vocabulary.toml").write_text(
        '[[disease]]\nid = "my-ckd"\nlabel = "Mine"\naliases = ["CKD"]\n', encoding="utf-8"
    )
    (folder / "studies.toml").write_text(MINIMAL, encoding="utf-8")
    code = (
        "import sys; from stemrenal.cli import main; "
        f"sys.argv = ['stemrenal', '--no-cache', 'validate', {str(folder)!r}]; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "'CKD' is already a disease term" in done.stdout


def test_without_the_curate_extra_a_one_line_error(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['tomlkit'] = None\n"
        "from stemrenal.cli import main; sys.argv = ['stemrenal', 'show', 'deng', '--format', 'toml']; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "pip install 'stemrenal[curate]'" in done.stderr
    assert done.stderr.strip().count("\n") == 0
