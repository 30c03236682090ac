"""The standalone quality report (``regmed quality report``): the evaluation report's quality
section on a page of its own, from a quality document (``meta`` and ``quality``)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regmed.document.quality import QualityDocument, validate_quality_document
from regmed.report.labels import labels_for
from regmed.report.output import ReportFiles, write_pdf
from regmed.report.quality_blocks import quality_blocks
from regmed.report.render import FONT_STACK, _environment

__all__ = ["QualityDocument", "validate_quality_document", "render_quality_html",
           "write_quality_report"]

_HERE = Path(__file__).parent


def render_quality_html(doc: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render a quality document as one self-contained HTML page (same blocks as section 8
    of the evaluation report)."""
    L = labels_for(lang)
    validate_quality_document(doc)
    context = {
        "L": L, "lang": lang, "meta": doc["meta"], "quality": doc["quality"],
        "quality_blocks": quality_blocks(doc["quality"], L),
        "css": (_HERE / "static" / "report.css").read_text(encoding="utf-8"),
        "font_stack": FONT_STACK,
    }
    return _environment().get_template("quality.html.j2").render(**context)


def write_quality_report(doc: Mapping[str, Any], out: str | Path, *, lang: str = "en",
                         pdf: bool = True, chromium: str | None = None) -> ReportFiles:
    """Write ``quality.html`` (and ``quality.pdf`` through headless Chromium) into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "quality.html"
    html.write_text(render_quality_html(doc, lang=lang), encoding="utf-8")
    pdf_path = write_pdf(html, folder / "quality.pdf", chromium=chromium) if pdf else None
    return ReportFiles(html=html.resolve(), pdf=pdf_path, lang=lang)
