"""Report pages as a person sees them: rendered by headless Chromium (screenshot and PDF),
the PDF turned into page images with pdftoppm, and judged from the pixels and the text."""

from __future__ import annotations

import copy
import json
import subprocess

import numpy as np
import pytest
from PIL import Image
from report_pagecheck import SAMPLE, Page

from regmed.errors import RegmedError
from regmed.report import screenshot, write_report

NAVY = (0x12, 0x32, 0x5E)  # verdict header background
RED = (0xB3, 0x26, 0x1E)  # exploratory banner
SHORTFALL_BG = (0xFD, 0xE8, 0xE6)


def share_of(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> float:
    return float((np.abs(img.astype(int) - np.array(rgb)).max(axis=2) <= tol).mean())


def rows_with(img: np.ndarray, rgb: tuple[int, int, int], min_share: float) -> np.ndarray:
    hit = (np.abs(img.astype(int) - np.array(rgb)).max(axis=2) <= 12).mean(axis=1)
    return np.flatnonzero(hit >= min_share)


def pdf_pages(pdf, out_dir, dpi=50) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out_dir / "page")],
                   check=True)
    files = sorted(out_dir.glob("page-*.png"))
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def pdf_text_pages(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.split("\f") if p.strip()]


@pytest.fixture(scope="module")
def shortfall_doc():
    with SAMPLE.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    doc["meta"]["exploratory"] = True
    doc["power"].update(planned_n_treated=60, planned_n_control=120, n_treated=49,
                        n_control=102, achieved_power=0.52, shortfall=True,
                        message="Enrolment stopped at 49 of 60 treated and 102 of 120 controls.")
    return doc


@pytest.fixture(scope="module")
def english(shortfall_doc, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-en")
    files = write_report(shortfall_doc, out, lang="en", pdf=True)
    shot = screenshot(files.html, out / "screen.png", width=1280, height=1000)
    return files, np.asarray(Image.open(shot).convert("RGB")), out


@pytest.fixture(scope="module")
def japanese(shortfall_doc, tmp_path_factory):
    doc = copy.deepcopy(shortfall_doc)
    doc["analyses"] = doc["analyses"][:1]
    out = tmp_path_factory.mktemp("report-ja")
    files = write_report(doc, out, lang="ja", pdf=True)
    shot = screenshot(files.html, out / "screen.png", width=1280, height=1000)
    return files, np.asarray(Image.open(shot).convert("RGB")), out


def test_screenshot_shows_banner_then_verdict_first(english):
    _files, img, _out = english
    assert img.shape[:2] == (1000, 1280)
    banner = rows_with(img, RED, 0.6)
    verdict = rows_with(img, NAVY, 0.6)  # the overall-verdict header row of the table
    shortfall = rows_with(img, SHORTFALL_BG, 0.3)
    assert banner.size >= 20 and banner.min() < 40  # a red band across the top...
    assert (banner[:20] < 80).all()
    assert verdict.size and verdict.min() < 300
    assert shortfall.size and verdict.min() < shortfall.min() < 900
    top = img[: int(verdict.max()) + 200].mean(axis=2)
    assert top.std() > 25  # text and table rules, not an empty page


def test_pdf_first_page_is_the_verdict(english):
    files, _img, out = english
    pages = pdf_pages(files.pdf, out)
    assert len(pages) >= 8
    first = pages[0]
    half = first[: first.shape[0] // 2]
    assert share_of(half, NAVY) > 0.01
    assert share_of(half, SHORTFALL_BG) > 0.005
    assert half.mean(axis=2).std() > 20
    text = pdf_text_pages(files.pdf)
    assert "1. Verdict against the pre-set achievement criteria" in text[0]
    assert "Sample-size shortfall" in text[0]
    assert "Achieved power 52%" in " ".join(text[0].split())
    assert "2. Evaluation plan and checklist" not in text[0]
    for page in pages:  # no blank page anywhere
        assert page.mean(axis=2).std() > 5


def test_pdf_every_page_marked_exploratory(english):
    files, _img, _out = english
    text = pdf_text_pages(files.pdf)
    assert len(text) >= 8
    banner = "EXPLORATORY — not the pre-registered confirmatory evaluation"
    assert all(banner in " ".join(t.split()) for t in text)


def test_pdf_holds_every_figure(english):
    files, _img, _out = english
    page = Page(files.html.read_text(encoding="utf-8"))
    n_figures = sum(len(v) for v in page.figure_images().values())
    assert n_figures == 15
    listing = subprocess.run(["pdfimages", "-list", str(files.pdf)], check=True,
                             capture_output=True, text=True).stdout.splitlines()[2:]
    images = [line.split() for line in listing if line.strip()]
    big = [r for r in images if r[2] == "image" and int(r[3]) >= 600 and int(r[4]) >= 300]
    assert len(big) == n_figures
    text = " ".join(" ".join(pdf_text_pages(files.pdf)).split())
    for caption in ("Love plot", "Propensity-score distributions", "Forest plot by site",
                    "Kaplan–Meier curves", "Patient flow"):
        assert caption in text


def test_japanese_pages_render_japanese(japanese):
    files, img, _out = japanese
    assert rows_with(img, NAVY, 0.6).size
    text = " ".join(pdf_text_pages(files.pdf))
    assert "総合判定" in text and "症例数の不足" in text
    pages = pdf_text_pages(files.pdf)
    assert all("探索的解析" in t for t in pages)
    fonts = subprocess.run(["pdffonts", str(files.pdf)], check=True, capture_output=True,
                           text=True).stdout
    # every font is embedded (Chromium embeds Noto Sans CJK glyphs as unnamed Type 3 fonts)
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows)


def test_missing_chromium_is_a_clear_error(tmp_path, shortfall_doc):
    with pytest.raises(RegmedError, match="Chromium"):
        write_report(shortfall_doc, tmp_path / "out", chromium="/nonexistent/chromium")
    assert not (tmp_path / "out").exists()  # checked before anything is written
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(RegmedError, match="Chromium"):
        screenshot(html, tmp_path / "s.png", chromium="/nonexistent/chromium")


def test_html_only_needs_no_chromium(tmp_path, shortfall_doc):
    doc = copy.deepcopy(shortfall_doc)
    doc["analyses"] = doc["analyses"][:1]
    files = write_report(doc, tmp_path, pdf=False, chromium="/nonexistent/chromium")
    assert files.pdf is None and files.html.exists()
