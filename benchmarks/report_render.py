"""Print how long the evaluation report takes to render from the sample document.

Run: ``PYTHONPATH=src python benchmarks/report_render.py`` (needs Chromium for the PDF).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from regmed.report import render_html, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "report" / "data" / "evaluation_sample.json"


def main() -> None:
    with SAMPLE.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    n_fig = len(doc["analyses"]) * 3 + 2
    for lang in ("en", "ja"):
        t0 = time.perf_counter()
        html = render_html(doc, lang=lang)
        dt = time.perf_counter() - t0
        print(f"render_html lang={lang}: {dt:.2f} s, {len(html) / 1e6:.2f} MB, "
              f"{len(doc['analyses'])} analyses (~{n_fig} figures before de-duplication)")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        files = write_report(doc, out, lang="en", pdf=True)
        dt = time.perf_counter() - t0
        size = files.pdf.stat().st_size / 1e6 if files.pdf else 0.0
        print(f"write_report with PDF: {dt:.2f} s, PDF {size:.2f} MB")


if __name__ == "__main__":
    main()
