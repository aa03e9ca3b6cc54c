"""The patient brief: plain words, the notice, the date and version, every study cited, no
external resources, registry text never markup; English and Chinese; rendered by a real
browser where one is installed (`.ci/run` installs Debian's chromium and requires it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import html5lib
import pytest
from click.testing import CliRunner

from stemrenal import registry
from stemrenal.cli import cli
from stemrenal.text import _cells

from helpers import MINIMAL

NS = {"h": "http://www.w3.org/1999/xhtml"}


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def parse(text: str) -> Any:
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=True)
    document = parser.parse(text)
    assert not [e for e in parser.errors if "expected-doctype" in str(e)]
    return document


def texts(element: Any) -> str:
    return "".join(element.itertext())


def selected(*filters: str) -> list[Any]:
    ids = [
        row["id"]
        for row in __import__("json").loads(run("list", *filters, "--format", "json").stdout)
    ]
    by_id = {s.id: s for s in registry.open_registry().studies}
    return [by_id[i] for i in ids]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_html_brief_is_one_self_contained_page(lang: str, tmp_path: Path) -> None:
    target = tmp_path / "lupus.html"
    run("brief", "--disease", "lupus", "--lang", lang, "-o", str(target))
    text = target.read_text(encoding="utf-8")
    doc = parse(text)
    root = doc.getroot() if hasattr(doc, "getroot") else doc
    html = root if root.tag.endswith("html") else root.find(".//h:html", NS)
    assert html.get("lang") == ("zh-Hans" if lang == "zh" else "en")
    # no external resources: no scripts, stylesheets, images, frames or fonts
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert root.findall(f".//h:{tag}", NS) == []
    assert "url(" not in text
    assert "@import" not in text
    assert all(
        a.get("href", "").startswith(("https://doi.org/", "https://pubmed.ncbi.nlm.nih.gov/"))
        for a in root.findall(".//h:a", NS)
    )
    style = texts(root.find(".//h:style", NS))
    assert "@media print" in style
    assert "@page" in style
    # the notice, the version and the date
    notice = root.find(".//h:p[@id='notice']", NS)
    assert notice is not None
    expected = "not medical advice" if lang == "en" else "不构成医疗建议"
    assert expected in texts(notice)
    about = texts(root.find(".//h:p[@id='about']", NS))
    coverage = registry.open_registry().coverage
    assert coverage is not None
    assert coverage.version in about
    assert coverage.last_search in about
    from stemrenal import __version__

    assert __version__ in about
    # every study cited, once, in the order selected
    references = root.findall(".//h:section[@class='references']//h:li", NS)
    studies = selected("--disease", "lupus")
    assert len(references) == len(studies)
    for item, study in zip(references, studies, strict=True):
        assert study.title in texts(item)
    if lang == "zh":
        assert "按原样保留英文" in texts(root)
        headings = [texts(h) for h in root.findall(".//h:h2", NS)]
        assert "研究了什么" in headings
        assert "What was studied" not in headings


def test_the_brief_says_what_the_controlled_trial_found_in_words() -> None:
    out = run("brief", "--disease", "lupus").stdout
    assert all(_cells(line) <= 78 for line in out.splitlines())
    out = re.sub(r"\s+", " ", out)
    assert "Deng D et al., Annals of the Rheumatic Diseases 2017" in out
    assert "no better than the comparison" in out
    assert "randomized controlled trial" in out
    assert "Randomized controlled trial: A study in which chance decides" in out
    assert " rct " not in out.lower()  # jargon explained or avoided
    assert " msc " not in out.lower()
    assert "not medical advice" in out


def test_a_chinese_brief_keeps_registry_text_as_recorded() -> None:
    out = run("brief", "--disease", "lupus", "--lang", "zh").stdout
    assert all(_cells(line) <= 78 for line in out.splitlines())
    joined = re.sub(r"\n\s*", "", out)  # Chinese lines break between any two characters
    assert "狼疮性肾炎的细胞治疗" in joined
    assert "并不比对照更好" in joined  # Deng 2017: no better than placebo
    assert "Annals of the Rheumatic Diseases" in re.sub(r"\s+", " ", out)  # as recorded


def test_the_markdown_brief_carries_the_notice_and_the_date() -> None:
    out = run("brief", "--disease", "kidney-transplantation", "--format", "markdown").stdout
    assert out.startswith("# Cell therapy for kidney transplantation")
    assert out.count("not medical advice") == 2
    coverage = registry.open_registry().coverage
    assert coverage is not None
    assert coverage.last_search in out
    studies = selected("--disease", "kidney-transplantation")
    assert out.count("https://doi.org/") + out.count("pubmed") >= len(studies)


def test_filters_choose_the_studies_of_the_brief(tmp_path: Path) -> None:
    target = tmp_path / "rct.html"
    run("brief", "--design", "rct", "-o", str(target))
    root = parse(target.read_text(encoding="utf-8"))
    references = root.findall(".//h:section[@class='references']//h:li", NS)
    assert len(references) == len(selected("--design", "rct"))


def test_registry_text_is_never_markup(tmp_path: Path) -> None:
    hostile = MINIMAL.replace(
        'title = "A small study"', "title = \"<script>alert('x')</script> & <b>bold</b>\""
    )
    source = tmp_path / "hostile.toml"
    source.write_text(hostile, encoding="utf-8")
    target = tmp_path / "brief.html"
    run("--registry", str(source), "brief", "-o", str(target))
    text = target.read_text(encoding="utf-8")
    root = parse(text)
    assert root.findall(".//h:script", NS) == []
    assert root.findall(".//h:b", NS) == []
    assert "<script>alert('x')</script>" in texts(root)
    assert "&lt;script&gt;" in text
    markdown = run("--registry", str(source), "brief", "--format", "markdown").stdout
    assert "<script>" not in markdown


# ----------------------------------------------------------------------------- a real browser

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("STEMRENAL_REQUIRE_BROWSER") == "1"


def chromium(*args: str) -> None:
    assert BROWSER is not None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip


@pytest.mark.skipif(BROWSER is None and not REQUIRED, reason="no chromium (CI installs it)")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_real_browser_renders_and_prints_the_brief(lang: str, tmp_path: Path) -> None:
    assert BROWSER is not None, "STEMRENAL_REQUIRE_BROWSER=1 but chromium is not installed"
    page = tmp_path / "brief.html"
    run("brief", "--disease", "lupus", "--lang", lang, "-o", str(page))
    pdf, png = tmp_path / "brief.pdf", tmp_path / "brief.png"
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    chromium("--window-size=900,1300", f"--screenshot={png}", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a page of text, not a blank screen
