"""regmed.report — render a stored evaluation to HTML/PDF; computes no statistics.

The input is the evaluation document that ``regmed.evaluate`` stores (its schema is in
:mod:`regmed.document`). Figures are functions returning matplotlib Figures.

>>> import json, regmed.report as rr                                  # doctest: +SKIP
>>> doc = rr.validate_document(json.load(open("evaluation.json")))   # doctest: +SKIP
>>> files = rr.write_report(doc, "out", lang="ja")                   # doctest: +SKIP
"""

from regmed.document import EvaluationDocument, read_document, validate_document
from regmed.report.figures import (
    attrition_diagram,
    forest_plot,
    km_plot,
    love_plot,
    ps_distribution,
)
from regmed.report.labels import LABELS, LANGUAGES
from regmed.report.output import ReportFiles, find_chromium, screenshot, write_pdf, write_report
from regmed.report.render import figure_to_png, render_html

__all__ = [
    "render_html",
    "write_report",
    "write_pdf",
    "screenshot",
    "find_chromium",
    "ReportFiles",
    "validate_document",
    "read_document",
    "EvaluationDocument",
    "love_plot",
    "ps_distribution",
    "forest_plot",
    "km_plot",
    "attrition_diagram",
    "figure_to_png",
    "LABELS",
    "LANGUAGES",
]
